/// The streams that live on one executor (an event loop), with their per-stream state: the
/// hub hands each shard one batch per round of changes, and the shard turns it into frames
/// for its streams — coalescing per stream, holding back state for slow consumers, ending
/// streams that fall too far behind — without a lock or a task switch per stream.
///
/// Confined to `executor`: every method runs there (the hub reaches it with `execute`).
final class StreamShard: @unchecked Sendable {
    let executor: any StreamExecutor
    private let encoder: any StreamEventEncoding
    private let budget: StreamBudget
    /// Tells the hub a stream ended on this shard (presence, registry).
    private let onEnded: @Sendable (UInt64) -> Void
    /// The hub's position when it last handed over a batch: everything up to it reached
    /// this shard.
    private(set) var position: Int64 = 0
    private var projects: [String: StreamGroup<ProjectStream>] = [:]
    private var dashboards: [DashboardViewKey: StreamGroup<DashboardStream>] = [:]
    private var activities: [String: StreamGroup<ActivityStream>] = [:]
    private var byID: [UInt64: any ShardStream] = [:]
    /// Streams with a coalesced update waiting for its interval.
    private var due: [UInt64: UInt64] = [:]
    private var flushTimer: (any StreamTimer)?
    private var flushTimerAt: UInt64 = .max
    private var heartbeatTimer: (any StreamTimer)?
    private var heartbeatTimerAt: UInt64 = .max
    /// Stats frames encoded this round, by content: streams in step share the bytes.
    private var statsFrames: [String: (key: PendingKey, frames: [EventFrame])] = [:]

    init(executor: any StreamExecutor, encoder: any StreamEventEncoding, budget: StreamBudget, onEnded: @escaping @Sendable (UInt64) -> Void) {
        self.executor = executor
        self.encoder = encoder
        self.budget = budget
        self.onEnded = onEnded
    }

    var streamCount: Int { byID.count }

    /// The hub's key for this shard: its executor's identity.
    var key: ObjectIdentifier { ObjectIdentifier(executor) }

    // MARK: Streams joining and leaving

    func add(_ stream: ProjectStream) {
        projects[stream.projectID, default: StreamGroup()].add(stream)
        byID[stream.handle.id] = stream
        armHeartbeat()
    }

    func add(_ stream: DashboardStream) {
        dashboards[stream.view, default: StreamGroup()].add(stream)
        byID[stream.handle.id] = stream
        armHeartbeat()
    }

    func add(_ stream: ActivityStream) {
        activities[stream.userID, default: StreamGroup()].add(stream)
        byID[stream.handle.id] = stream
        armHeartbeat()
    }

    /// Removes a stream (its client went away, or it ended).
    func remove(_ id: UInt64) {
        guard let stream = byID.removeValue(forKey: id) else { return }
        due[id] = nil
        switch stream {
        case let project as ProjectStream:
            projects[project.projectID]?.remove(project)
            if projects[project.projectID]?.isEmpty == true { projects[project.projectID] = nil }
        case let dashboard as DashboardStream:
            dashboards[dashboard.view]?.remove(dashboard)
            if dashboards[dashboard.view]?.isEmpty == true { dashboards[dashboard.view] = nil }
        case let activity as ActivityStream:
            activities[activity.userID]?.remove(activity)
            if activities[activity.userID]?.isEmpty == true { activities[activity.userID] = nil }
        default:
            break
        }
    }

    /// Ends a stream: the handler resumes with `end` after the frames already queued.
    func end(_ stream: any ShardStream, _ end: StreamEnd) {
        guard byID[stream.handle.id] != nil else { return }
        remove(stream.handle.id)
        stream.handle.finish(end)
        onEnded(stream.handle.id)
    }

    // MARK: Batches from the hub

