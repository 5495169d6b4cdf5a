internal import CLinuxShim
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Something registered with an event loop's epoll set. Called only on that loop's thread.
public protocol Selectable: AnyObject {
    /// The file descriptor is readable (or hung up / in error: `read` will tell).
    func readable()
    /// The file descriptor is writable again after a write came back short.
    func writable()
}

/// Something that produces output lazily and wants to write it once per loop iteration,
/// after every input of the iteration has been handled (so responses leave in batches).
public protocol Flushable: AnyObject {
    func flush()
}

/// One thread, one epoll set: runs I/O callbacks, timers, closures and Swift tasks.
///
/// Everything registered with a loop is confined to its thread. Other threads reach it
/// with `execute` (a closure queue plus an eventfd wake-up). The loop is also a
/// `TaskExecutor`: a task started with it as executor preference runs its nonisolated code
/// on the loop thread, so a handler and the connection serving it never need a lock.
public final class EventLoop: @unchecked Sendable {
    // Thread-safe state.
    private let epollFD: Int32
    /// eventfd that wakes `epoll_wait` when another thread queued work; owned by the loop.
    private let wakeFD: Int32
    private let incoming = Mutex<[Work]>([])
    /// True while a wake-up is written to `wakeFD` and not yet read: one write per batch.
    private let wakePending = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    private let threadID = Atomic<UInt>(0)
    public let index: Int

    /// Scratch space every connection of this loop reads into (loop-confined, lives with the loop).
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
    /// Scratch space a layer over this loop's streams decodes into during one callback (TLS
    /// decrypts into it); never held across callbacks.
    package let layerBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    // Loop-confined state.
    private var localWork: [Work] = []
    private var timers = TimerHeap()
    private var registrations: [UInt64: any Selectable] = [:]
    private var nextToken: UInt64 = 1
    private var flushQueue: [any Flushable] = []
    private var afterIteration: [() -> Void] = []
    private var lastIOAt: UInt64 = 0
    /// No spinning before this instant: the last spin was preempted (see `run`).
    private var spinPausedUntil: UInt64 = 0
    private let spinPauses = Atomic<Int>(0)
    /// How long a preempted spin keeps the loop from spinning.
    static let spinPauseNanoseconds: UInt64 = 1_000_000_000
    /// How long the loop keeps polling after its last I/O before it sleeps in epoll_wait
    /// (0: never poll). Trades CPU on a busy loop for lower latency.
    public let busyPollNanoseconds: UInt64

    private static let wakeToken: UInt64 = 0

    enum Work: Sendable {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    /// Times a spin was preempted and spinning paused (tests, diagnostics).
    public var spinsPaused: Int { spinPauses.load(ordering: .relaxed) }

    public init(index: Int = 0, busyPollNanoseconds: UInt64 = 0) throws(SystemCallError) {
        self.index = index
        self.busyPollNanoseconds = busyPollNanoseconds
        epollFD = try systemCall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        wakeFD = try systemCall("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
        _ = try systemCall("epoll_ctl(wake)") {
            cellhub_epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, EPOLLIN.rawValue, Self.wakeToken)
        }
    }

    deinit {
        readBuffer.deallocate()
        layerBuffer.deallocate()
        close(wakeFD)
        close(epollFD)
    }

    /// Whether the caller runs on this loop's thread.
    public var inEventLoop: Bool {
        threadID.load(ordering: .relaxed) == UInt(bitPattern: Int(bitPattern: pthread_self()))
    }

    /// Whether `run()` has started (its thread is known).
    var isRunning: Bool { threadID.load(ordering: .acquiring) != 0 }

    public func preconditionInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        precondition(inEventLoop, "must run on event loop \(index)", file: file, line: line)
    }

