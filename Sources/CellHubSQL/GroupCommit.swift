import Dispatch
import Synchronization

/// A connection a `GroupCommit` writes on: a write transaction, in which a group runs each
/// write in its own savepoint (`writeTransaction(each:)`, shared by both engines).
package protocol GroupCommitConnection: SQLDatabase {
    /// Runs `body` in one write transaction; anything it throws rolls it back.
    func writeTransaction(_ body: () throws -> Void) throws
}

extension GroupCommitConnection {
    /// Runs `bodies` in one write transaction, each in its own savepoint, and commits once
    /// (one lock, one flush for all). A body that throws is rolled back to its savepoint alone
    /// (PostgreSQL refuses every statement after an error until then) and its error returned
    /// in its slot; an error that spoils the whole transaction (the commit's, a broken
    /// connection, one after which SQLite rolled everything back) is thrown, and then nothing
    /// was committed.
    func writeTransaction(each bodies: [() throws -> Void]) throws -> [(any Error)?] {
        var errors: [(any Error)?] = []
        errors.reserveCapacity(bodies.count)
        try writeTransaction {
            for body in bodies {
                try run("SAVEPOINT grouped_write")
                do {
                    try body()
                    try run("RELEASE grouped_write")
                    errors.append(nil)
                } catch {
                    try run("ROLLBACK TO grouped_write")
                    try run("RELEASE grouped_write")
                    errors.append(error)
                }
            }
        }
        return errors
    }
}

/// Group commit: writes that arrive while another is committing share the next transaction
/// and its one fsync, instead of queueing for an fsync each. One waiting writer (the leader)
/// runs the whole group on the writer connection — each write in its own savepoint, so one
/// that fails is rolled back alone — commits once, and wakes the others; then it hands the
/// lead to the first write that arrived meanwhile. A write returns only after the commit that
/// holds it, so an acknowledgment means exactly what it meant with a transaction per write.
/// A write that finds nobody committing runs alone in a plain transaction, as before.
package final class GroupCommit<Connection: GroupCommitConnection>: Sendable {
    /// One write waiting for its group's commit. Its fields are written by the leader before
    /// it signals `done` (the semaphore orders them for the waiter) or under `queue`'s lock.
    private final class Pending: @unchecked Sendable {
        /// The caller's closure; dropped by the leader once it ran (before `done`), because
        /// the caller lends it only until it returns.
        var body: ((Connection) throws -> Void)?
        var error: (any Error)?
        var leads = false
        let done = DispatchSemaphore(value: 0)

        init(_ body: @escaping (Connection) throws -> Void) { self.body = body }
    }

    private struct Queue {
        var waiting: [Pending] = []
        var committing = false
    }

    /// Lends the connection the leader writes on (exclusively) for one call.
    private let withWriter: @Sendable (_ body: (Connection) -> Void) throws -> Void
    private let queue = Mutex(Queue())
    private let transactionCount = Atomic<Int>(0)
    /// Writes in one transaction at most (bounds the time a group holds the writer).
    private let maxGroup: Int
    /// Runs once after every committed group.
    private let committed: @Sendable () -> Void

    package init(
        maxGroup: Int = 256, withWriter: @escaping @Sendable (_ body: (Connection) -> Void) throws -> Void,
        committed: @escaping @Sendable () -> Void
    ) {
        self.withWriter = withWriter
        self.maxGroup = maxGroup
        self.committed = committed
    }

    /// Transactions run so far (committed or not): fewer than the writes when groups formed.
    package var transactions: Int { transactionCount.load(ordering: .relaxed) }

    /// Runs `body` on the writer connection inside a write transaction (alone or with
    /// others) and returns after that transaction committed; rethrows what `body` threw, or
    /// the error that kept the transaction from committing.
    package func write(_ body: (Connection) throws -> Void) throws {
        try withoutActuallyEscaping(body) { body in
            let pending = Pending(body)
            let leads = queue.withLock { queue -> Bool in
                queue.waiting.append(pending)
                guard !queue.committing else { return false }
                queue.committing = true
                return true
            }
            if !leads {
                pending.done.wait()
                guard queue.withLock({ _ in pending.leads }) else {
                    if let error = pending.error { throw error }
                    return
                }
            }
            // Leading: this write is first in line, so the group taken next holds it.
            let group = queue.withLock { queue -> [Pending] in
                let group = Array(queue.waiting.prefix(maxGroup))
                queue.waiting.removeFirst(group.count)
                return group
            }
            // The writer is held by the leader only; `commit` records every error.
            do {
                try withWriter { db in Self.commit(group, on: db) }
            } catch {
                for member in group { member.error = error }  // no connection to write on
            }
            transactionCount.wrappingAdd(1, ordering: .relaxed)
            for member in group { member.body = nil }
            committed()
            let next = queue.withLock { queue -> Pending? in
                guard let next = queue.waiting.first else {
                    queue.committing = false
                    return nil
                }
                next.leads = true
                return next
            }
            for other in group where other !== pending { other.done.signal() }
            next?.done.signal()
            if let error = pending.error { throw error }
        }
    }

    private static func commit(_ group: [Pending], on db: Connection) {
        if group.count == 1, let body = group[0].body {
            do {
                try db.writeTransaction { try body(db) }
            } catch {
                group[0].error = error
            }
            return
        }
        do {
            let errors = try db.writeTransaction(each: group.map { member in { try member.body?(db) } })
            for (pending, error) in zip(group, errors) { pending.error = error }
        } catch {
            for pending in group { pending.error = error }
        }
    }
}
