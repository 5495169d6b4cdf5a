import CellHub
import Dispatch
import Synchronization

/// A connection that one thread at a time may use: every use goes through `withConnection`,
/// which holds a lock for the duration.
///
/// `@unchecked Sendable` is sound because the connection is private and only reached inside
/// the lock, so no two threads ever touch it (or its statement cache) at once — which is the
/// contract of `SQLITE_OPEN_NOMUTEX`. Swift's region checker cannot see that through a
/// `Mutex<SQLiteConnection>` whose closures must use it with non-Sendable helpers, hence this
/// small type instead.
final class LockedConnection: @unchecked Sendable {
    private let lock = Mutex(())
    /// Owned; reached only inside `lock`.
    private let connection: SQLiteConnection

    init(_ connection: SQLiteConnection) {
        self.connection = connection
    }

    /// Runs `body` with exclusive use of the connection. `body` must not let the connection
    /// escape, nor call `withConnection` on the same instance (the lock is not re-entrant).
    func withConnection<T: Sendable>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try lock.withLock { _ in try body(connection) }
    }
}

/// Read-only connections lent out one read at a time: concurrent reads (stats, lists,
/// authentication) each get their own connection and queue only when all are in use.
final class ReaderPool: Sendable {
    private let connections: [LockedConnection]
    /// Indices of the connections not lent out.
    private let free: Mutex<[Int]>
    /// Counts the free connections: a read waits here only when there is none.
    private let available: DispatchSemaphore

    init(_ connections: [SQLiteConnection]) {
        precondition(!connections.isEmpty, "a reader pool without connections: a bug in CellHub")
        self.connections = connections.map(LockedConnection.init)
        free = Mutex(Array(connections.indices))
        available = DispatchSemaphore(value: connections.count)
    }

    func withReader<T: Sendable>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        available.wait()
        let index = free.withLock { $0.removeLast() }
        defer {
            free.withLock { $0.append(index) }
            available.signal()
        }
        return try connections[index].withConnection(body)
    }
}
