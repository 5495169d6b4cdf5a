/// An image's segmentation status. Raw values are the numbers of `cellhub.v1.SegmentationStatus`
/// (UNSPECIFIED = 0 has no case: every stored image has a status), and are what the `images.status`
/// column stores, so the domain maps with `ImageStatus(rawValue: Int64(proto.rawValue))` and back.
package enum ImageStatus: Int64, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Uploaded and not queued, or its job was cancelled.
    case noSegmentation = 1
    /// A job waits in the queue.
    case queued = 2
    /// A worker holds a lease on its job.
    case processing = 3
    /// The last job completed with a result.
    case segmented = 4
    /// The last job failed permanently.
    case failed = 5

    package var description: String {
        switch self {
        case .noSegmentation: "no_segmentation"
        case .queued: "queued"
        case .processing: "processing"
        case .segmented: "segmented"
        case .failed: "failed"
        }
    }

    /// Decodes a stored value. The column has a CHECK constraint, so anything else means the
    /// file was written by something other than this store.
    package static func stored(_ value: Int64) -> ImageStatus {
        guard let status = ImageStatus(rawValue: value) else {
            preconditionFailure("images.status \(value) violates its CHECK constraint: corrupt database")
        }
        return status
    }
}
