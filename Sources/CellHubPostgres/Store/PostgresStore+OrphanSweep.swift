package import CellHub
import CellHubSQL

#if canImport(Glibc)
import Glibc
#endif

/// The orphan-sweep lock of every node on one database: a session advisory lock.
extension PostgresStore: OrphanSweepLock {
    /// An arbitrary constant naming the orphan-sweep lock among advisory locks (the
    /// migrations' is `PostgresMigrations.advisoryLockKey`).
    static let orphanSweepLockKey: Int64 = 0x4365_6C6C_4875_6253  // "CellHubS"

    /// Takes the lock with `pg_try_advisory_lock` (a node that finds it held skips, it does
    /// not wait) on a connection of its own, not one of the pool's: `body` asks the pool about
    /// every file while the lock is held, and a pool of one connection would wait for itself.
    /// Closing that connection ends its session, which releases the lock — after `body`, or
    /// when the process dies in the middle.
    package func withOrphanSweepLock<T>(_ body: () -> T) throws(StoreError) -> T? {
        let connection: PGConnection
        let acquired: Bool
        do {
            connection = try PGConnection(url: url)
            try connection.execute("SET application_name = 'cellhub orphan sweep (pid \(getpid()))'")
            acquired = try connection.queryOne("SELECT pg_try_advisory_lock(?)::int", Self.orphanSweepLockKey) { $0.bool(0) } ?? false
        } catch {
            throw StoreError.wrapping(error)
        }
        guard acquired else { return nil }
        return withExtendedLifetime(connection) { body() }
    }
}
