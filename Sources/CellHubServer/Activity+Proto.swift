import CellHub
import CellHubProto
import CellHubStore

extension ActivityEvent {
    /// A stored feed entry as its activity-stream envelope (also what ListActivity returns).
    /// - Parameter recipient: the feed's owner, the actor of their own entries.
    init(_ entry: ActivityEntry, recipient: Caller, epoch: String) {
        self.init()
        self.epoch = epoch
        revision = UInt64(max(0, entry.revision))
        sequence = entry.sequence
        timestampUnixMs = entry.committedAtMs
        projectId = entry.projectID
        let owner = CellHubProto.UserRef(entry.owner)
        let stats = entry.counters.map { CellHubProto.ProjectStats($0) }
        switch entry.kind {
        case .ownAction:
            // USER_ACTIVITY_UPDATE: the actor is the recipient, also for a batch the workers finished.
            actorUserId = recipient.userID
            actorUserName = recipient.name
            kind = .userActivityUpdate
            var update = UserActivityUpdate()
            update.activityType = ActivityType(entry.activity)
            update.projectName = entry.projectName
            update.imageCount = entry.imageCount
            update.sampleImageNames = entry.sampleImageNames
            update.failedCount = entry.failedCount
            update.durationMs = entry.durationMs
            update.sharedWith = entry.sharedWith.map(CellHubProto.UserRef.init)
            if entry.sharedWith != nil { update.sharedRole = Role(entry.role) }
            payload = .userActivity(update)
        case .sharedProjectUpdate:
            setActor(entry.actor)
            kind = .sharedProjectUpdate
            var update = SharedProjectUpdate()
            update.owner = owner
            update.projectName = entry.projectName
            update.updateType = ActivityType(entry.activity)
            update.stats = stats
            update.imageCount = entry.imageCount
            update.sampleImageNames = entry.sampleImageNames
            payload = .sharedProjectUpdate(update)
        case .projectSharedWithYou:
            setActor(entry.actor)
            kind = .projectSharedWithYou
            var shared = ProjectSharedWithYou()
            shared.projectName = entry.projectName
            shared.owner = owner
            shared.role = Role(entry.role)
            shared.previousRole = Role(entry.previousRole)
            shared.stats = stats
            payload = .projectSharedWithYou(shared)
        case .shareRevoked:
            setActor(entry.actor)
            kind = .shareRevoked
            var revoked = CellHubProto.ShareRevoked()
            revoked.projectName = entry.projectName
            revoked.owner = owner
            revoked.previousRole = Role(entry.role)
            revoked.left = entry.left
            payload = .shareRevoked(revoked)
        }
    }

    private mutating func setActor(_ actor: CellHub.UserRef?) {
        actorUserId = actor?.id ?? ""
        actorUserName = actor?.name ?? ""
    }
}

extension ActivityType {
    init(_ activity: ActivityKind) {
        self = switch activity {
        case .none: .unspecified
        case .projectCreated: .projectCreated
        case .imagesUploaded: .imagesUploaded
        case .imagesDeleted: .imagesDeleted
        case .segmentationCompleted: .segmentationCompleted
        case .projectShared: .projectShared
        case .projectUpdated: .projectUpdated
        case .projectDeleted: .projectDeleted
        }
    }
}
