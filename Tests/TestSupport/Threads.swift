import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(0..<count)` on `count` threads of their own, started together, and waits for
/// all of them. Unlike `DispatchQueue.concurrentPerform`, which may run the iterations one
/// after another when the machine's threads are busy (as under a parallel test run), these
/// really overlap: what tests of concurrency need.
public func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Start: Sendable {
        let waiting: Mutex<Int>
        init(_ count: Int) { waiting = Mutex(count) }
        /// Returns once every thread has arrived.
        func arrive() {
            waiting.withLock { $0 -= 1 }
            while waiting.withLock({ $0 }) > 0 { sched_yield() }
        }
    }
    final class Job {
        let index: Int
        let start: Start
        let body: @Sendable (Int) -> Void
        init(index: Int, start: Start, body: @escaping @Sendable (Int) -> Void) {
            self.index = index
            self.start = start
            self.body = body
        }
    }
    let start = Start(count)
    var threads: [pthread_t] = []
    for index in 0..<count {
        let job = Unmanaged.passRetained(Job(index: index, start: start, body: body))
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { argument in
            let job = Unmanaged<Job>.fromOpaque(argument!).takeRetainedValue()
            job.start.arrive()
            job.body(job.index)
            return nil
        }, job.toOpaque())
        precondition(status == 0, "pthread_create failed: \(status)")
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}
