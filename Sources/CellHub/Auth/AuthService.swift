import CellHubCrypto

/// Turns a bearer token into the `Caller` it belongs to.
///
/// The shape is checked before any lookup (a malformed token never reaches SQLite); only the
/// token's SHA-256 is looked up, so the raw token is never stored or compared. Callers found
/// are kept in memory by that hash — so most calls authenticate without the store — for as
/// long as the store's credentials generation stays the same: any revocation, by any
/// process, empties the cache before the next call is checked.
package final class AuthService: Sendable {
    private let store: any UserRepository
    private let callers = GenerationCache<SHA256.Digest, Caller>(limit: AuthService.cacheLimit)
    /// Callers cached at most (then the cache starts over).
    static let cacheLimit = 10_000

    package init(store: any UserRepository) { self.store = store }

    /// Moves after every revocation, by any process: a caller found under one value is
    /// good until it changes.
    package var credentialsGeneration: UInt64 { store.credentialsGeneration }

    /// The caller owning an active token. Malformed, unknown and revoked tokens are all
    /// `unauthenticated`, with the same message.
    package func authenticate(token: String) throws(AuthError) -> Caller {
        guard APIToken.isWellFormed(token) else { throw .unauthenticated }
        let digest = APIToken.digest(token)
        // Read before the lookup: a revocation committed after it changes the generation,
        // so what this lookup finds is not kept past it.
        let generation = store.credentialsGeneration
        if let caller = callers.value(digest, generation: generation) { return caller }
        let user: UserRecord?
        do {
            user = try store.user(tokenHash: digest.bytes)
        } catch {
            throw .internal(underlying: InternalFault(error))
        }
        guard let user else { throw .unauthenticated }
        let caller = Caller(userID: user.id, name: user.name, isWorker: user.isWorker)
        callers.insert(caller, for: digest, generation: generation)
        return caller
    }

    /// The caller of a token seen before and not revoked since, without the store; nil when
    /// it needs a lookup (`authenticate`). Never blocks for long: fit for an event loop.
    package func cachedCaller(token: String) -> Caller? {
        guard APIToken.isWellFormed(token) else { return nil }
        return callers.value(APIToken.digest(token), generation: store.credentialsGeneration)
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
