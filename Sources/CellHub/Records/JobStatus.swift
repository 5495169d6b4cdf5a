/// A segmentation job's status. Raw values are the numbers of `cellhub.v1.JobStatus`
/// (UNSPECIFIED = 0 has no case) and are what `segmentation_jobs.status` stores.
package enum JobStatus: Int64, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Waiting in the queue (also after a retryable failure or lease expiry).
    case queued = 1
    /// Leased to a worker.
    case processing = 2
    /// Finished with a result.
    case completed = 3
    /// Finished without a result.
    case failed = 4
    /// Cancelled by a user, or its image or project was deleted.
    case cancelled = 5

    /// Queued or processing: the job still holds its image in QUEUED/PROCESSING.
    package var isOpen: Bool { self == .queued || self == .processing }

    package var description: String {
        switch self {
        case .queued: "queued"
        case .processing: "processing"
        case .completed: "completed"
        case .failed: "failed"
        case .cancelled: "cancelled"
        }
    }

    /// Decodes a stored value (CHECK-constrained, so anything else is corruption).
    package static func stored(_ value: Int64) -> JobStatus {
        guard let status = JobStatus(rawValue: value) else {
            preconditionFailure("segmentation_jobs.status \(value) violates its CHECK constraint: corrupt database")
        }
        return status
    }
}
