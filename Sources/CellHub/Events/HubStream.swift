import Synchronization

/// What the hub and a stream's handler share: the stream's identity, and the one-time
/// resumption of the handler when the stream ends (by the hub, or because the client went
/// away). Thread-safe.
package final class StreamHandle: Sendable {
    package let id: UInt64
    private let state = Mutex<(continuation: CheckedContinuation<StreamEnd?, Never>?, ended: Bool, result: StreamEnd?)>((nil, false, nil))

    init(id: UInt64) { self.id = id }

    /// Waits for the end (nil: the client cancelled).
    func wait() async -> StreamEnd? {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> (Bool, StreamEnd?) in
                if state.ended { return (true, state.result) }
                state.continuation = continuation
                return (false, nil)
            }
            if resumeNow.0 { continuation.resume(returning: resumeNow.1) }
        }
    }

    /// Ends the stream once; later calls do nothing. Returns whether this call ended it.
    @discardableResult
    func finish(_ end: StreamEnd?) -> Bool {
        let continuation = state.withLock { state -> CheckedContinuation<StreamEnd?, Never>?? in
            guard !state.ended else { return .none }
            state.ended = true
            state.result = end
            defer { state.continuation = nil }
            return .some(state.continuation)
        }
        guard case .some(let waiting) = continuation else { return false }
        waiting?.resume(returning: end)
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
        self.budget = budget
        self.lowWater = lowWater
    }
}