    func apply(_ batch: ShardBatch) {
        let now = monotonicNow()
        statsFrames.removeAll(keepingCapacity: true)
        for item in batch.items {
            switch item {
            case .project(let projectID, let effect):
                guard let members = projects[projectID]?.members else { continue }
                let step = inStep(effect, projectID: projectID)
                for stream in members { stream.apply(effect, now: now, shard: self, inStep: step) }
            case .presence(let projectID, let presence):
                for stream in projects[projectID]?.members ?? [] where stream.handle.id != presence.except {
                    stream.presence(presence, shard: self)
                }
            case .dashboard(let view, let computed):
                for stream in dashboards[view]?.members ?? [] { stream.apply(computed, now: now, shard: self) }
            case .activity(let userID, let entries):
                for stream in activities[userID]?.members ?? [] { stream.apply(entries, shard: self) }
            case .endUser(let userID, let reason):
                for stream in Array(byID.values) where stream.userID == userID { end(stream, reason) }
            case .endAll(let reason):
                for stream in Array(byID.values) { end(stream, reason) }
            }
        }
        position = max(position, batch.position)
    }

    // MARK: Sending

    /// Sends a frame that must not be dropped; a stream that cannot take it is ended
    /// RESOURCE_EXHAUSTED. Returns whether it was queued.
    @discardableResult
    func sendDiscrete(_ frame: EventFrame, to stream: any ShardStream) -> Bool {
        guard stream.outlet.unsentBytes + frame.bytes.count <= budget.budget || stream.outlet.unsentBytes == 0 else {
            end(stream, .tooSlow)
            return false
        }
        guard stream.outlet.send(frame) else {
            sendFailed(stream)
            return false
        }
        stream.lastSendAt = monotonicNow()
        return true
    }

    /// The outlet refused a frame: the call is over, or the frame is more than the transport
    /// may send. Ending the stream gives the call a status (if it is still open) and takes it
    /// out of the hub, instead of leaving it open with nothing sent to it.
    func sendFailed(_ stream: any ShardStream) {
        end(stream, .failed("an event could not be sent on this stream"))
    }

    /// Whether a stream can take coalesced state now (else it waits for the drain).
    func canTakeState(_ stream: any ShardStream) -> Bool {
        stream.outlet.unsentBytes <= budget.lowWater
    }

    var lowWater: Int { budget.lowWater }

    /// Sends coalesced state (never refused for size: it was checked with `canTakeState`).
    func sendState(_ frames: [EventFrame], to stream: any ShardStream) {
        for frame in frames where !stream.outlet.send(frame) {
            sendFailed(stream)
            return
        }
        stream.lastSendAt = monotonicNow()
    }

    func encode(_ event: ProjectStreamEvent) -> EventFrame { encoder.encode(event) }
    func encode(_ event: DashboardStreamEvent) -> EventFrame { encoder.encode(event) }
    func encode(_ event: ActivityStreamEvent) -> EventFrame { encoder.encode(event) }

    /// What every stream of `projectID` in step gets for `effect` (see `ProjectStream`), or
    /// nil when the change is not the common case: it must move the stats, and each of its
    /// discrete events reach everyone and end no stream.
    private func inStep(_ effect: ProjectEffect, projectID: String) -> InStep? {
        guard effect.movesStats else { return nil }
        var frames: [EventFrame] = []
        var discreteBytes = 0
        for discrete in effect.discrete {
            guard discrete.audience == .everyone, discrete.ends == nil, let frame = discrete.frame else { return nil }
            frames.append(frame)
            discreteBytes += frame.bytes.count
        }
        let update = PendingUpdate(effect)
        frames += statsFrames(update, projectID: projectID)
        let revision = effect.discrete.reduce(update.lastRevision) { max($0, $1.event.header.revision) }
        return InStep(frame: EventFrame(joining: frames), discreteBytes: discreteBytes, revision: revision)
    }

    /// The frames of a pending update, encoded once per content this round.
    func statsFrames(_ pending: PendingUpdate, projectID: String) -> [EventFrame] {
        if let cached = statsFrames[projectID], cached.key == pending.key { return cached.frames }
        let frames = pending.events(projectID: projectID).map(encoder.encode)
        statsFrames[projectID] = (pending.key, frames)
        return frames
    }

    // MARK: Timers

    /// Calls the stream's `flushDue` at `deadline` (one timer for the whole shard).
    func scheduleFlush(_ stream: any ShardStream, at deadline: UInt64) {
        due[stream.handle.id] = deadline
        armFlushTimer(at: deadline)
    }

