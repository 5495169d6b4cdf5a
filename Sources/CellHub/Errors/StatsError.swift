
/// Why a stats read failed (StatsService unary RPCs).
package enum StatsError: DomainError, Equatable {
    /// Bad id or unknown time zone.
    case invalidArgument(String)
    /// No such project (or not visible to the caller).
    case notFound(String)
    case `internal`(underlying: InternalFault)

    package var code: DomainErrorCode {
        switch self {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .internal: .internal
        }
    }

    package var message: String {
        switch self {
        case .invalidArgument(let message), .notFound(let message): message
        case .internal: "internal error"
        }
    }
}

extension StatsError {
    init(_ access: AccessError) {
        switch access {
        case .invalidArgument(let message): self = .invalidArgument(message)
        case .notFound(let message): self = .notFound(message)
        // Viewer is the lowest role, so a stats read is never denied once visible.
        case .permissionDenied: self = .notFound("project not found")
        case .internal(let underlying): self = .internal(underlying: underlying)
        }
    }

    /// The one translation of store failures for this area.
    init(_ error: StoreError) {
        switch error {
        case .notFound(let entity, let id): self = .notFound("\(entity.rawValue) \(id) not found")
        case .userNameTaken, .projectNameTaken, .ownerMembership, .idempotencyKeyReused, .imagesNotFound,
             .jobFinished, .lease, .queueFull, .unknownMigration, .database:
            self = .internal(underlying: InternalFault(error))
        }
    }
}

extension ProjectAccess {
    /// The check of every stats read: a well-formed project id the caller can see (any role).
    func viewableProject(_ projectID: String, caller: Caller) throws(StatsError) -> (id: String, role: MemberRole) {
        let id: String
        do {
            id = try Validation.id(projectID, field: "project_id")
        } catch {
            throw .invalidArgument(error.message)
        }
        do {
            return (id, try requireRole(.viewer, projectID: id, caller: caller))
        } catch {
            throw StatsError(error)
        }
    }
}
