
/// Why a project or sharing operation failed (ProjectService RPCs).
package enum ProjectError: DomainError, Equatable {
    /// A malformed request: the message says what is wrong.
    case invalidArgument(String)
    /// No such project (or not visible to the caller: the two are indistinguishable), user
    /// or member; the message names which.
    case notFound(String)
    /// The project is visible but the caller's role is below `required`.
    case permissionDenied(required: MemberRole)
    /// The owner already has a project with this name.
    case alreadyExists(String)
    /// The store failed (details for the log only).
    case `internal`(underlying: InternalFault)

    package var code: DomainErrorCode {
        switch self {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .permissionDenied: .permissionDenied
        case .alreadyExists: .alreadyExists
        case .internal: .internal
        }
    }

    package var message: String {
        switch self {
        case .invalidArgument(let message), .notFound(let message), .alreadyExists(let message): message
        case .permissionDenied(let required): "this requires the \(required.rawValue) role on the project"
        case .internal: "internal error"
        }
    }
}

extension ProjectError: AccessRefusal {
    /// The one translation of store failures for this area.
    init(_ error: StoreError) {
        switch error {
        case .notFound(let entity, let id): self = .notFound(Self.notFoundMessage(entity, id))
        case .projectNameTaken(let name): self = .alreadyExists("you already have a project named \(Validation.quoted(name, maxBytes: 256))")
        case .ownerMembership: self = .invalidArgument("the grantee is the project's owner")
        case .userNameTaken, .idempotencyKeyReused, .imagesNotFound, .jobFinished, .lease, .queueFull,
             .unknownMigration, .database:
            self = .internal(underlying: InternalFault(error))
        }
    }

    static func notFoundMessage(_ entity: StoreError.Entity, _ id: String) -> String {
        switch entity {
        case .member: "user \(id) is not a member of the project"
        default: "\(entity.rawValue) \(id) not found"
        }
    }
}
