/// One WatchProject stream on its shard: buffers the hub's effects until its snapshot or
/// replay is out, then folds stats into a pending update sent at most once per interval
/// (at once after a quiet period), and sends discrete events as they come.
final class ProjectStream: ShardStream, @unchecked Sendable {
    let handle: StreamHandle
    let userID: String
    let projectID: String
    let outlet: any StreamOutlet
    let timing: StreamTiming
    var lastSendAt: UInt64 = monotonicNow()
    var slot = 0
    /// Effects and presence that arrived before the snapshot was out.
    private var buffered: [Buffered]? = []
    private var pending: PendingUpdate?
    /// When the last stats update left (the interval counts from it); 0 = never.
    private var lastStatsAt: UInt64 = 0
    /// Highest revision sent: no later event may carry less.
    private(set) var lastRevision: Int64 = 0
    /// The revision the snapshot or replay was exact at: later batches may still carry
    /// changes up to it (they were committed before the read), which it already covered.
    private var startRevision: Int64 = .max
    private var waitingForDrain = false

    private enum Buffered {
        case effect(ProjectEffect)
        case presence(PresenceChange)
    }

    init(handle: StreamHandle, userID: String, projectID: String, outlet: any StreamOutlet, timing: StreamTiming) {
        self.handle = handle
        self.userID = userID
        self.projectID = projectID
        self.outlet = outlet
        self.timing = timing
    }

    var isLive: Bool { buffered == nil }

    /// The snapshot (or replay) is out, exact at `revision`: send it, then what arrived since
    /// and is newer.
    func start(frames: [EventFrame], revision: Int64, shard: StreamShard) {
        for frame in frames where !outlet.send(frame) {
            shard.sendFailed(self)
            return
        }
        lastSendAt = monotonicNow()
        lastRevision = max(lastRevision, revision)
        startRevision = revision
        let waiting = buffered ?? []
        buffered = nil
        let now = monotonicNow()
        for item in waiting {
            switch item {
            case .effect(let effect): apply(effect, now: now, shard: shard)
            case .presence(let presence): self.presence(presence, shard: shard)
            }
        }
    }

    func apply(_ effect: ProjectEffect, now: UInt64, shard: StreamShard, inStep step: InStep? = nil) {
        if buffered != nil {
            buffered?.append(.effect(effect))
            return
        }
        guard effect.revision > startRevision || startRevision == .max else { return }
        if let step, sendInStep(step, now: now, shard: shard) { return }
        // Fold first, so that whenever the update leaves it is at least this revision; then
        // the change's discrete events; then the update if it is due (never in between).
        if effect.movesStats {
            if pending == nil { pending = PendingUpdate(effect) } else { pending?.fold(effect) }
        } else {
            pending?.absorb(revision: effect.revision)
        }
        for discrete in effect.discrete where discrete.reaches(userID) {
            let frame = discrete.frame ?? shard.encode(discrete.event)
            guard shard.sendDiscrete(frame, to: self) else { return }
            lastRevision = max(lastRevision, discrete.event.header.revision)
            if let end = discrete.ends {
                shard.end(self, end)
                return
            }
        }
        if pending != nil {
            let readyAt = lastStatsAt == 0 ? now : lastStatsAt &+ timing.updateIntervalNanoseconds
            if readyAt <= now { flushDue(now: now, shard: shard) } else { shard.scheduleFlush(self, at: readyAt) }
        }
    }

    /// The common case of a change, decided without building this stream's own update:
    /// nothing pending, an update due now, room under the low-water mark for the change's
    /// discrete events. Then the general path below would send exactly the step's frame —
    /// the discrete events, then the update made of this change alone — so the stream
    /// takes the bytes every such stream takes, in one push. False: not in step.
    private func sendInStep(_ step: InStep, now: UInt64, shard: StreamShard) -> Bool {
        guard pending == nil, lastStatsAt == 0 || lastStatsAt &+ timing.updateIntervalNanoseconds <= now,
              outlet.unsentBytes + step.discreteBytes <= shard.lowWater else { return false }
        guard outlet.send(step.frame) else {
            shard.sendFailed(self)
            return true
        }
        lastSendAt = now
        lastStatsAt = now
        lastRevision = max(lastRevision, step.revision)
        return true
    }

    /// Sends the pending update now, unless the consumer is behind: then it waits for the
    /// drain (and keeps absorbing changes meanwhile).
    func flushDue(now: UInt64, shard: StreamShard) {
        guard let update = pending, isLive else { return }
        guard shard.canTakeState(self) else {
            guard !waitingForDrain else { return }
            waitingForDrain = true
            outlet.whenDrained { [weak self, weak shard] in
                guard let self, let shard else { return }
                self.waitingForDrain = false
                self.flushDue(now: monotonicNow(), shard: shard)
            }
            return
        }
        pending = nil
        lastStatsAt = now
        lastRevision = max(lastRevision, update.lastRevision)
        shard.sendState(shard.statsFrames(update, projectID: projectID), to: self)
    }

    func presence(_ presence: PresenceChange, shard: StreamShard) {
        if buffered != nil {
            buffered?.append(.presence(presence))
            return
        }
        // Ephemeral: it carries the revision this stream is at, so nothing goes backwards.
        let event = ProjectStreamEvent(
            EventHeader(revision: lastRevision, timestampMs: SystemValues.milliseconds(), projectID: projectID),
            .presence(joined: presence.joined, user: presence.user, watchers: presence.watchers))
        shard.sendDiscrete(shard.encode(event), to: self)
    }

    func heartbeat(now: UInt64, shard: StreamShard) {
        // A pending update is on its way (or held for a slow consumer): not idle.
        guard pending == nil, shard.canTakeState(self) else { return }
        let revision = max(lastRevision, shard.position)
        lastRevision = revision
        let event = ProjectStreamEvent(EventHeader(revision: revision, timestampMs: SystemValues.milliseconds(), projectID: projectID), .progress)
        shard.sendState([shard.encode(event)], to: self)
    }
}
