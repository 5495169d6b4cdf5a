import CellHubProto

/// The events the floor server pushes: a PROJECT_STATS_UPDATE shaped like the one cellhubd
/// sends after one upload of one image into a project without segmentations (UUID ids, the
/// stats, one operation, one affected image: within a few bytes of cellhubd's), and the
/// CAUGHT_UP that tells a subscriber it is registered.
enum SampleEvents {
    static let epoch = "7f3c2a1e-5b9d-4c8e-a1f2-3d4e5f6a7b8c"
    static let projectID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
    static let actorID = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
    static let imageID = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"
    static let nowMs: Int64 = 1_760_000_000_000

    static let statsUpdate: ProjectEvent = {
        var stats = ProjectStats()
        stats.projectId = projectID
        stats.imageCount = 42
        stats.noSegmentationCount = 42
        stats.totalBytes = 2_814
        stats.lastImageAddedAtUnixMs = nowMs
        stats.updatedAtUnixMs = nowMs
        stats.revision = 123_456
        var operation = OperationSummary()
        operation.operation = .imagesUploaded
        operation.operationCount = 1
        operation.imageCount = 1
        var affected = AffectedImages()
        affected.imageIds = [imageID]
        affected.totalCount = 1
        var update = ProjectStatsUpdate()
        update.stats = stats
        update.operations = [operation]
        update.affectedImages = affected
        update.firstRevision = 123_456
        update.changeCount = 1
        var event = ProjectEvent()
        event.epoch = epoch
        event.revision = 123_456
        event.timestampUnixMs = nowMs
        event.projectId = projectID
        event.actorUserId = actorID
        event.actorUserName = "owner"
        event.kind = .projectStatsUpdate
        event.payload = .statsUpdate(update)
        return event
    }()

    static let caughtUp: ProjectEvent = {
        var event = ProjectEvent()
        event.epoch = epoch
        event.revision = 123_455
        event.timestampUnixMs = nowMs
        event.projectId = projectID
        event.kind = .caughtUp
        event.payload = .caughtUp(CaughtUp())
        return event
    }()
}
