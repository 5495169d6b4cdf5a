import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A few dedicated threads for blocking work (SQLite transactions, fsync), so that no
/// event loop ever waits on a disk. Handlers `await pool.run { … }` and resume on their
/// loop afterwards (their task keeps the loop as executor preference).
public final class BlockingPool: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var head = 0
        var stopped = false
    }

    private let state = Mutex(State())
    /// Counts queued jobs (and, at shutdown, one wake-up per thread).
    private let available = DispatchSemaphore(value: 0)
    private let threadCount: Int
    private let exited = DispatchSemaphore(value: 0)

    public init(threadCount: Int = 4) {
        self.threadCount = max(1, threadCount)
        for _ in 0..<self.threadCount {
            let box = Unmanaged.passRetained(self)
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { argument in
                let pool = Unmanaged<BlockingPool>.fromOpaque(argument!).takeRetainedValue()
                pool.work()
                return nil
            }, box.toOpaque())
            precondition(status == 0, "pthread_create failed: \(status)")
            pthread_detach(thread)
        }
    }

    /// Runs `body` on a pool thread and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.jobs.append { continuation.resume(with: Result { try body() }) }
                return true
            }
            if accepted {
                available.signal()
            } else {
                continuation.resume(throwing: PoolStopped())
            }
        }
    }

    public struct PoolStopped: Error, CustomStringConvertible {
        public var description: String { "the blocking pool is shut down" }
    }

    /// Finishes queued jobs, then stops the threads and waits for them.
    public func shutdown() {
        let alreadyStopped = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return state.stopped
        }
        guard !alreadyStopped else { return }
        for _ in 0..<threadCount { available.signal() }
        for _ in 0..<threadCount { exited.wait() }
    }

    private func work() {
        while true {
            available.wait()
            let job = state.withLock { state -> (@Sendable () -> Void)? in
                guard state.head < state.jobs.count else { return nil }
                let job = state.jobs[state.head]
                state.head += 1
                if state.head == state.jobs.count {
                    state.jobs.removeAll(keepingCapacity: true)
                    state.head = 0
                }
                return job
            }
            if let job {
                job()
            } else if state.withLock({ $0.stopped }) {
                exited.signal()
                return
            }
        }
    }
}
