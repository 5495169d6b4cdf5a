import CellHubSQL
import Synchronization

/// The generations of `credentialsGeneration` and `membershipGeneration` in this process,
/// bumped after the commit of each change to who may do what through this store, and when
/// `ChangeListener` finds that the shared row (`access_generations`) moved: another node's
/// (or process's) change.
final class AccessGenerations: Sendable {
    private let credentials = Atomic<UInt64>(0)
    private let memberships = Atomic<UInt64>(0)

    func current(_ counter: AccessGeneration) -> UInt64 {
        switch counter {
        case .credentials: credentials.load(ordering: .acquiring)
        case .memberships: memberships.load(ordering: .acquiring)
        }
    }

    func bump(_ counter: AccessGeneration) {
        switch counter {
        case .credentials: credentials.wrappingAdd(1, ordering: .releasing)
        case .memberships: memberships.wrappingAdd(1, ordering: .releasing)
        }
    }
}
