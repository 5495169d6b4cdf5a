
/// Why a call could not be authenticated.
package enum AuthError: DomainError, Equatable {
    /// Missing, malformed, unknown or revoked token (the message does not say which).
    case unauthenticated
    /// A worker-only call by a token that is not flagged as a worker.
    case permissionDenied(String)
    /// The store failed.
    case `internal`(underlying: InternalFault)

    package var code: DomainErrorCode {
        switch self {
        case .unauthenticated: .unauthenticated
        case .permissionDenied: .permissionDenied
        case .internal: .internal
        }
    }

    package var message: String {
        switch self {
        case .unauthenticated: "missing, unknown or revoked token"
        case .permissionDenied(let message): message
        case .internal: "internal error"
        }
    }
}
