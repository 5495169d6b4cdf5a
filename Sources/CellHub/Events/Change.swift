/// One committed change as the streams see it: the event-log row's facts, decoded from its
/// payload. Every stream event about a change is built from this alone (live, and again
/// when a stream replays it), so nothing depends on state that changed since.
package struct Change: Sendable, Hashable {
    package var revision: Int64
    package var committedAtMs: Int64
    package var kind: ChangeKind
    /// The project the row names; nil for user changes and operations spanning projects
    /// (their images and jobs name theirs).
    package var projectID: String?
    /// Who acted; nil for system changes (worker results, lease expiry).
    package var actorID: String?
    /// Images uploaded, deleted, queued or cancelled, in operation order.
    package var images: [ChangedImage] = []
    /// Worker-side changes: one entry per job claimed, completed, failed or re-queued.
    package var jobs: [ChangedJob] = []
    /// Queue operations: the jobs created or cancelled (a delete's or project deletion's
    /// cancelled jobs too).
    package var jobIDs: [String] = []
    /// Counters of each project touched, after the change (none for a deleted project).
    package var stats: [ProjectCounters] = []
    /// image_count before the change (uploads, deletes, project deletion).
    package var previousImageCount: Int64 = 0
    /// Bytes added (uploads) or freed (deletes).
    package var bytes: Int64 = 0
    /// The users concerned besides the actor: the sharee, the revoked member, every former
    /// member of a deleted project, the revoked user.
    package var users: [UserRef] = []
    /// Shares: the role now (grant) or held (revocation), and the role before a grant.
    package var role: MemberRole?
    package var previousRole: MemberRole?
    /// Revocation: the member left.
    package var left = false
    /// Project changes: name and description after (before, for a deletion).
    package var projectName = ""
    package var projectDescription = ""
    /// Which fields an update changed ("name", "project_description").
    package var changedFields: [String] = []
    /// Share changes: every member after, owner first.
    package var members: [MemberRecord] = []
    package var batchID = ""

    package init(revision: Int64, committedAtMs: Int64, kind: ChangeKind, projectID: String?, actorID: String?) {
        self.revision = revision
        self.committedAtMs = committedAtMs
        self.kind = kind
        self.projectID = projectID
        self.actorID = actorID
    }

    /// Every project the change touched: the row's, and those its images, jobs and stats name.
    package var projectIDs: [String] {
        var seen: Set<String> = []
        var ids: [String] = []
        for id in [projectID].compactMap({ $0 }) + stats.map(\.projectID) + images.compactMap(\.projectID) + jobs.map(\.projectID)
        where seen.insert(id).inserted {
            ids.append(id)
        }
        return ids
    }
}

/// One image a change affected.
package struct ChangedImage: Sendable, Hashable {
    package var id: String
    /// Its name (uploads and deletes; else "").
    package var name = ""
    /// Deletes: its size and its status just before.
    package var sizeBytes: Int64 = 0
    package var previousStatus: ImageStatus?
    /// Set when the change spans projects.
    package var projectID: String?

    package init(id: String, name: String = "", sizeBytes: Int64 = 0, previousStatus: ImageStatus? = nil, projectID: String? = nil) {
        self.id = id
        self.name = name
        self.sizeBytes = sizeBytes
        self.previousStatus = previousStatus
        self.projectID = projectID
    }
}

/// One job of a worker-side change.
package struct ChangedJob: Sendable, Hashable {
    /// How the job fared.
    package enum Outcome: Sendable, Hashable {
        case started
        case completed(cellCount: Int64, processingMs: Int64)
        case failed(reason: String)
        case requeued(reason: String)
    }

    package var jobID: String
    package var imageID: String
    package var projectID: String
    package var outcome: Outcome

    package init(jobID: String, imageID: String, projectID: String, outcome: Outcome) {
        self.jobID = jobID
        self.imageID = imageID
        self.projectID = projectID
        self.outcome = outcome
    }
}

/// Turns an event-log row's payload back into a `Change` (CellHubServer reads the
/// `ChangeRecord`s it wrote). Nil for a row it cannot read: the hub logs and skips it.
package protocol ChangeDecoding: Sendable {
    func decode(_ event: StoredEvent) -> Change?
}
