import CLinuxShim
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of event loops, one thread each (by default one per core).
public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    private let nextIndex = Atomic<Int>(0)
    private let threads: Mutex<[pthread_t]>

    /// The CPUs this process may actually use: its affinity mask (taskset, a container's
    /// cpuset), capped by its cgroup's CPU quota — not the machine's count, which would
    /// start loops that only take turns on the same cores.
    public static var coreCount: Int { usableCores.count }

    /// The CPU quota a cgroup membership file (/proc/PID/cgroup's format) gives with the
    /// cgroup file systems at `root`, whole CPUs rounded up; 0 for none (tests).
    package static func cgroupCPULimit(membership: String, root: String) -> Int {
        Int(cellhub_cgroup_cpu_limit_at(membership, root))
    }

    /// `coreCount` with where it came from, for the log at start (read once per process).
    public static let usableCores: (count: Int, reason: String) = {
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let allowed = Int(cellhub_allowed_cpu_count())
        let quota = Int(cellhub_cgroup_cpu_limit())
        var count = allowed > 0 ? min(allowed, online) : online
        var reason = allowed > 0 && allowed < online ? "affinity mask allows \(allowed) of \(online) CPUs" : "\(online) CPUs online"
        if quota > 0 && quota < count {
            count = quota
            reason += ", cgroup CPU quota \(quota)"
        }
        return (max(1, count), reason)
    }()

    /// Creates the loops and starts a thread running each.
    public init(loopCount: Int = EventLoopGroup.coreCount, busyPollNanoseconds: UInt64 = 0) throws(SystemCallError) {
        var loops: [EventLoop] = []
        for index in 0..<max(1, loopCount) { loops.append(try EventLoop(index: index, busyPollNanoseconds: busyPollNanoseconds)) }
        self.loops = loops
        var threads: [pthread_t] = []
        for loop in loops {
            let box = Unmanaged.passRetained(loop)
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { argument in
                let loop = Unmanaged<EventLoop>.fromOpaque(argument!).takeRetainedValue()
                loop.run()
                return nil
            }, box.toOpaque())
            precondition(status == 0, "pthread_create failed: \(status)")
            threads.append(thread)
        }
        self.threads = Mutex(threads)
        // Wait until every loop knows its thread, so `inEventLoop` is exact from now on.
        for loop in loops {
            while !loop.isRunning { sched_yield() }
        }
    }

    /// Round-robin choice of a loop (for new client connections).
    public func next() -> EventLoop {
        loops[nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// Stops every loop and joins its thread. Must not be called from a loop thread.
    public func shutdown() {
        precondition(!loops.contains { $0.inEventLoop }, "EventLoopGroup.shutdown() called on one of its loops")
        loops.forEach { $0.stop() }
        let threads = self.threads.withLock { threads -> [pthread_t] in
            defer { threads.removeAll() }
            return threads
        }
        for thread in threads { pthread_join(thread, nil) }
    }
}
