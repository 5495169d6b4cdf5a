import Synchronization

/// Where one worker feed's items go — a ClaimJobs stream's push side, or an in-process
/// worker. Used on `executor` only; never waits.
package protocol WorkerFeedOutlet: AnyObject, Sendable {
    var executor: any StreamExecutor { get }
    /// False once the feed is gone.
    func send(_ job: WorkerService.Claimed) -> Bool
    func sendRevoked(jobID: String, leaseID: String, reason: String) -> Bool
    func sendHeartbeat() -> Bool
    /// Bytes queued and not yet taken by the worker.
    var unsentBytes: Int { get }
    func whenDrained(_ body: @escaping () -> Void)
}

/// Hands queued jobs to connected workers as they become available: woken by the commits
/// that queue or re-queue jobs (it follows the EventHub's changes, no polling), it claims
/// for each feed with free capacity — at most its stated concurrency in leases, and only
/// while the feed's transport keeps up — and pushes the assignments. It tracks who holds
/// which lease, so a cancelled job's or an expired lease's holder hears LeaseRevoked, and
/// it ends expired leases itself (re-queued while attempts remain). A feed that goes away
/// keeps its leases until they expire: its worker may reconnect and still complete them.
///
/// Results go through it too: a CompleteJob waits for the dispatcher's next batch, which
/// stores every result that arrived meanwhile and claims the next jobs of the workers they
/// freed in one transaction — on a busy queue one commit serves many jobs, where a commit
/// per result and another per claim made the queue CPU-bound at two write transactions a job.
///
/// All state lives on its own thread (claims are store writes).
package final class JobDispatcher: Sendable {
    package struct Options: Sendable {
        /// A feed idle this long gets a heartbeat.
        package var heartbeatNanoseconds: UInt64 = 15_000_000_000
        /// How often expired leases are looked for.
        package var sweepNanoseconds: UInt64 = 500_000_000
        /// A feed takes new jobs only while less than this is queued for it.
        package var lowWaterBytes = 256 << 10
        package var reportFault: @Sendable (String) -> Void = { _ in }

        package init() {}
    }

    private let workers: WorkerService
    private let options: Options
    private let thread = SerialWorker(name: "job-dispatcher")
    /// Confined to `thread`.
    private let state = DispatcherState()
    private let wakePending = Atomic<Bool>(false)
    /// Results waiting for the next batch; once stopped, results are stored by their caller.
    private let completions = Mutex<(waiting: [PendingCompletion], stopped: Bool)>(([], false))
    private let feedCount = Atomic<Int>(0)
    private let nextID = Atomic<UInt64>(1)

    package init(workers: WorkerService, hub: EventHub?, options: Options = Options()) {
        self.workers = workers
        self.options = options
        hub?.observeChanges { [weak self] changes in self?.changed(changes) }
        scheduleSweep()
        scheduleHeartbeats()
    }

    /// Workers with an open feed now.
    package var connectedWorkers: Int { feedCount.load(ordering: .relaxed) }

    /// Serves one feed until it ends (the reason) or its worker goes away (nil).
    /// - Parameters:
    ///   - models: the models it runs (non-empty).
    ///   - capacity: leases it may hold at once.
    package func serve(workerName: String, models: [String], capacity: Int, outlet: any WorkerFeedOutlet) async -> StreamEnd? {
        let handle = StreamHandle(id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue)
        return await withTaskCancellationHandler {
            thread.execute { [self] in
                guard !handle.isFinished else { return }
                guard !state.draining else {
                    handle.finish(.draining)
                    return
                }
                state.feeds[handle.id] = Feed(handle: handle, workerName: workerName, models: models, capacity: max(1, capacity), outlet: outlet)
                feedCount.wrappingAdd(1, ordering: .relaxed)
                wake()
            }
            return await handle.wait()
        } onCancel: {
            thread.execute { [self] in remove(handle.id, end: nil) }
        }
    }

    /// Ends every feed UNAVAILABLE (graceful drain).
    package func drain() {
        thread.sync { [self] in
            state.draining = true
            for id in Array(state.feeds.keys) { remove(id, end: .draining) }
        }
    }

    /// Stops the thread; results still waiting are stored on the caller's thread.
    package func stop() {
        let waiting = completions.withLock { state -> [PendingCompletion] in
            state.stopped = true
            defer { state.waiting = [] }
            return state.waiting
        }
        thread.stop()
        for pending in waiting { pending.continuation.resume(returning: completeAlone(pending.completion)) }
    }

    /// Stores a worker's result with the next batch and returns once that batch committed.
    /// - Throws: what `WorkerService.complete` throws for this job.
    package func complete(
        jobID: String, leaseID: String, output: SegmentationOutput, caller: Caller
    ) async throws(SegmentationError) -> JobCompleted {
        let completion = try workers.completion(jobID: jobID, leaseID: leaseID, output: output, caller: caller)
        let result = await withCheckedContinuation { continuation in
            let queued = completions.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.waiting.append(PendingCompletion(completion: completion, continuation: continuation))
                return true
            }
            if queued {
                wake()
            } else {
                continuation.resume(returning: completeAlone(completion))
            }
        }
        return try result.get()
    }

    private func completeAlone(_ completion: JobCompletion) -> Result<JobCompleted, SegmentationError> {
        do {
            return try workers.complete([completion], thenClaim: { _ in [] }).completed[0]
        } catch {
            return .failure(error)
        }
    }

    /// Looks for work soon: one dispatch after the work already queued on the thread, however
    /// many wakes arrive meanwhile (so workers freed together are served by one claim).
    package func wake() {
        guard !wakePending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        thread.execute { [self] in
            wakePending.store(false, ordering: .releasing)
            dispatch()
        }
    }

    // MARK: Thread-confined work

    private func remove(_ id: UInt64, end: StreamEnd?) {
        guard let feed = state.feeds.removeValue(forKey: id) else {
            return
        }
        feedCount.wrappingSubtract(1, ordering: .relaxed)
        // Its leases stay with the jobs until they end or expire; forget who held them.
        for jobID in feed.leases.keys { state.holder[jobID] = nil }
        feed.handle.finish(end)
    }

    /// Stores the results waiting, then claims for every feed that has room (counting the
    /// slots those results free) and keeps up, least recently served first — all in one
    /// transaction, so a batch of results and the next jobs of N workers cost one commit.
    private func dispatch() {
        let batch = completions.withLock { state -> [PendingCompletion] in
            defer { state.waiting = [] }
            return state.waiting
        }
        // A draining server still stores results; it hands out no more jobs.
        let ready = state.draining ? [] : state.feeds.values.filter(\.ready).sorted { $0.servedAt < $1.servedAt }
        // The batch's jobs by the feed holding them (one pass, not one per feed).
        var completing: [UInt64: Set<String>] = [:]
        for pending in batch {
            if let holder = state.holder[pending.completion.jobID] { completing[holder, default: []].insert(pending.completion.jobID) }
        }
        let candidates = ready.map { feed in
            (feed, ClaimPlan(
                request: ClaimRequest(workerName: feed.workerName, models: feed.models, limit: 0), capacity: feed.capacity,
                held: feed.leases.count, completing: completing[feed.handle.id] ?? [], byBytes: claimLimitByBytes(feed)))
        }.filter { $0.1.mayClaim }
        let feeds = candidates.map(\.0), claiming = candidates.map(\.1)
        guard !batch.isEmpty || !claiming.isEmpty else { return }
        let outcome: (completed: [Result<JobCompleted, SegmentationError>], claimed: [[WorkerService.Claimed]])
        do {
            outcome = try workers.complete(batch.map(\.completion)) { done in
                let done = Set(done)
                return claiming.map { $0.request(afterCompleting: done) }
            }
        } catch {
            options.reportFault("job dispatcher: storing results or claiming jobs failed: \(error)")
            for pending in batch { pending.continuation.resume(returning: .failure(error)) }
            return
        }
        for (pending, result) in zip(batch, outcome.completed) {
            // Free the holder's slot now; the change's own notice finds it gone.
            if case .success = result, let holderID = state.holder.removeValue(forKey: pending.completion.jobID) {
                state.feeds[holderID]?.leases[pending.completion.jobID] = nil
            }
            pending.continuation.resume(returning: result)
        }
        for (feed, claimed) in zip(feeds, outcome.claimed) where !claimed.isEmpty {
            feed.recordSizes(claimed.map(\.content.count))
            for job in claimed {
                guard let lease = job.job.leaseID else { continue }
                feed.leases[job.job.id] = lease
                state.holder[job.job.id] = feed.handle.id
            }
            feed.servedAt = monotonicNow()
            feed.lastSendAt = feed.servedAt
            feed.ready = false
            let outlet = feed.outlet, id = feed.handle.id, lowWater = options.lowWaterBytes
            outlet.executor.execute { [self] in
                for job in claimed where !outlet.send(job) { break }
                if outlet.unsentBytes <= lowWater {
                    thread.execute { [self] in markReady(id) }
                } else {
                    outlet.whenDrained { [self] in thread.execute { [self] in markReady(id) } }
                }
            }
        }
    }

    /// How many jobs one claim may take for `feed` by size: no more images than fit under
    /// the low-water mark at the feed's average image size (one while it is unknown) — so a
    /// worker that stops reading holds at most about that much more than its transport took,
    /// whatever its stated concurrency.
    private func claimLimitByBytes(_ feed: Feed) -> Int {
        guard let average = feed.averageImageBytes, average > 0 else { return 1 }
        return max(1, options.lowWaterBytes / average)
    }

    private func markReady(_ id: UInt64) {
        guard let feed = state.feeds[id] else { return }
        feed.ready = true
        wake()
    }

    /// Changes from the log: new or re-queued jobs wake the dispatch; finished jobs free
    /// their holder's slot; cancelled jobs and expired leases are revoked at their holder.
    private func changed(_ changes: [Change]) {
        var workMayWait = false
        var ended: [(jobID: String, reason: String?)] = []
        for change in changes {
            switch change.kind {
            case .segmentationQueued:
                workMayWait = true
            case .segmentationCompleted, .segmentationFailed:
                // The holder itself ended these leases.
                workMayWait = true
                for job in change.jobs { ended.append((job.jobID, nil)) }
            case .leasesExpired:
                workMayWait = true
                for job in change.jobs { ended.append((job.jobID, "lease expired")) }
            case .segmentationCancelled, .imageDeleted, .imagesDeleted, .projectDeleted:
                workMayWait = workMayWait || !change.jobIDs.isEmpty
                let reason = change.kind == .segmentationCancelled ? "job cancelled" : "image or project deleted"
                for jobID in change.jobIDs { ended.append((jobID, reason)) }
            default:
                break
            }
        }
        guard workMayWait || !ended.isEmpty else { return }
        let finished = ended
        thread.execute { [self] in
            for (jobID, reason) in finished {
                guard let holderID = state.holder.removeValue(forKey: jobID), let feed = state.feeds[holderID],
                      let lease = feed.leases.removeValue(forKey: jobID) else { continue }
                if let reason {
                    let outlet = feed.outlet
                    outlet.executor.execute { _ = outlet.sendRevoked(jobID: jobID, leaseID: lease, reason: reason) }
                }
            }
            self.wake()
        }
    }

    private func scheduleSweep() {
        thread.schedule(afterNanoseconds: options.sweepNanoseconds) { [weak self] in
            guard let self else { return }
            do {
                if let next = try self.workers.nextLeaseExpiry(), next <= self.workers.options.clock() {
                    _ = try self.workers.expireLeases()
                }
            } catch {
                self.options.reportFault("job dispatcher: expiring leases failed: \(error)")
            }
            self.dispatch()
            self.scheduleSweep()
        }
    }

    private func scheduleHeartbeats() {
        thread.schedule(afterNanoseconds: 1_000_000_000) { [weak self] in
            guard let self else { return }
            let now = monotonicNow()
            for feed in self.state.feeds.values where now - feed.lastSendAt >= self.options.heartbeatNanoseconds {
                feed.lastSendAt = now
                let outlet = feed.outlet
                outlet.executor.execute { _ = outlet.sendHeartbeat() }
            }
            self.scheduleHeartbeats()
        }
    }
}

