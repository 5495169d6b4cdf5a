import Synchronization

/// What the hub and whoever opened a stream share: the stream's identity, and the one-time
/// report of its end (by the hub, or because the client went away). Thread-safe.
package final class StreamHandle: Sendable {
    package let id: UInt64
    private let state = Mutex<(onEnd: (@Sendable (StreamEnd?) -> Void)?, ended: Bool, result: StreamEnd?)>((nil, false, nil))

    init(id: UInt64) { self.id = id }

    /// Calls `body` once with the end (nil: the client went away), at once if it is over
    /// already. Set it once.
    func whenEnded(_ body: @escaping @Sendable (StreamEnd?) -> Void) {
        let endedAlready = state.withLock { state -> (Bool, StreamEnd?) in
            if state.ended { return (true, state.result) }
            state.onEnd = body
            return (false, nil)
        }
        if endedAlready.0 { body(endedAlready.1) }
    }

    /// Waits for the end (nil: the client went away).
    func wait() async -> StreamEnd? {
        await withCheckedContinuation { continuation in whenEnded { continuation.resume(returning: $0) } }
    }

    /// Ends the stream once; later calls do nothing. Returns whether this call ended it.
    @discardableResult
    func finish(_ end: StreamEnd?) -> Bool {
        let onEnd = state.withLock { state -> (@Sendable (StreamEnd?) -> Void)?? in
            guard !state.ended else { return .none }
            state.ended = true
            state.result = end
            defer { state.onEnd = nil }
            return .some(state.onEnd)
        }
        guard case .some(let waiting) = onEnd else { return false }
        waiting?(end)
        return true
    }

    var isFinished: Bool { state.withLock { $0.ended } }
}

/// Per-stream limits and timing shared by the three kinds of stream.
package struct StreamTiming: Sendable, Hashable {
    /// Minimum time between two coalesced updates; 0 = every change.
    package var updateIntervalNanoseconds: UInt64
    /// PROGRESS after this long without another event.
    package var heartbeatNanoseconds: UInt64

    package init(updateIntervalNanoseconds: UInt64, heartbeatNanoseconds: UInt64) {
        self.updateIntervalNanoseconds = updateIntervalNanoseconds
        self.heartbeatNanoseconds = heartbeatNanoseconds
    }
}

/// Bytes a stream may hold unsent: past `budget` a discrete event ends the stream
/// RESOURCE_EXHAUSTED (resumable); coalesced state waits while more than `lowWater` is
/// unsent, and is replaced by newer state meanwhile.
package struct StreamBudget: Sendable, Hashable {
    package var budget: Int
    package var lowWater: Int

    package init(budget: Int = 256 << 10, lowWater: Int = 64 << 10) {
        // Streams in step rely on it: under the low-water mark a discrete event always fits.
        precondition(lowWater <= budget, "the low-water mark must not exceed the budget")
        self.budget = budget
        self.lowWater = lowWater
    }
}
