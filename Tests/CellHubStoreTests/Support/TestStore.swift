import CellHub
@testable import CellHubStore

/// A store on a real SQLite file in a temporary directory, with a fake clock and sequential
/// ids, plus its own read-only connection for brute-force checks against the raw tables.
final class TestStore {
    let directory: TemporaryDirectory
    let clock: FakeClock
    let store: Store
    /// An independent connection: recounts through it do not share code with the store.
    let raw: SQLiteConnection

    init(clock: FakeClock = FakeClock(), ids: SequentialIDs = SequentialIDs()) throws {
        directory = try TemporaryDirectory()
        self.clock = clock
        var options = Store.Options()
        options.clock = { clock.now }
        options.makeID = { ids.make() }
        store = try Store(path: directory.file("cellhub.sqlite"), options: options)
        raw = try SQLiteConnection(path: directory.file("cellhub.sqlite"), mode: .readOnly)
    }

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
