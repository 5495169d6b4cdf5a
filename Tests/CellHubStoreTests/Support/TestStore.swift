import CellHub
@testable import CellHubSQL
@testable import CellHubStore
import StoreTestSupport

/// A store of `kind` — a real SQLite file in a temporary directory, or a fresh database on
/// the test process's PostgreSQL server — with a fake clock and sequential ids, plus its own
/// connection for brute-force checks against the raw tables.
final class TestStore {
    let kind: StoreKind
    let directory: TemporaryDirectory
    let clock: FakeClock
    let store: any CellHubStorage
    /// An independent connection: recounts through it do not share code with the store.
    let raw: RawSQL

    init(_ kind: StoreKind = .sqlite, clock: FakeClock = FakeClock(), ids: SequentialIDs = SequentialIDs()) throws {
        self.kind = kind
        directory = try TemporaryDirectory()
        self.clock = clock
        let opened = try kind.open(directory: directory.path, clock: { clock.now }, makeID: { ids.make() })
        store = opened.store
        raw = try RawSQL(kind: kind, location: opened.location)
    }

    /// The SQLite store of a SQLite-only test (its group commit, its write closure).
    var sqlite: Store { store as! Store }

    deinit { directory.remove() }

    /// Creates a user with a distinct token hash.
    @discardableResult
    func user(_ name: String, worker: Bool = false) throws -> UserRecord {
        try store.createUser(name: name, isWorker: worker, tokenHash: tokenHash(name), payload: { _ in [] }).user
    }

    func tokenHash(_ name: String) -> [UInt8] {
        var bytes = Array(name.utf8.prefix(32))
        bytes += Array(repeating: 0, count: 32 - bytes.count)
        return bytes
    }

    /// A 64-hex-character content hash derived from a small integer (a content pool).
    static func sha(_ n: Int) -> String {
        let digits = String(n, radix: 16)
        return String(repeating: "0", count: 64 - digits.count) + digits
    }

    func images(_ count: Int, sizes: Int64 = 100, sha: (Int) -> Int = { $0 }) -> [NewImage] {
        (0..<count).map { NewImage(name: "img-\($0).png", contentType: "image/png", sizeBytes: sizes, sha256Hex: Self.sha(sha($0))) }
    }
}

/// An event payload for tests: the kind's name, so a test can see what was stored.
func tag<T>(_ name: String) -> (T) -> [UInt8] { { _ in Array(name.utf8) } }
