import Synchronization

/// The generations of `credentialsGeneration` and `membershipGeneration`, bumped after the
/// commit of each change to who may do what. In process only: a change committed by another
/// node or process does not move them yet (cross-node propagation rides on LISTEN later).
final class AccessGenerations: Sendable {
    enum Counter {
        case credentials
        case memberships
    }

    private let credentials = Atomic<UInt64>(0)
    private let memberships = Atomic<UInt64>(0)

    func current(_ counter: Counter) -> UInt64 {
        switch counter {
        case .credentials: credentials.load(ordering: .acquiring)
        case .memberships: memberships.load(ordering: .acquiring)
        }
    }

    func bump(_ counter: Counter) {
        switch counter {
        case .credentials: credentials.wrappingAdd(1, ordering: .releasing)
        case .memberships: memberships.wrappingAdd(1, ordering: .releasing)
        }
    }
}
