/// A project as one caller sees it, with its counters.
package struct ProjectRecord: Sendable, Hashable {
    package var id: String
    package var owner: UserRef
    package var name: String
    package var description: String
    package var createdAtMs: Int64
    /// Last change to name or description (creation time if never changed).
    package var updatedAtMs: Int64
    /// The caller's role; nil when read without a caller (`project(id:)`).
    package var callerRole: MemberRole?
    /// Members other than the owner.
    package var shareCount: Int
    package var counters: ProjectCounters

    package init(
        id: String, owner: UserRef, name: String, description: String, createdAtMs: Int64, updatedAtMs: Int64, callerRole: MemberRole? = nil, shareCount: Int, counters: ProjectCounters
    ) {
        self.id = id
        self.owner = owner
        self.name = name
        self.description = description
        self.createdAtMs = createdAtMs
        self.updatedAtMs = updatedAtMs
        self.callerRole = callerRole
        self.shareCount = shareCount
        self.counters = counters
    }
}

/// A project's statistics row (`project_counters`), maintained incrementally in the same
/// transaction as every change, so reading it is O(1) and always exact.
package struct ProjectCounters: Sendable, Hashable {
    package var projectID: String
    /// Sum of the five status counts (a CHECK constraint holds the table to it).
    package var imageCount: Int64
    package var noSegmentation: Int64
    package var queued: Int64
    package var processing: Int64
    package var segmented: Int64
    package var failed: Int64
    package var totalBytes: Int64
    /// Most recent upload; not reset when that image is deleted. 0 = never.
    package var lastImageAddedAtMs: Int64
    /// Most recent job completion. 0 = never.
    package var lastSegmentationCompletedAtMs: Int64
    /// Last change to any of these numbers (or project creation).
    package var updatedAtMs: Int64
    /// Event-log revision of that change.
    package var revision: Int64

    /// The count for one status.
    package func count(_ status: ImageStatus) -> Int64 {
        switch status {
        case .noSegmentation: noSegmentation
        case .queued: queued
        case .processing: processing
        case .segmented: segmented
        case .failed: failed
        }
    }

    package init(
        projectID: String, imageCount: Int64, noSegmentation: Int64, queued: Int64, processing: Int64, segmented: Int64, failed: Int64, totalBytes: Int64, lastImageAddedAtMs: Int64, lastSegmentationCompletedAtMs: Int64, updatedAtMs: Int64, revision: Int64
    ) {
        self.projectID = projectID
        self.imageCount = imageCount
        self.noSegmentation = noSegmentation
        self.queued = queued
        self.processing = processing
        self.segmented = segmented
        self.failed = failed
        self.totalBytes = totalBytes
        self.lastImageAddedAtMs = lastImageAddedAtMs
        self.lastSegmentationCompletedAtMs = lastSegmentationCompletedAtMs
        self.updatedAtMs = updatedAtMs
        self.revision = revision
    }
}

/// Which projects `projects(for:)` lists (proto `ProjectFilter`).
package enum ProjectFilter: Sendable, Hashable {
    case all
    case owned
    case shared
}

/// A keyset-paging position in a project list (newest first, ties by id descending): the
/// last project of the previous page. The domain wraps it in its opaque page token.
package struct ProjectCursor: Sendable, Hashable {
    package var createdAtMs: Int64
    package var id: String

    package init(createdAtMs: Int64, id: String) {
        self.createdAtMs = createdAtMs
        self.id = id
    }
}

/// A project field that `updateProject` changed.
package enum ProjectField: String, Sendable, Hashable {
    case name
    case description = "project_description"
}

/// `createProject`'s result.
package struct ProjectCreated: Sendable, Hashable {
    /// The new project (caller role owner, zero counters at `revision`).
    package var project: ProjectRecord
    package var revision: Int64

    package init(
        project: ProjectRecord, revision: Int64
    ) {
        self.project = project
        self.revision = revision
    }
}

/// `updateProject`'s result.
package struct ProjectUpdated: Sendable, Hashable {
    /// The project after the update (callerRole nil).
    package var project: ProjectRecord
    /// Fields whose value changed, in declaration order; empty = nothing changed.
    package var changedFields: [ProjectField]
    /// nil when nothing changed (no event).
    package var revision: Int64?

    package init(
        project: ProjectRecord, changedFields: [ProjectField], revision: Int64? = nil
    ) {
        self.project = project
        self.changedFields = changedFields
        self.revision = revision
    }
}

/// `deleteProject`'s result.
package struct ProjectDeleted: Sendable, Hashable {
    /// The project as it was just before deletion (callerRole nil).
    package var project: ProjectRecord
    /// Every member it had, owner first: the users whose dashboards and streams change.
    package var formerMembers: [MemberRecord]
    package var deletedImageCount: Int64
    /// Queued and processing jobs cancelled (their rows go with the project).
    package var cancelledJobs: [CancelledJob]
    /// Content hashes no image references any more: delete their files after the commit.
    package var orphanedBlobs: [String]
    package var revision: Int64

    package init(
        project: ProjectRecord, formerMembers: [MemberRecord], deletedImageCount: Int64, cancelledJobs: [CancelledJob], orphanedBlobs: [String], revision: Int64
    ) {
        self.project = project
        self.formerMembers = formerMembers
        self.deletedImageCount = deletedImageCount
        self.cancelledJobs = cancelledJobs
        self.orphanedBlobs = orphanedBlobs
        self.revision = revision
    }
}
