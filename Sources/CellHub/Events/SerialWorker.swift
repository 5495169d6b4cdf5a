import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One thread that runs closures in order and timers: the EventHub's own thread. It may
/// block (it reads the store), so it is never an event loop.
package final class SerialWorker: Sendable {
    private struct State {
        var queue: [@Sendable () -> Void] = []
        /// (deadline ns, sequence, work) — a small list; the hub keeps few timers.
        var timers: [(deadline: UInt64, id: UInt64, work: @Sendable () -> Void)] = []
        var nextTimerID: UInt64 = 1
        var stopping = false
        /// Bumped by every execute and schedule: the run loop sleeps only if nothing changed
        /// since it looked.
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Signalled when work arrives; owned here, destroyed in deinit.
    private nonisolated(unsafe) let condition: UnsafeMutablePointer<pthread_cond_t>
    private nonisolated(unsafe) let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let threadID = Atomic<UInt>(0)
    private let finished = Atomic<Bool>(false)
    let name: String

    package init(name: String) {
        self.name = name
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { argument in
            let worker = Unmanaged<SerialWorker>.fromOpaque(argument!).takeRetainedValue()
            worker.run()
            return nil
        }, box.toOpaque())
        precondition(status == 0, "pthread_create failed: \(status)")
        pthread_detach(thread)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Whether the caller runs on this worker's thread.
    package var isCurrent: Bool {
        threadID.load(ordering: .relaxed) == UInt(bitPattern: Int(bitPattern: pthread_self()))
    }

    package func execute(_ work: @escaping @Sendable () -> Void) {
        state.withLock {
            $0.queue.append(work)
            $0.generation &+= 1
        }
        signal()
    }

    /// Runs `work` after `nanoseconds`; returns an id for `cancelTimer`.
    @discardableResult
    package func schedule(afterNanoseconds nanoseconds: UInt64, _ work: @escaping @Sendable () -> Void) -> UInt64 {
        let deadline = monotonicNow() &+ nanoseconds
        let id = state.withLock { state -> UInt64 in
            let id = state.nextTimerID
            state.nextTimerID += 1
            state.timers.append((deadline, id, work))
            state.generation &+= 1
            return id
        }
        signal()
        return id
    }

    package func cancelTimer(_ id: UInt64) {
        state.withLock { $0.timers.removeAll { $0.id == id } }
    }

    /// Runs what is queued, then ends the thread.
    package func stop() {
        state.withLock { $0.stopping = true }
        signal()
    }

    /// Waits until `work` ran on the worker (not from the worker itself).
    package func sync<T: Sendable>(_ work: @escaping @Sendable () -> T) -> T {
        precondition(!isCurrent, "SerialWorker.sync called on its own thread")
        let result = Mutex<T?>(nil)
        let done = Semaphore()
        execute {
            result.withLock { $0 = work() }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }

    private func signal() {
        pthread_mutex_lock(mutex)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    private func run() {
        threadID.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .releasing)
        while true {
            let now = monotonicNow()
            let (batch, due, stop, next, seen) = state.withLock {
                state -> ([@Sendable () -> Void], [@Sendable () -> Void], Bool, UInt64?, UInt64) in
                let batch = state.queue
                state.queue.removeAll(keepingCapacity: true)
                var due: [@Sendable () -> Void] = []
                state.timers.removeAll { timer in
                    guard timer.deadline <= now else { return false }
                    due.append(timer.work)
                    return true
                }
                return (batch, due, state.stopping, state.timers.map(\.deadline).min(), state.generation)
            }
            for work in batch { work() }
            for work in due { work() }
            if !batch.isEmpty || !due.isEmpty { continue }
            if stop { break }
            pthread_mutex_lock(mutex)
            // Work queued after our look is signalled under this mutex: check again here.
            let idle = state.withLock { $0.generation == seen && !$0.stopping }
            if idle {
                if let next {
                    var deadline = timespec(tv_sec: Int(next / 1_000_000_000), tv_nsec: Int(next % 1_000_000_000))
                    _ = pthread_cond_timedwait(condition, mutex, &deadline)
                } else {
                    pthread_cond_wait(condition, mutex)
                }
            }
            pthread_mutex_unlock(mutex)
        }
        finished.store(true, ordering: .releasing)
    }
}

/// Monotonic time in nanoseconds (CLOCK_MONOTONIC).
package func monotonicNow() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// A counting semaphore for threads outside Swift concurrency.
final class Semaphore: @unchecked Sendable {
    private var semaphore = sem_t()

    init(value: UInt32 = 0) { sem_init(&semaphore, 0, value) }

    deinit { sem_destroy(&semaphore) }

    func signal() { sem_post(&semaphore) }

    func wait() {
        while sem_wait(&semaphore) != 0 && errno == EINTR {}
    }
}
