
/// An image's metadata as the API returns it (proto `Image`). A domain type rather than the
/// store's record because upload replays decode it from the bytes stored with the
/// idempotency key.
package struct ImageMetadata: Sendable, Hashable {
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
    /// 0 = never segmented.
    package var segmentedAtMs: Int64
    /// "" = never queued.
    package var jobID: String
    package var cellCount: Int64
    package var failureReason: String

    package init(_ record: ImageRecord) {
        id = record.id
        projectID = record.projectID
        name = record.name
        contentType = record.contentType
        sizeBytes = record.sizeBytes
        sha256Hex = record.sha256Hex
        status = record.status
        uploadedAtMs = record.uploadedAtMs
        uploadedBy = record.uploadedBy
        statusChangedAtMs = record.statusChangedAtMs
        segmentedAtMs = record.segmentedAtMs
        jobID = record.jobID ?? ""
        cellCount = record.cellCount
        failureReason = record.failureReason
    }

    init(
        id: String, projectID: String, name: String, contentType: String, sizeBytes: Int64, sha256Hex: String,
        status: ImageStatus, uploadedAtMs: Int64, uploadedBy: UserRef, statusChangedAtMs: Int64,
        segmentedAtMs: Int64, jobID: String, cellCount: Int64, failureReason: String
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
