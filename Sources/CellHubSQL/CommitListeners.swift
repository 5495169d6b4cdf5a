internal import Synchronization

/// Who hears of each commit of a store (`CommitSignal`): what both stores call after a commit
/// (and PostgreSQL also when another node's commit is noticed).
package final class CommitListeners: Sendable {
    private let listeners = Mutex<[@Sendable () -> Void]>([])

    package init() {}

    package func add(_ wake: @escaping @Sendable () -> Void) { listeners.withLock { $0.append(wake) } }

    package func wakeAll() {
        for wake in listeners.withLock({ $0 }) { wake() }
    }
}
