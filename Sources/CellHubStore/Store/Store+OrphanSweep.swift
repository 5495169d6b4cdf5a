package import CellHub

/// The orphan-sweep lock of a SQLite store: nothing to arbitrate.
extension Store: OrphanSweepLock {
    /// Always runs `body`: one process serves a SQLite store (`serve.lock` in its data
    /// directory), so no other process sweeps its blob directory.
    package func withOrphanSweepLock<T>(_ body: () -> T) throws(StoreError) -> T? { body() }
}
