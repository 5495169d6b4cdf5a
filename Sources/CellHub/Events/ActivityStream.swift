/// One WatchActivity stream on its shard: feed entries are discrete (one per operation,
/// never dropped), so they queue within the stream's budget and end it RESOURCE_EXHAUSTED
/// past it.
final class ActivityStream: ShardStream, @unchecked Sendable {
    let handle: StreamHandle
    let user: UserRef
    /// Only entries about this project; nil = all.
    let projectID: String?
    let outlet: any StreamOutlet
    let timing: StreamTiming
    var lastSendAt: UInt64 = monotonicNow()
    var slot = 0
    private var buffered: [ActivityEntry]? = []
    private(set) var lastRevision: Int64 = 0

    var isLive: Bool { buffered == nil }

    var userID: String { user.id }

    init(handle: StreamHandle, user: UserRef, projectID: String?, outlet: any StreamOutlet, timing: StreamTiming) {
        self.handle = handle
        self.user = user
        self.projectID = projectID
        self.outlet = outlet
        self.timing = timing
    }

    /// The backlog (or replay) and CAUGHT_UP are out, exact at `revision`.
    func start(frames: [EventFrame], revision: Int64, shard: StreamShard) {
        for frame in frames where !outlet.send(frame) {
            shard.sendFailed(self)
            return
        }
        lastSendAt = monotonicNow()
        lastRevision = max(lastRevision, revision)
        let waiting = buffered ?? []
        buffered = nil
        apply(waiting, shard: shard)
    }

    func apply(_ entries: [ActivityEntry], shard: StreamShard) {
        if buffered != nil {
            buffered? += entries
            return
        }
        for entry in entries where entry.revision > lastRevision && (projectID == nil || entry.projectID == projectID) {
            let event = ActivityStreamEvent(
                EventHeader(
                    revision: entry.revision, timestampMs: entry.committedAtMs, projectID: entry.projectID, actor: entry.actor,
                    sequence: entry.sequence),
.entry(entry, recipient: user))
            guard shard.sendDiscrete(shard.encode(event), to: self) else { return }
            lastRevision = entry.revision
        }
    }

    func flushDue(now: UInt64, shard: StreamShard) {}

    func heartbeat(now: UInt64, shard: StreamShard) {
        guard shard.canTakeState(self) else { return }
        let revision = max(lastRevision, shard.position)
        lastRevision = revision
        let event = ActivityStreamEvent(EventHeader(revision: revision, timestampMs: SystemValues.milliseconds(), projectID: ""), .progress)
        shard.sendState([shard.encode(event)], to: self)
    }
}
