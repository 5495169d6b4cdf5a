package import CellHub
package import Logging
package import RPC

/// Turns a call's `authorization: Bearer <token>` metadata into the `Caller` it runs as.
///
/// The metadata's shape is checked on the event loop (a malformed value never costs a pool
/// hop), and so is a token the domain has cached; a lookup (SQLite) runs on the blocking pool. Every failure is
/// UNAUTHENTICATED with a message that says what to send, never which check failed inside
/// the store.
package struct Authenticator: Sendable {
    private let auth: AuthService
    private let pool: BlockingPool
    private let logger: Logger

    package init(auth: AuthService, pool: BlockingPool, logger: Logger) {
        self.auth = auth
        self.pool = pool
        self.logger = logger
    }

    /// The caller the call's bearer token belongs to.
    /// - Throws: UNAUTHENTICATED for a missing, malformed, unknown or revoked token;
    ///   INTERNAL (logged) when the store fails; UNAVAILABLE once the pool is shut down.
    package func caller(_ context: ServerContext) async throws(RPCError) -> Caller {
        if let caller = try cachedCaller(context) { return caller }
        let token = try Self.token(context)
        let (auth, generation) = (self.auth, self.auth.credentialsGeneration)
        do {
            let caller = try await pool.run { () throws(AuthError) -> Caller in try auth.authenticate(token: token) }
            remember(caller, for: context, generation: generation)
            return caller
        } catch let error as AuthError {
            throw rpcError(error, context: context)
        } catch {
            throw DomainErrorMapping.rpcError(unexpected: error, context: context, logger: logger)
        }
    }

    /// The caller of the call's token if it is known without the store, else nil (`caller`
    /// looks it up). Throws UNAUTHENTICATED for missing or malformed metadata.
    /// The connection's last caller answers first: a client sends the same `authorization`
    /// on every call, so from a connection's second call on, that is one comparison with
    /// what it sent before (no parsing, no SHA-256, no shared cache), valid while no
    /// revocation happened since.
    package func cachedCaller(_ context: ServerContext) throws(RPCError) -> Caller? {
        let authorization = context.requestMetadata["authorization"]
        let generation = auth.credentialsGeneration
        if let authorization, let known = context.connection.memoized(for: authorization) as? ConnectionCaller,
           known.generation == generation {
            return known.caller
        }
        guard let caller = auth.cachedCaller(token: try Self.bearerToken(authorization)) else { return nil }
        remember(caller, for: context, generation: generation)
        return caller
    }

    /// Keeps `caller` for the call's connection, found under `generation` (read before the
    /// lookup, so a revocation during it is not cached past).
    private func remember(_ caller: Caller, for context: ServerContext, generation: UInt64) {
        guard let authorization = context.requestMetadata["authorization"] else { return }
        context.connection.memoize(ConnectionCaller(caller: caller, generation: generation), for: authorization)
    }

    /// Looks the token up: the blocking half of `caller`, for callers already on the pool.
    func authenticate(token: String) throws(AuthError) -> Caller { try auth.authenticate(token: token) }

    /// The status for a failed token lookup.
    func rpcError(_ error: AuthError, context: ServerContext) -> RPCError {
        switch error {
        case .unauthenticated:
            RPCError(code: .unauthenticated, message: "unknown or revoked token")
        case .permissionDenied, .internal:
            DomainErrorMapping.rpcError(error, context: context, logger: logger)
        }
    }

    /// The well-formed token of the call's `authorization` metadata: checked on the event
    /// loop, so a malformed value never costs a pool hop.
    static func token(_ context: ServerContext) throws(RPCError) -> String {
        try bearerToken(context.requestMetadata["authorization"])
    }

    /// The token of an `authorization` value `Bearer <token>` (scheme case-insensitive, as
    /// RFC 7235 says; surrounding spaces and tabs ignored). Parsed over the value's bytes in
    /// place: it runs on every authenticated call.
    static func bearerToken(_ authorization: String?) throws(RPCError) -> String {
        guard var authorization else {
            throw RPCError(code: .unauthenticated, message: "missing authorization: Bearer <token> metadata")
        }
        let token = authorization.withUTF8 { value -> Result<String, RPCError> in
            let isBlank = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
            var start = 0, end = value.count
            while start < end, isBlank(value[start]) { start += 1 }
            while end > start, isBlank(value[end - 1]) { end -= 1 }
            // "bearer" in any case (bit 5 is the case of an ASCII letter), then a space.
            guard end - start > 7, zip(value[start..<start + 6], "bearer".utf8).allSatisfy({ $0 | 0x20 == $1 }),
                  value[start + 6] == 0x20
            else {
                return .failure(RPCError(code: .unauthenticated, message: "malformed authorization metadata: expected Bearer <token>"))
            }
            start += 7
            while start < end, isBlank(value[start]) { start += 1 }
            let token = UnsafeBufferPointer(rebasing: value[start..<end])
            guard APIToken.isWellFormed(utf8: token) else {
                return .failure(RPCError(code: .unauthenticated, message: "malformed token: expected a CellHub API token (\(APIToken.prefix)…)"))
            }
            return .success(String(decoding: token, as: UTF8.self))
        }
        return try token.get()
    }
}

/// A connection's caller and the credentials generation it was found under.
private final class ConnectionCaller: Sendable {
    let caller: Caller
    let generation: UInt64

    init(caller: Caller, generation: UInt64) {
        self.caller = caller
        self.generation = generation
    }
}
