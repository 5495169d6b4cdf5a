/// One image to insert. The content is already stored by the caller under `sha256Hex`
/// (content-addressed file written and fsynced before the transaction).
package struct NewImage: Sendable, Hashable {
    package var name: String
    package var contentType: String
    package var sizeBytes: Int64
    /// 64 lowercase hex characters.
    package var sha256Hex: String

    package init(name: String, contentType: String, sizeBytes: Int64, sha256Hex: String) {
        self.name = name
        self.contentType = contentType
        self.sizeBytes = sizeBytes
        self.sha256Hex = sha256Hex
    }
}

/// An image's metadata as stored.
package struct ImageRecord: Sendable, Hashable {
    package var id: String
    package var projectID: String
    package var name: String
    package var contentType: String
    package var sizeBytes: Int64
    package var sha256Hex: String
    package var status: ImageStatus
    package var uploadedAtMs: Int64
    package var uploadedBy: UserRef
    package var statusChangedAtMs: Int64
    /// Last successful segmentation; 0 = never.
    package var segmentedAtMs: Int64
    /// Current (queued/processing) or most recent job; nil = never queued.
    package var jobID: String?
    /// Cell count of the current result; 0 without one.
    package var cellCount: Int64
    /// Reason of the last failure while FAILED, else "".
    package var failureReason: String

    package init(
        id: String, projectID: String, name: String, contentType: String, sizeBytes: Int64, sha256Hex: String, status: ImageStatus, uploadedAtMs: Int64, uploadedBy: UserRef, statusChangedAtMs: Int64, segmentedAtMs: Int64, jobID: String? = nil, cellCount: Int64, failureReason: String
    ) {
        self.id = id
        self.projectID = projectID
        self.name = name
        self.contentType = contentType
        self.sizeBytes = sizeBytes
        self.sha256Hex = sha256Hex
        self.status = status
        self.uploadedAtMs = uploadedAtMs
        self.uploadedBy = uploadedBy
        self.statusChangedAtMs = statusChangedAtMs
        self.segmentedAtMs = segmentedAtMs
        self.jobID = jobID
        self.cellCount = cellCount
        self.failureReason = failureReason
    }
}

/// A keyset-paging position in an image list (newest upload first, ties by id descending):
/// the last image of the previous page.
package struct ImageCursor: Sendable, Hashable {
    package var uploadedAtMs: Int64
    package var id: String

    package init(uploadedAtMs: Int64, id: String) {
        self.uploadedAtMs = uploadedAtMs
        self.id = id
    }
}

/// A client's idempotency key for an upload, with a hash of the request it was first used for.
package struct IdempotencyKey: Sendable, Hashable {
    /// The client's key (per user and project).
    package var key: String
    /// A digest of the request (the domain's choice, e.g. SHA-256 over names, types and
    /// content hashes): the same key with another request is refused.
    package var requestHash: [UInt8]

    package init(key: String, requestHash: [UInt8]) {
        self.key = key
        self.requestHash = requestHash
    }
}

/// `uploadImages`'s result.
package enum UploadResult: Sendable, Hashable {
    /// The images were inserted.
    case stored(ImagesUploaded)
    /// The idempotency key was used before for the same request: the response bytes stored
    /// then (as encoded by the domain); nothing changed and no event was appended.
    case replayed(response: [UInt8])
}

/// A stored upload.
package struct ImagesUploaded: Sendable, Hashable {
    /// The new images, in request order.
    package var images: [ImageRecord]
    /// image_count before the upload.
    package var previousImageCount: Int64
    /// The counters after it (revision = `revision`).
    package var counters: ProjectCounters
    package var revision: Int64

    package init(
        images: [ImageRecord], previousImageCount: Int64, counters: ProjectCounters, revision: Int64
    ) {
        self.images = images
        self.previousImageCount = previousImageCount
        self.counters = counters
        self.revision = revision
    }
}

/// `deleteImage`'s and `deleteImages`' result.
package struct ImagesDeleted: Sendable, Hashable {
    package var projectID: String
    /// The deleted images as they were, in request order.
    package var deleted: [ImageRecord]
    /// Requested ids that are not (or no longer) images of the project, in request order.
    package var missingIDs: [String]
    package var freedBytes: Int64
    package var previousImageCount: Int64
    /// The counters after the deletion (unchanged when nothing was deleted).
    package var counters: ProjectCounters
    /// Queued/processing jobs of the deleted images, now cancelled: tell their workers.
    package var cancelledJobs: [CancelledJob]
    /// Content hashes no image references any more: delete their files after the commit.
    package var orphanedBlobs: [String]
    /// nil when nothing was deleted (no event).
    package var revision: Int64?

    package init(
        projectID: String, deleted: [ImageRecord], missingIDs: [String], freedBytes: Int64, previousImageCount: Int64, counters: ProjectCounters, cancelledJobs: [CancelledJob], orphanedBlobs: [String], revision: Int64? = nil
    ) {
        self.projectID = projectID
        self.deleted = deleted
        self.missingIDs = missingIDs
        self.freedBytes = freedBytes
        self.previousImageCount = previousImageCount
        self.counters = counters
        self.cancelledJobs = cancelledJobs
        self.orphanedBlobs = orphanedBlobs
        self.revision = revision
    }
}
