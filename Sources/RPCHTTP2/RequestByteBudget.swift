import Synchronization

/// The request bytes all connections of a server hold in unfinished messages, against one
/// server-wide budget: however many connections a peer opens, buffered requests cannot grow
/// past `hardLimit`.
///
/// Past `softLimit` connections withhold flow-control credit (their peers' windows run dry)
/// and wait here for relief; bytes that would pass `hardLimit` end their call
/// RESOURCE_EXHAUSTED. Thread-safe: every loop's connections share one budget.
final class RequestByteBudget: Sendable {
    let hardLimit: Int
    let softLimit: Int
    private let held = Atomic<Int>(0)
    /// Connections that withheld credit because of this budget, woken once it has room.
    private let waiting = Mutex<[ObjectIdentifier: LoopBound<ServerConnection>]>([:])
    private let hasWaiters = Atomic<Bool>(false)

    init(hardLimit: Int) {
        self.hardLimit = hardLimit
        softLimit = hardLimit / 4 * 3
    }

    /// Bytes held now, all connections together.
    var heldBytes: Int { held.load(ordering: .relaxed) }

    var overSoftLimit: Bool { held.load(ordering: .relaxed) > softLimit }

    /// Takes `count` bytes from the budget; false (and nothing taken) past the hard limit.
    func reserve(_ count: Int) -> Bool {
        let after = held.wrappingAdd(count, ordering: .relaxed).newValue
        guard after <= hardLimit else {
            held.wrappingSubtract(count, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Gives `count` bytes back; below the soft limit again, waiting connections are woken.
    func release(_ count: Int) {
        guard count > 0 else { return }
        let after = held.wrappingSubtract(count, ordering: .relaxed).newValue
        if after <= softLimit && hasWaiters.load(ordering: .acquiring) { wakeWaiters() }
    }

    /// `connection` withheld credit because of this budget: call its
    /// `returnWithheldCredit()` (on its loop) once the budget is under the soft limit.
    func waitForRelief(_ connection: LoopBound<ServerConnection>) {
        waiting.withLock { $0[ObjectIdentifier(connection.value)] = connection }
        hasWaiters.store(true, ordering: .releasing)
        // A release between the caller's check and the registration would wake nobody.
        if !overSoftLimit { wakeWaiters() }
    }

    private func wakeWaiters() {
        let connections = waiting.withLock { waiting -> [LoopBound<ServerConnection>] in
            hasWaiters.store(false, ordering: .releasing)
            defer { waiting.removeAll() }
            return Array(waiting.values)
        }
        for connection in connections { connection.onLoop { $0.returnWithheldCredit() } }
    }
}