    private func armFlushTimer(at deadline: UInt64) {
        guard deadline < flushTimerAt else { return }
        flushTimer?.cancel()
        flushTimerAt = deadline
        let now = monotonicNow()
        flushTimer = executor.schedule(afterNanoseconds: deadline > now ? deadline - now : 0) { [self] in
            flushTimer = nil
            flushTimerAt = .max
            runDueFlushes()
        }
    }

    private func runDueFlushes() {
        let now = monotonicNow()
        statsFrames.removeAll(keepingCapacity: true)
        for (id, deadline) in due where deadline <= now {
            due[id] = nil
            byID[id]?.flushDue(now: now, shard: self)
        }
        if let next = due.values.min() { armFlushTimer(at: next) }
    }

    /// One timer for the whole shard sends PROGRESS on the streams idle for their heartbeat
    /// interval: armed at the earliest one due, but at most ten scans a second. A stream that
    /// joins brings the timer forward to a scan within a second: armed for the streams already
    /// there (30 s for the default interval), it would leave a new stream with a 1 s interval
    /// without PROGRESS until then.
    private func armHeartbeat(at deadline: UInt64? = nil) {
        let now = monotonicNow()
        let at = max(deadline ?? now &+ 1_000_000_000, now &+ 100_000_000)
        if let armed = heartbeatTimer {
            guard at < heartbeatTimerAt else { return }
            armed.cancel()
        }
        heartbeatTimerAt = at
        heartbeatTimer = executor.schedule(afterNanoseconds: at - now) { [self] in
            heartbeatTimer = nil
            heartbeatTimerAt = .max
            let now = monotonicNow()
            var next: UInt64 = .max
            for stream in Array(byID.values) {
                if stream.isLive && now &- stream.lastSendAt >= stream.timing.heartbeatNanoseconds { stream.heartbeat(now: now, shard: self) }
                next = min(next, stream.lastSendAt &+ stream.timing.heartbeatNanoseconds)
            }
            if !byID.isEmpty { armHeartbeat(at: next) }
        }
    }
}

/// A change as every stream in step receives it: its discrete events and then the update it
/// makes, in one frame.
struct InStep {
    var frame: EventFrame
    /// The discrete events' share of the frame (they must fit under the low-water mark).
    var discreteBytes: Int
    /// The highest revision the frame carries.
    var revision: Int64
}

/// What the hub hands a shard after a round of changes, in order.
struct ShardBatch: Sendable {
    enum Item: Sendable {
        case project(String, ProjectEffect)
        case presence(String, PresenceChange)
        case dashboard(DashboardViewKey, ComputedMetrics)
        case activity(String, [ActivityEntry])
        case endUser(String, StreamEnd)
        case endAll(StreamEnd)
    }

    var position: Int64
    var items: [Item] = []
}

/// PRESENCE for a project's streams, except the stream whose opening caused it.
struct PresenceChange: Sendable {
    var joined: Bool
    var user: UserRef
    var watchers: [UserRef]
    var except: UInt64?
}

/// The streams of one project, dashboard view or activity feed on a shard: iterated as an
/// array, removed in O(1) by moving the last one into the gap, whose index each stream keeps
/// in `slot` (10,000 streams of one project closing together would otherwise cost O(n²) and
/// stall the loop for most of a second).
private struct StreamGroup<Stream: ShardStream> {
    private(set) var members: [Stream] = []

    var isEmpty: Bool { members.isEmpty }

    mutating func add(_ stream: Stream) {
        stream.slot = members.count
        members.append(stream)
    }

    mutating func remove(_ stream: Stream) {
        let last = members.removeLast()
        guard last !== stream else { return }
        members[stream.slot] = last
        last.slot = stream.slot
    }
}

/// What the shard needs of every kind of stream.
protocol ShardStream: AnyObject {
    var handle: StreamHandle { get }
    var userID: String { get }
    var outlet: any StreamOutlet { get }
    var timing: StreamTiming { get }
    /// Monotonic time of the last frame sent (heartbeats count from it).
    var lastSendAt: UInt64 { get set }
    /// Its index in its group's members (the shard's bookkeeping).
    var slot: Int { get set }
    /// Past its snapshot or backlog.
    var isLive: Bool { get }
    func flushDue(now: UInt64, shard: StreamShard)
    func heartbeat(now: UInt64, shard: StreamShard)
}
