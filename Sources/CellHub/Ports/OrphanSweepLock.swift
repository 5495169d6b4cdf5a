/// One orphan sweep at a time over a blob directory that several processes share: the nodes
/// of a cluster share nothing but the store and the directory, so the store says who sweeps.
///
/// A sweep walks the whole directory and asks the store about every file. A cluster restarted
/// at once would have every node do that at the same time, for the same files; with the lock
/// one node sweeps and the others skip (the next start sweeps again). The lock is no
/// substitute for the grace period (`DomainOptions.blobOrphanGraceSeconds`): uploads on other
/// nodes write files before they commit whoever sweeps.
package protocol OrphanSweepLock: Sendable {
    /// Runs `body` while this process holds the store's orphan-sweep lock and returns what it
    /// returned; returns nil without running it when another process holds the lock. The
    /// lock is released when `body` returns (or the process dies).
    /// - Throws: when the store cannot be asked (nothing ran).
    func withOrphanSweepLock<T>(_ body: () -> T) throws(StoreError) -> T?
}
