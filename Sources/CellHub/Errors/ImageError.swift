
/// Why an image operation failed (ImageService RPCs).
package enum ImageError: DomainError, Equatable {
    /// A malformed request; for uploads the message names the offending image's index.
    case invalidArgument(String)
    /// No such project or image (or not visible to the caller).
    case notFound(String)
    /// The project is visible but the caller's role is below `required`.
    case permissionDenied(required: MemberRole)
    /// The idempotency key was already used for a different request.
    case failedPrecondition(String)
    /// The request is over the per-call size limit.
    case resourceExhausted(String)
    /// The store or the blob files failed (details for the log only).
    case `internal`(underlying: InternalFault)

    package var code: DomainErrorCode {
        switch self {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .permissionDenied: .permissionDenied
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
        case .internal: "internal error"
        }
    }
}

extension ImageError: AccessRefusal {
    /// The one translation of store failures for this area.
    init(_ error: StoreError) {
        switch error {
        case .notFound(let entity, let id): self = .notFound("\(entity.rawValue) \(id) not found")
        case .imagesNotFound(let ids):
            self = .notFound("\(ids.count) image(s) are not images of this project, first \(ids.first ?? "")")
        case .idempotencyKeyReused(let key):
            self = .failedPrecondition("idempotency_key '\(key)' was already used for a different request")
        case .userNameTaken, .projectNameTaken, .ownerMembership, .jobFinished, .lease, .queueFull,
             .unknownMigration, .database:
            self = .internal(underlying: InternalFault(error))
        }
    }
}
