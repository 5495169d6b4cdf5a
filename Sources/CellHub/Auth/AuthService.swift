
/// Turns a bearer token into the `Caller` it belongs to.
///
/// The shape is checked before any lookup (a malformed token never reaches SQLite); only the
/// token's SHA-256 is looked up, so the raw token is never stored or compared.
package final class AuthService: Sendable {
    private let store: any UserRepository

    package init(store: any UserRepository) { self.store = store }

    /// The caller owning an active token. Malformed, unknown and revoked tokens are all
    /// `unauthenticated`, with the same message.
    package func authenticate(token: String) throws(AuthError) -> Caller {
        guard APIToken.isWellFormed(token) else { throw .unauthenticated }
        let user: UserRecord?
        do {
            user = try store.user(tokenHash: APIToken.hash(token))
        } catch {
            throw .internal(underlying: InternalFault(error))
        }
        guard let user else { throw .unauthenticated }
        return Caller(userID: user.id, name: user.name, isWorker: user.isWorker)
    }

    /// The caller named by an `authorization` metadata value, `Bearer <token>` (scheme
    /// case-insensitive, as RFC 7235 says). Missing or another scheme: `unauthenticated`.
    package func authenticate(authorization: String?) throws(AuthError) -> Caller {
        guard let authorization else { throw .unauthenticated }
        let prefix = "bearer "
        guard authorization.utf8.count > prefix.utf8.count,
              String(authorization.prefix(prefix.count)).lowercased() == prefix
        else { throw .unauthenticated }
        var token = Substring(authorization.dropFirst(prefix.count))
        while token.first == " " { token = token.dropFirst() }
        while token.last == " " { token = token.dropLast() }
        return try authenticate(token: String(token))
    }

    /// The caller, if it may act as a worker (ClaimJobs and the lease calls).
    package func requireWorker(_ caller: Caller) throws(AuthError) {
        guard caller.isWorker else { throw .permissionDenied("this call needs a worker token") }
    }
}
