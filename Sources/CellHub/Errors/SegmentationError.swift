
/// Why a segmentation queue operation failed (SegmentationService client RPCs).
package enum SegmentationError: DomainError, Equatable {
    case invalidArgument(String)
    /// No such project, image, job or batch (or not visible to the caller).
    case notFound(String)
    case permissionDenied(required: MemberRole)
    /// A worker RPC called with a token that is not a worker's.
    case workerOnly
    /// E.g. cancelling a job that already finished.
    case failedPrecondition(String)
    /// The service-wide queue limit would be exceeded.
    case resourceExhausted(String)
    case `internal`(underlying: InternalFault)

    package var code: DomainErrorCode {
        switch self {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .permissionDenied, .workerOnly: .permissionDenied
        case .failedPrecondition: .failedPrecondition
        case .resourceExhausted: .resourceExhausted
        case .internal: .internal
        }
    }

    package var message: String {
        switch self {
        case .invalidArgument(let message), .notFound(let message), .failedPrecondition(let message),
             .resourceExhausted(let message):
            message
        case .permissionDenied(let required): "this requires the \(required.rawValue) role on the project"
        case .workerOnly: "only a worker token may call this (cellhubd users add NAME --worker)"
        case .internal: "internal error"
        }
    }
}

extension SegmentationError: AccessRefusal {
    /// The one translation of store failures for this area.
    init(_ error: StoreError) {
        switch error {
        case .notFound(let entity, let id): self = .notFound("\(entity.rawValue) \(id) not found")
        case .imagesNotFound(let ids):
            self = .notFound("\(ids.count) image(s) are not images of this project, first \(ids.first ?? "")")
        case .jobFinished(let jobID, let status): self = .failedPrecondition("job \(jobID) already finished (\(status))")
        case .queueFull(let limit): self = .resourceExhausted("the segmentation queue is full (limit \(limit) jobs)")
        case .lease(let jobID, .unknownLease): self = .notFound("no such lease on job \(jobID)")
        case .lease(let jobID, .expired): self = .failedPrecondition("the lease on job \(jobID) expired; discard the result")
        case .lease(let jobID, .superseded):
            self = .failedPrecondition("the lease is no longer job \(jobID)'s (it expired and the job was retried); discard the result")
        case .lease(let jobID, .jobCancelled):
            self = .failedPrecondition("job \(jobID) was cancelled (or its image deleted); discard the result")
        case .lease(let jobID, .jobFinished): self = .failedPrecondition("job \(jobID) already finished")
        case .userNameTaken, .projectNameTaken, .ownerMembership, .idempotencyKeyReused,
             .unknownMigration, .database:
            self = .internal(underlying: InternalFault(error))
        }
    }
}
