internal import Dispatch
internal import Synchronization

/// Resources lent out one call at a time: concurrent calls each get their own and queue only
/// when all are in use (SQLite's read connections, PostgreSQL's connections).
///
/// `@unchecked Sendable` is sound because a resource is reached only between `wait` and
/// `signal` by the one caller that took its index from `free`, so no two threads ever use one
/// at once (the contract both libraries' connections need).
package final class LendingPool<Resource>: @unchecked Sendable {
    /// Owned; each reached only by the caller holding its index.
    private let resources: [Resource]
    /// Indices of the resources not lent out.
    private let free: Mutex<[Int]>
    /// Counts the free resources: a call waits here only when there is none.
    private let available: DispatchSemaphore

    package init(_ resources: [Resource]) {
        precondition(!resources.isEmpty, "a pool without resources: a bug in CellHub")
        self.resources = resources
        free = Mutex(Array(resources.indices))
        available = DispatchSemaphore(value: resources.count)
    }

    /// Runs `body` with exclusive use of one resource; `body` must not let it escape.
    package func withResource<T>(_ body: (Resource) throws -> T) rethrows -> T {
        available.wait()
        let index = free.withLock { $0.removeLast() }
        defer {
            free.withLock { $0.append(index) }
            available.signal()
        }
        return try body(resources[index])
    }
}
