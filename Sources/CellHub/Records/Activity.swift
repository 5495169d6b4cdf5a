/// Which of the four activity-feed entries a row is (proto `ActivityEvent` payload cases).
package enum ActivityEntryKind: Int64, Sendable, Hashable, CaseIterable {
    /// Something the recipient did (USER_ACTIVITY_UPDATE).
    case ownAction = 1
    /// Someone else changed a project the recipient is a member of (SHARED_PROJECT_UPDATE).
    case sharedProjectUpdate = 2
    /// The recipient was given access, or their role changed (PROJECT_SHARED_WITH_YOU).
    case projectSharedWithYou = 3
    /// The recipient lost access: revoked, or they left (SHARE_REVOKED).
    case shareRevoked = 4
}

/// What an entry is about; raw values are the proto `ActivityType` numbers and are stored.
package enum ActivityKind: Int64, Sendable, Hashable, CaseIterable {
    /// Share grants and revocations carry no activity type.
    case none = 0
    case projectCreated = 1
    case imagesUploaded = 2
    case imagesDeleted = 3
    /// Every job of a segmentation batch finished.
    case segmentationCompleted = 4
    case projectShared = 5
    case projectUpdated = 6
    case projectDeleted = 7
}

/// One entry of a user's activity feed, written in the transaction of the change it
/// describes (one per recipient and operation) and kept after the project is gone.
package struct ActivityEntry: Sendable, Hashable {
    /// Whose feed it is in.
    package var recipientID: String
    /// The change's event-log revision.
    package var revision: Int64
    package var committedAtMs: Int64
    package var kind: ActivityEntryKind
    package var activity: ActivityKind
    package var projectID: String
    /// The project's name at the time (the new name for an update).
    package var projectName: String
    package var owner: UserRef
    /// Who acted; nil for system changes (a batch finished by workers).
    package var actor: UserRef?
    /// Images uploaded, deleted or segmented (else 0).
    package var imageCount: Int64 = 0
    /// Up to five image names of an upload or delete.
    package var sampleImageNames: [String] = []
    /// Jobs of a finished batch that ended FAILED, and enqueue-to-finish time.
    package var failedCount: Int64 = 0
    package var durationMs: Int64 = 0
    /// The sharee of a PROJECT_SHARED entry.
    package var sharedWith: UserRef?
    /// The role granted (shares), or the role held before a revocation.
    package var role: MemberRole?
    /// The role before a grant changed it; nil for a new share.
    package var previousRole: MemberRole?
    /// A revocation the recipient did themselves (leave).
    package var left: Bool = false
    /// The project's counters after the change, for entries that carry stats.
    package var counters: ProjectCounters?
    /// Which of the recipient's entries of `revision` this is (1, 2, ...; 0 = not read).
    package var sequence: UInt32 = 0

    /// Sample names kept per entry (proto: up to 5).
    package static let maxSampleNames = 5

    package init(
        recipientID: String, revision: Int64, committedAtMs: Int64, kind: ActivityEntryKind, activity: ActivityKind, projectID: String, projectName: String, owner: UserRef, actor: UserRef? = nil, imageCount: Int64 = 0, sampleImageNames: [String] = [], failedCount: Int64 = 0, durationMs: Int64 = 0, sharedWith: UserRef? = nil, role: MemberRole? = nil, previousRole: MemberRole? = nil, left: Bool = false, counters: ProjectCounters? = nil, sequence: UInt32 = 0
    ) {
        self.recipientID = recipientID
        self.revision = revision
        self.committedAtMs = committedAtMs
        self.kind = kind
        self.activity = activity
        self.projectID = projectID
        self.projectName = projectName
        self.owner = owner
        self.actor = actor
        self.imageCount = imageCount
        self.sampleImageNames = sampleImageNames
        self.failedCount = failedCount
        self.durationMs = durationMs
        self.sharedWith = sharedWith
        self.role = role
        self.previousRole = previousRole
        self.left = left
        self.counters = counters
        self.sequence = sequence
    }
}

/// Where a page of a feed ends: the next page starts below this entry (its insertion
/// sequence, which orders entries as their revisions do).
package typealias ActivityCursor = Int64
