import CellHub
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