    /// Runs `work` on the loop thread: inline-queued when already there, else woken up for.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        submit(.closure(work))
    }

    /// Runs `work` at the end of the current iteration (loop thread only).
    public func executeAfterIteration(_ work: @escaping () -> Void) {
        preconditionInEventLoop()
        afterIteration.append(work)
    }

    private func submit(_ work: Work) {
        if inEventLoop {
            localWork.append(work)
            return
        }
        incoming.withLock { $0.append(work) }
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)  // cannot fail short of EAGAIN on a full counter, which still wakes
        }
    }

    /// Asks the loop to call `flushable.flush()` once, at the end of this iteration.
    public func scheduleFlush(_ flushable: any Flushable) {
        flushQueue.append(flushable)
    }

    // MARK: Registration (loop thread only)

    /// The events of a descriptor watched for input only (`EPOLLIN`), for modules that
    /// register one without importing epoll's header.
    package static let readEvents: UInt32 = EPOLLIN.rawValue

    /// Adds `fd` to the epoll set; events go to `selectable`. Returns the registration token.
    public func register(fd: Int32, events: UInt32, _ selectable: any Selectable) throws(SystemCallError) -> UInt64 {
        preconditionInEventLoop()
        let token = nextToken
        nextToken += 1
        _ = try systemCall("epoll_ctl(add)") { cellhub_epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, events, token) }
        registrations[token] = selectable
        return token
    }

    public func modify(fd: Int32, token: UInt64, events: UInt32) throws(SystemCallError) {
        _ = try systemCall("epoll_ctl(mod)") { cellhub_epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, events, token) }
    }

    /// Removes `fd` from the epoll set; pending events for the token are dropped.
    public func deregister(fd: Int32, token: UInt64) {
        registrations[token] = nil
        _ = cellhub_epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, 0, 0)
    }

    // MARK: Timers (loop thread only)

    /// Calls `action` on the loop thread once `deadline` (monotonic ns) has passed.
    @discardableResult
    public func schedule(at deadline: UInt64, _ action: @escaping () -> Void) -> LoopTimer {
        preconditionInEventLoop()
        let timer = LoopTimer(deadline: deadline, action: action)
        timers.insert(timer)
        return timer
    }

    /// Timers in the heap, cancelled ones not yet swept included (tests).
    package var pendingTimerCount: Int { timers.count }

    @discardableResult
    public func schedule(afterNanoseconds delay: UInt64, _ action: @escaping () -> Void) -> LoopTimer {
        schedule(at: monotonicNanoseconds() &+ delay, action)
    }

    // MARK: Running

    /// Runs the loop on the calling thread until `stop()`.
    public func run() {
        threadID.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .releasing)
        var events = [cellhub_epoll_event](repeating: cellhub_epoll_event(), count: 256)
        while !stopRequested.load(ordering: .acquiring) {
            runLocalWork()
            runFlushes()
            let timeout: Int32
            if !localWork.isEmpty || !afterIteration.isEmpty {
                timeout = 0
            } else {
                timeout = timers.timeoutMilliseconds(now: monotonicNanoseconds())
            }
            let polling = busyPollNanoseconds > 0 && timeout != 0
            var count = events.withUnsafeMutableBufferPointer {
                cellhub_epoll_wait(epollFD, $0.baseAddress, Int32($0.count), polling ? 0 : timeout)
            }
            if count == 0 && polling {
                // Adaptive busy poll: right after I/O, the next request of a ping-ponging
                // client is typically tens of µs away; polling for it briefly avoids the
                // sleep/wake-up round trip. An idle loop never spins.
                // A spin that gets preempted was burning a CPU another thread wanted — on a
                // core shared with the blocking pool or the store's writer, our own: the loop
                // then stops spinning for a while instead of taking that CPU on every I/O.
                let now = monotonicNanoseconds()
                let spinUntil = lastIOAt == 0 || now < spinPausedUntil ? 0 : now &+ busyPollNanoseconds
                let preemptions = spinUntil == 0 ? 0 : cellhub_thread_preemptions()
                while count == 0 && monotonicNanoseconds() < spinUntil {
                    count = events.withUnsafeMutableBufferPointer {
                        cellhub_epoll_wait(epollFD, $0.baseAddress, Int32($0.count), 0)
                    }
                }
                if spinUntil != 0 && cellhub_thread_preemptions() != preemptions {
                    spinPausedUntil = monotonicNanoseconds() &+ Self.spinPauseNanoseconds
                    spinPauses.add(1, ordering: .relaxed)
                }
                if count == 0 {
                    count = events.withUnsafeMutableBufferPointer {
                        cellhub_epoll_wait(epollFD, $0.baseAddress, Int32($0.count), timeout)
                    }
                }
            }
            // Spin before the next sleep only if this wait found work (an active peer).
            lastIOAt = count > 0 ? monotonicNanoseconds() : 0
            if count < 0 {
                let error = errno
                precondition(error == EINTR, "epoll_wait failed with errno \(error)")
                continue
            }
            for i in 0..<Int(count) {
                let event = events[i]
                if event.token == Self.wakeToken {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    wakePending.store(false, ordering: .releasing)
                    continue
                }
                // A token removed earlier in this batch: its object is gone, drop the event.
                guard let selectable = registrations[event.token] else { continue }
                if event.events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue | EPOLLRDHUP.rawValue) != 0 {
                    selectable.readable()
                }
                if event.events & EPOLLOUT.rawValue != 0, registrations[event.token] != nil {
                    selectable.writable()
                }
            }
            fireDueTimers()
            let queued = incoming.withLock { work -> [Work] in
                defer { work.removeAll(keepingCapacity: true) }
                return work
            }
            localWork.append(contentsOf: queued)
        }
        // Drain what was queued so no continuation is lost at shutdown.
        runLocalWork()
        runFlushes()
    }

    /// Runs queued work, flushes and due timers on the calling thread until none is left,
    /// without waiting for I/O: for tests and fuzzers that drive a loop by hand (with
    /// `MemoryByteStream`). The calling thread becomes the loop's thread; never use it on
    /// a loop that `run()`s.
    package func runUntilIdle() {
        threadID.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .releasing)
        while true {
            localWork.append(contentsOf: incoming.withLock { work -> [Work] in
                defer { work.removeAll(keepingCapacity: true) }
                return work
            })
            runLocalWork()
            runFlushes()
            fireDueTimers()
            let more = !localWork.isEmpty || !afterIteration.isEmpty || !flushQueue.isEmpty || incoming.withLock { !$0.isEmpty }
            if !more { return }
        }
    }

    /// Runs the actions of the timers due now, each after it left the heap (an action may
    /// schedule another timer; one due by now runs in this pass too).
    private func fireDueTimers() {
        let now = monotonicNanoseconds()
        while let action = timers.takeDue(now: now) { action() }
    }

    /// Stops `run()` after its current iteration. Thread-safe.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        execute {}
    }

    private func runLocalWork() {
        // New work queued while running (continuations of the tasks run here) is run too,
        // up to a bound, so I/O is never starved.
        var budget = 16_384
        while !localWork.isEmpty && budget > 0 {
            let batch = localWork
            localWork.removeAll(keepingCapacity: true)
            budget -= batch.count
            for work in batch {
                switch work {
                case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
                case .closure(let closure): closure()
                }
            }
        }
        if !afterIteration.isEmpty {
            let batch = afterIteration
            afterIteration.removeAll(keepingCapacity: true)
            batch.forEach { $0() }
        }
    }

    private func runFlushes() {
        while !flushQueue.isEmpty {
            let batch = flushQueue
            flushQueue.removeAll(keepingCapacity: true)
            batch.forEach { $0.flush() }
        }
    }
}

extension EventLoop: TaskExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }
}