/// One connected worker feed (dispatcher thread).
private final class Feed: @unchecked Sendable {
    let handle: StreamHandle
    let workerName: String
    let models: [String]
    let capacity: Int
    let outlet: any WorkerFeedOutlet
    /// Jobs it holds: job id → lease id.
    var leases: [String: String] = [:]
    /// Its transport took what it was last given.
    var ready = true
    var servedAt: UInt64 = 0
    var lastSendAt = monotonicNow()
    /// Moving average of the images it was given; nil before the first.
    private(set) var averageImageBytes: Int?

    init(handle: StreamHandle, workerName: String, models: [String], capacity: Int, outlet: any WorkerFeedOutlet) {
        self.handle = handle
        self.workerName = workerName
        self.models = models
        self.capacity = capacity
        self.outlet = outlet
    }

    func recordSizes(_ sizes: [Int]) {
        for size in sizes {
            averageImageBytes = averageImageBytes.map { ($0 * 3 + size) / 4 } ?? size
        }
    }
}

/// A CompleteJob waiting for its batch.
private struct PendingCompletion: Sendable {
    let completion: JobCompletion
    let continuation: CheckedContinuation<Result<JobCompleted, SegmentationError>, Never>
}

/// What one feed may claim in a batch, decided inside its transaction from the results that
/// did complete there (a result that fails frees no slot).
private struct ClaimPlan: Sendable {
    var request: ClaimRequest
    let capacity: Int
    /// Leases it holds before the batch.
    let held: Int
    /// Of those, the jobs the batch's results are for.
    let completing: Set<String>
    let byBytes: Int

    /// It has room if every result it is completing succeeds.
    var mayClaim: Bool { held - completing.count < capacity }

    func request(afterCompleting done: Set<String>) -> ClaimRequest {
        var request = request
        let free = capacity - held + completing.intersection(done).count
        request.limit = free > 0 ? min(free, byBytes) : 0
        return request
    }
}

private final class DispatcherState: @unchecked Sendable {
    var feeds: [UInt64: Feed] = [:]
    /// Which feed holds each leased job.
    var holder: [String: UInt64] = [:]
    var draining = false
}
