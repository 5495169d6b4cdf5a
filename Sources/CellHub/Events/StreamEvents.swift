/// The events of the three Watch streams, as the domain builds them; CellHubServer encodes
/// them (`StreamEventEncoding`) into the wire messages of events.proto, which document each.

/// The fields every event of a stream carries.
package struct EventHeader: Sendable, Hashable {
    /// The event's position (with the log's epoch, added by the encoder).
    package var revision: Int64
    /// When the change was committed; for snapshots and stream control, when sent.
    package var timestampMs: Int64
    /// The project concerned ("" when none).
    package var projectID: String
    /// Who caused it; nil for system changes and stream control.
    package var actor: UserRef?
    /// Which of the stream's discrete events of `revision` this is (1, 2, ...); 0 for
    /// coalesced state and stream control (sent only once the revision is complete).
    package var sequence: UInt32

    package init(revision: Int64, timestampMs: Int64, projectID: String, actor: UserRef? = nil, sequence: UInt32 = 0) {
        self.revision = revision
        self.timestampMs = timestampMs
        self.projectID = projectID
        self.actor = actor
        self.sequence = sequence
    }
}

/// A bounded list of affected image ids (proto AffectedImageList).
package struct AffectedImageList: Sendable, Hashable {
    /// Ids listed per event at most.
    package static let limit = 100

    package var ids: [String] = []
    package var totalCount: Int64 = 0

    package var truncated: Bool { totalCount > Int64(ids.count) }

    package init() {}

    package init<S: Sequence>(_ ids: S) where S.Element == String {
        for id in ids { add(id) }
    }

    package mutating func add(_ id: String) {
        totalCount += 1
        if ids.count < Self.limit { ids.append(id) }
    }
}

/// What a stats change was caused by (proto StatsCause).
package enum StatsCause: Int, Sendable, Hashable, CaseIterable {
    case imagesUploaded = 1
    case imagesDeleted = 2
    case segmentationQueued = 3
    case segmentationStarted = 4
    case segmentationCompleted = 5
    case segmentationFailed = 6
    case segmentationRequeued = 7
    case segmentationCancelled = 8
}

/// Operations of one kind folded into a stats update.
package struct StatsCauseCount: Sendable, Hashable {
    package var cause: StatsCause
    package var changeCount: Int64
    package var imageCount: Int64

    package init(cause: StatsCause, changeCount: Int64, imageCount: Int64) {
        self.cause = cause
        self.changeCount = changeCount
        self.imageCount = imageCount
    }
}

/// PROJECT_STATS_UPDATE's content.
package struct StatsUpdate: Sendable, Hashable {
    /// Exact at the envelope's revision (`counters.revision` is the last change that moved
    /// them; the encoder stamps the envelope's).
    package var counters: ProjectCounters
    package var causes: [StatsCauseCount]
    package var affected: AffectedImageList
    package var firstRevision: Int64
    package var changeCount: Int64

    package init(counters: ProjectCounters, causes: [StatsCauseCount], affected: AffectedImageList, firstRevision: Int64, changeCount: Int64) {
        self.counters = counters
        self.causes = causes
        self.affected = affected
        self.firstRevision = firstRevision
        self.changeCount = changeCount
    }
}

/// How a project's member list changed (proto ShareChangeType).
package enum MemberChange: Int, Sendable, Hashable {
    case added = 1
    case roleChanged = 2
    case revoked = 3
    case left = 4
}

/// One event of a WatchProject stream.
package enum ProjectStreamPayload: Sendable, Hashable {
    case snapshot(project: ProjectRecord, members: [MemberRecord], watchers: [UserRef], resync: Bool)
    case caughtUp(replayed: Int64, positionLost: Bool)
    case statsUpdate(StatsUpdate)
    case imageCountChange(previous: Int64, new: Int64, added: Bool)
    case imageDeleted(id: String, name: String, sizeBytes: Int64, previousStatus: ImageStatus?)
    case batchImagesDeleted(AffectedImageList, freedBytes: Int64)
    case segmentationCompleted(AffectedImageList, count: Int64, totalCells: Int64, averageProcessingMs: Double)
    case segmentationFailed(AffectedImageList, count: Int64, lastReason: String)
    case projectUpdated(name: String, description: String, changedFields: [String], updatedAtMs: Int64)
    case sharesChanged(MemberChange, user: UserRef, role: MemberRole?, previousRole: MemberRole?, members: [MemberRecord])
    case presence(joined: Bool, user: UserRef, watchers: [UserRef])
    case accessRevoked(by: UserRef, left: Bool)
    case projectDeleted(name: String)
    case progress
}

package struct ProjectStreamEvent: Sendable, Hashable {
    package var header: EventHeader
    package var payload: ProjectStreamPayload

    package init(_ header: EventHeader, _ payload: ProjectStreamPayload) {
        self.header = header
        self.payload = payload
    }
}

/// One event of a WatchDashboard stream.
package enum DashboardStreamPayload: Sendable, Hashable {
    case snapshot(DashboardMetrics, resync: Bool)
    case update(DashboardMetrics, changedFields: [String])
    case progress
}

package struct DashboardStreamEvent: Sendable, Hashable {
    package var header: EventHeader
    package var payload: DashboardStreamPayload

    package init(_ header: EventHeader, _ payload: DashboardStreamPayload) {
        self.header = header
        self.payload = payload
    }
}

/// One event of a WatchActivity stream: a feed entry (its recipient is the stream's user),
/// or stream control.
package enum ActivityStreamPayload: Sendable, Hashable {
    /// A feed entry of `recipient` (the stream's user).
    case entry(ActivityEntry, recipient: UserRef)
    case caughtUp(replayed: Int64, positionLost: Bool)
    case progress
}

package struct ActivityStreamEvent: Sendable, Hashable {
    package var header: EventHeader
    package var payload: ActivityStreamPayload

    package init(_ header: EventHeader, _ payload: ActivityStreamPayload) {
        self.header = header
        self.payload = payload
    }
}

/// Encoded wire messages (whole gRPC frames, back to back; usually one): encoded once, sent
/// to every stream that gets the same content.
package struct EventFrame: Sendable, Hashable {
    package let bytes: [UInt8]

    package init(bytes: [UInt8]) { self.bytes = bytes }

    /// The messages of `frames`, in order, as one frame (one push, one copy for all streams).
    init(joining frames: [EventFrame]) {
        if frames.count == 1 {
            bytes = frames[0].bytes
            return
        }
        var joined: [UInt8] = []
        joined.reserveCapacity(frames.reduce(0) { $0 + $1.bytes.count })
        for frame in frames { joined += frame.bytes }
        bytes = joined
    }
}

/// Encodes stream events into wire frames (CellHubServer, with the log's epoch).
package protocol StreamEventEncoding: Sendable {
    func encode(_ event: ProjectStreamEvent) -> EventFrame
    func encode(_ event: DashboardStreamEvent) -> EventFrame
    func encode(_ event: ActivityStreamEvent) -> EventFrame
}
