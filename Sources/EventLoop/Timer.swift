/// A one-shot timer on an event loop. Cancel it on the loop thread.
public final class LoopTimer {
    let deadline: UInt64
    var action: (() -> Void)?

    init(deadline: UInt64, action: @escaping () -> Void) {
        self.deadline = deadline
        self.action = action
    }

    /// The action will not run (if it has not yet).
    public func cancel() { action = nil }
}

/// A binary min-heap of timers by deadline; cancelled timers are dropped when they surface,
/// and swept out whenever the heap doubles, so timers cancelled long before their deadline
/// (every closed connection's idle and keepalive timers) cannot pile up.
struct TimerHeap {
    private var heap: [LoopTimer] = []
    /// Size at which the next sweep of cancelled timers runs (amortised O(1) per insert).
    private var sweepAt = 1_024

    var count: Int { heap.count }

    mutating func insert(_ timer: LoopTimer) {
        if heap.count >= sweepAt { sweepCancelled() }
        heap.append(timer)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// epoll_wait's timeout: -1 without timers, else milliseconds until the earliest one
    /// (rounded up, so the loop does not wake a hair early and spin).
    mutating func timeoutMilliseconds(now: UInt64) -> Int32 {
        while let first = heap.first, first.action == nil { removeFirst() }
        guard let first = heap.first else { return -1 }
        if first.deadline <= now { return 0 }
        return Int32(min((first.deadline - now + 999_999) / 1_000_000, UInt64(Int32.max)))
    }

    /// The action of the earliest timer due at `now`, taken out of the heap (cancelled timers
    /// on the way are dropped); nil when none is due. The loop runs it after this access to
    /// the heap has ended: an action that schedules a timer (a heartbeat re-arming itself)
    /// inserts into the heap, which inside a mutating method of the heap is an overlapping
    /// access — fatal in builds that check exclusivity.
    mutating func popDue(now: UInt64) -> (() -> Void)? {
        while let first = heap.first, first.deadline <= now {
            removeFirst()
            if let action = first.action {
                first.action = nil
                return action
            }
        }
        return nil
    }

    private mutating func sweepCancelled() {
        heap.removeAll { $0.action == nil }
        // Any array sorted by deadline is a valid min-heap; sorting is simpler than heapify.
        heap.sort { $0.deadline < $1.deadline }
        sweepAt = max(1_024, heap.count * 2)
    }

    private mutating func removeFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
