import CellHubSQL
import Synchronization

/// The generations of `credentialsGeneration` and `membershipGeneration`, bumped after the
/// commit of each change to who may do what. In process only: a change committed by another
/// node or process does not move them yet (cross-node propagation rides on LISTEN later).
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
