@testable import CellHubSQL
@testable import CellHubStore
import CellHub
import Dispatch
import Synchronization
import Testing
import TestSupport

@Suite("Store: group commit")
struct GroupCommitTests {
    /// Durable commits (an fsync each) from many threads at once: writes share transactions,
    /// every acknowledged write is there, a failing write fails alone, and the event log's
    /// revisions stay gap-free in commit order.
    @Test("concurrent writes share commits; a failing one fails alone")
    func concurrentWrites() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var options = Store.Options()
        options.durable = true
        let store = try Store(path: directory.file("cellhub.sqlite"), options: options)
        let threads = 8, perThread = 60
        let failures = Mutex<[String]>([])
        let duplicates = Atomic<Int>(0)
        onThreads(threads) { thread in
            for index in 0..<perThread {
                // Every 10th write of each thread repeats a name: it must fail, alone.
                let name = index % 10 == 9 ? "u\(thread)-\(index - 1)" : "u\(thread)-\(index)"
                do {
                    _ = try store.createUser(name: name, isWorker: false, tokenHash: Self.hash(thread, index), payload: { _ in [1] })
                } catch {
                    if case StoreError.userNameTaken = error {
                        duplicates.wrappingAdd(1, ordering: .relaxed)
                    } else {
                        failures.withLock { $0.append("\(name): \(error)") }
                    }
                }
            }
        }
        #expect(failures.withLock { Array($0.prefix(3)) } == [])
        let writes = threads * perThread
        #expect(duplicates.load(ordering: .relaxed) == threads * perThread / 10)
        let users = try store.users()
        #expect(users.count == writes - duplicates.load(ordering: .relaxed))
        #expect(Set(users.map(\.name)).count == users.count)
        // Revisions: one per successful write, 1...n with no gap (rolled-back savepoints
        // leave none), in the order the log was committed.
        let raw = try SQLiteConnection(path: directory.file("cellhub.sqlite"), mode: .readOnly)
        let revisions = try raw.query("SELECT revision FROM event_log ORDER BY revision", row: { $0.int64(0) })
        let first = try #require(revisions.first)
        #expect(revisions == Array(first..<(first + Int64(revisions.count))))
        #expect(revisions.count >= users.count)
        let transactions = store.writeTransactions
        #expect(transactions < writes, "8 writers on fsynced commits: some must have shared a transaction (\(transactions) for \(writes))")
        #expect(try store.checkConsistency() == [])
    }

    @Test("a write alone runs in its own transaction, and its error rolls it back")
    func aloneAndFailing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store(path: directory.file("cellhub.sqlite"))
        let before = store.writeTransactions
        _ = try store.createUser(name: "olga", isWorker: false, tokenHash: Self.hash(0, 1), payload: { _ in [] })
        #expect(throws: StoreError.userNameTaken("olga")) {
            _ = try store.createUser(name: "olga", isWorker: false, tokenHash: Self.hash(0, 2), payload: { _ in [] })
        }
        #expect(store.writeTransactions == before + 2)
        #expect(try store.users().map(\.name) == ["olga"])
    }

    /// A distinct 32-byte token hash per (thread, index).
    private static func hash(_ thread: Int, _ index: Int) -> [UInt8] {
        [UInt8(thread), UInt8(index)] + Array(repeating: 7, count: 30)
    }
}
