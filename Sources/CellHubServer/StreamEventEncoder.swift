package import CellHub
import CellHubProto
import RPC

/// The EventHub's events as the wire messages of events.proto, each encoded into a whole
/// gRPC frame (the hub sends the same bytes to every stream that gets the same event).
package struct StreamEventEncoder: StreamEventEncoding {
    /// The event log's epoch, on every event.
    let epoch: String

    package init(epoch: String) { self.epoch = epoch }

    package func encode(_ event: ProjectStreamEvent) -> EventFrame {
        var message = ProjectEvent()
        message.epoch = epoch
        message.revision = UInt64(max(0, event.header.revision))
        message.timestampUnixMs = event.header.timestampMs
        message.projectId = event.header.projectID
        message.sequence = event.header.sequence
        if let actor = event.header.actor {
            message.actorUserId = actor.id
            message.actorUserName = actor.name
        }
        switch event.payload {
        case .snapshot(let project, let members, let watchers, let resync):
            var snapshot = ProjectSnapshot()
            var stated = Project(project)
            stated.stats?.revision = message.revision
            snapshot.project = stated
            snapshot.members = members.map(ProjectMember.init)
            snapshot.watchers = watchers.map(CellHubProto.UserRef.init)
            snapshot.resync = resync
            message.kind = .snapshot
            message.payload = .snapshot(snapshot)
        case .caughtUp(let replayed, let lost):
            message.kind = .caughtUp
            message.payload = .caughtUp(CaughtUp(replayed: replayed, positionLost: lost))
        case .statsUpdate(let update):
            var payload = ProjectStatsUpdate()
            var stats = CellHubProto.ProjectStats(update.counters)
            stats.revision = message.revision  // exact at the envelope's revision
            payload.stats = stats
            payload.operations = update.causes.map { cause in
                var summary = CellHubProto.OperationSummary()
                summary.operation = CellHubProto.StatsOperation(rawValue: Int32(cause.cause.rawValue))
                summary.operationCount = cause.changeCount
                summary.imageCount = cause.imageCount
                return summary
            }
            payload.affectedImages = update.affected.totalCount > 0 ? CellHubProto.AffectedImages(update.affected) : nil
            payload.firstRevision = UInt64(max(0, update.firstRevision))
            payload.changeCount = update.changeCount
            message.kind = .projectStatsUpdate
            message.payload = .statsUpdate(payload)
        case .imageCountChange(let previous, let new, let added):
            var payload = ProjectImageCountChange()
            payload.previousImageCount = previous
            payload.newImageCount = new
            payload.changeType = added ? .added : .removed
            message.kind = .projectImageCountChange
            message.payload = .imageCountChange(payload)
        case .imageDeleted(let id, let name, let size, let status):
            var payload = ImageDeleted()
            payload.imageId = id
            payload.imageName = name
            payload.sizeBytes = size
            payload.previousStatus = status.map(SegmentationStatus.init) ?? .unspecified
            message.kind = .imageDeleted
            message.payload = .imageDeleted(payload)
        case .batchImagesDeleted(let images, let freed):
            var payload = BatchImagesDeleted()
            payload.images = CellHubProto.AffectedImages(images)
            payload.freedBytes = freed
            message.kind = .batchImagesDeleted
            message.payload = .batchImagesDeleted(payload)
        case .segmentationCompleted(let images, let count, let cells, let average):
            var payload = SegmentationCompleted()
            payload.images = CellHubProto.AffectedImages(images)
            payload.completedCount = count
            payload.totalCellCount = cells
            payload.averageProcessingTimeMs = average
            message.kind = .segmentationCompleted
            message.payload = .segmentationCompleted(payload)
        case .segmentationFailed(let images, let count, let reason):
            var payload = SegmentationFailed()
            payload.images = CellHubProto.AffectedImages(images)
            payload.failedCount = count
            payload.lastReason = reason
            message.kind = .segmentationFailed
            message.payload = .segmentationFailed(payload)
        case .projectUpdated(let name, let description, let fields, let updatedAt):
            var payload = CellHubProto.ProjectUpdated()
            payload.name = name
            payload.projectDescription = description
            payload.changedFields = fields
            payload.updatedAtUnixMs = updatedAt
            message.kind = .projectUpdated
            message.payload = .projectUpdated(payload)
        case .sharesChanged(let change, let user, let role, let previousRole, let members):
            var payload = SharesChanged()
            payload.changeType = ShareChangeType(rawValue: Int32(change.rawValue))
            payload.user = CellHubProto.UserRef(user)
            payload.role = Role(role)
            payload.previousRole = Role(previousRole)
            payload.members = members.map(ProjectMember.init)
            message.kind = .sharesChanged
            message.payload = .sharesChanged(payload)
        case .presence(let joined, let user, let watchers):
            var payload = Presence()
            payload.change = joined ? .joined : .left
            payload.user = CellHubProto.UserRef(user)
            payload.watchers = watchers.map(CellHubProto.UserRef.init)
            message.kind = .presence
            message.payload = .presence(payload)
        case .accessRevoked(let by, let left):
            var payload = AccessRevoked()
            payload.revokedBy = CellHubProto.UserRef(by)
            payload.left = left
            message.kind = .accessRevoked
            message.payload = .accessRevoked(payload)
        case .projectDeleted(let name):
            var payload = CellHubProto.ProjectDeleted()
            payload.projectName = name
            message.kind = .projectDeleted
            message.payload = .projectDeleted(payload)
        case .progress:
            message.kind = .progress
            message.payload = .progress(StreamProgress())
        }
        return EventFrame(bytes: message.serializedFrame())
    }

    package func encode(_ event: DashboardStreamEvent) -> EventFrame {
        var message = DashboardEvent()
        message.epoch = epoch
        message.revision = UInt64(max(0, event.header.revision))
        message.timestampUnixMs = event.header.timestampMs
        message.projectId = event.header.projectID
        if let actor = event.header.actor {
            message.actorUserId = actor.id
            message.actorUserName = actor.name
        }
        switch event.payload {
        case .snapshot(let metrics, let resync):
            var snapshot = DashboardSnapshot()
            snapshot.metrics = CellHubProto.DashboardMetrics(metrics)
            snapshot.resync = resync
            message.kind = .snapshot
            message.payload = .snapshot(snapshot)
        case .update(let metrics, let fields):
            var update = DashboardMetricsUpdate()
            update.metrics = CellHubProto.DashboardMetrics(metrics)
            update.changedFields = fields
            message.kind = .dashboardMetricsUpdate
            message.payload = .metricsUpdate(update)
        case .progress:
            message.kind = .progress
            message.payload = .progress(StreamProgress())
        }
        return EventFrame(bytes: message.serializedFrame())
    }

    package func encode(_ event: ActivityStreamEvent) -> EventFrame {
        var message: ActivityEvent
        switch event.payload {
        case .entry(let entry, let recipient):
            message = ActivityEvent(entry, recipient: Caller(userID: recipient.id, name: recipient.name), epoch: epoch)
        case .caughtUp(let replayed, let lost):
            message = ActivityEvent()
            message.kind = .caughtUp
            message.payload = .caughtUp(CaughtUp(replayed: replayed, positionLost: lost))
        case .progress:
            message = ActivityEvent()
            message.kind = .progress
            message.payload = .progress(StreamProgress())
        }
        message.epoch = epoch
        message.revision = UInt64(max(0, event.header.revision))
        message.sequence = event.header.sequence
        if case .entry = event.payload {} else { message.timestampUnixMs = event.header.timestampMs }
        return EventFrame(bytes: message.serializedFrame())
    }
}

extension CaughtUp {
    init(replayed: Int64, positionLost: Bool) {
        self.init()
        replayedCount = replayed
        self.positionLost = positionLost
    }
}

extension CellHubProto.AffectedImages {
    init(_ list: AffectedImageList) {
        self.init()
        imageIds = list.ids
        truncated = list.truncated
        totalCount = list.totalCount
    }
}
