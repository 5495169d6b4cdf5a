import Foundation
import Synchronization
@testable import CellHub
import CellHub
import CellHubSQL
import CellHubStore
import StoreTestSupport

/// A clock the test moves by hand.
final class FakeClock: Sendable {
    private let ms: Mutex<Int64>

    init(_ start: Int64 = 1_750_000_000_000) { ms = Mutex(start) }

    var now: Int64 { ms.withLock { $0 } }

    func set(_ value: Int64) { ms.withLock { $0 = value } }

    func advance(by delta: Int64) { ms.withLock { $0 += delta } }
}

/// Ids in the API's format (lowercase UUID text) that count up, so failures read the same
/// on every run: 00000000-0000-4000-8000-000000000001, ...
final class SequentialUUIDs: Sendable {
    private let next = Mutex(0)

    func make() -> String {
        let n = next.withLock { value in
            value += 1
            return value
        }
        let hex = String(n, radix: 16)
        return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - hex.count) + hex
    }
}

/// The whole domain on a store of `kind` (a real SQLite file, or a fresh PostgreSQL database)
/// and a real blob directory in a fresh temporary directory, with a fake clock and sequential
/// ids; removed when released.
final class TestDomain {
    let path: String
    let clock: FakeClock
    let store: any CellHubStorage
    /// The SQLite file or the PostgreSQL database's URI.
    let location: String
    let domain: Domain

    /// The SQLite store of a SQLite-only test (another process opens its file).
    var sqlite: Store { store as! Store }

    init(_ kind: StoreKind = .sqlite, clock: FakeClock = FakeClock(), configure: (inout DomainOptions) -> Void = { _ in }) throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cellhub-domain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
        self.clock = clock
        let ids = SequentialUUIDs()
        (store, location) = try kind.open(directory: path, clock: { clock.now }, makeID: { ids.make() })
        var options = DomainOptions()
        options.clock = { clock.now }
        configure(&options)
        domain = try Domain(store: store, dataDirectory: path, options: options)
    }

    deinit {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            print("could not remove \(path): \(error)")
        }
    }

    /// A new user and their token.
    func user(_ name: String, worker: Bool = false) throws -> (caller: Caller, token: String) {
        let token = APIToken.generate()
        let user = try store.createUser(name: name, isWorker: worker, tokenHash: APIToken.hash(token), payload: { _ in [] }).user
        return (Caller(userID: user.id, name: user.name, isWorker: worker), token)
    }

    /// Files under the blob directory (hash names; temporaries included).
    func blobFiles() throws -> [String] {
        let root = "\(path)/blobs"
        var files: [String] = []
        for shard in try FileManager.default.contentsOfDirectory(atPath: root) {
            for name in try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(shard)") { files.append(shard + name) }
        }
        return files.sorted()
    }

    /// A worker claims every queued job and completes (or fails) each, as the worker
    /// service will, feeding the stats cache the same way.
    func work(complete: (Int) -> Bool = { _ in true }, processingMs: Int64 = 1_000) throws {
        let claimed = try store.claimJobs(workerName: "w", models: ["builtin-otsu"], limit: 10_000, leaseDurationMs: 60_000, payload: { _ in [] })
        for counters in claimed.counters { domain.stats.record(counters) }
        for (index, assignment) in claimed.assignments.enumerated() {
            let leaseID = assignment.job.leaseID!
            if complete(index) {
                let done = try store.completeJob(
                    jobID: assignment.job.id, leaseID: leaseID,
                    output: SegmentationOutput(cellCount: 1, result: [1], processingMs: processingMs), payload: { _ in [] })
                domain.stats.record(done.counters)
            } else {
                let failed = try store.failJob(jobID: assignment.job.id, leaseID: leaseID, reason: "bad", retryable: false, payload: { _ in [] })
                domain.stats.record(failed.counters)
            }
        }
    }
}

/// Image bytes with real magic numbers.
enum Sample {
    static let pngMagic: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    static let jpegMagic: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0]
    static let tiffMagic: [UInt8] = [0x49, 0x49, 0x2A, 0x00]
    static let pgmMagic: [UInt8] = Array("P5\n".utf8)

    static func png(_ seed: Int, size: Int = 64) -> [UInt8] {
        pngMagic + (0..<max(0, size - 8)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ seed &* 131) }
    }

    static func upload(_ name: String = "cell.png", seed: Int = 0, size: Int = 64) -> ImageUpload {
        ImageUpload(name: name, contentType: "image/png", content: png(seed, size: size))
    }
}

/// The error code a throwing call failed with; nil when it succeeded.
func code<T>(_ body: () throws -> T) -> DomainErrorCode? {
    do {
        _ = try body()
        return nil
    } catch let error as any DomainError {
        return error.code
    } catch {
        return .internal
    }
}

/// The domain error a call failed with, for message checks.
func domainError<T>(_ body: () throws -> T) -> (any DomainError)? {
    do {
        _ = try body()
        return nil
    } catch let error as any DomainError {
        return error
    } catch {
        return nil
    }
}
