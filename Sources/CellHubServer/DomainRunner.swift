package import CellHub
package import Logging
package import RPC

/// What every domain handler shares: the domain, the pool its blocking calls run on, the
/// authenticator, and the logger internal faults go to.
///
/// `call` is the shape of every handler: authenticate, run one synchronous domain call on
/// the pool (never on the event loop), map its typed error to an RPCError.
package struct DomainRunner: Sendable {
    package let domain: Domain
    package let pool: BlockingPool
    package let authenticator: Authenticator
    package let logger: Logger

    package init(domain: Domain, pool: BlockingPool, logger: Logger) {
        self.domain = domain
        self.pool = pool
        self.logger = logger
        authenticator = Authenticator(auth: domain.auth, pool: pool, logger: logger)
    }

    /// Authenticates the call and runs `body` with the caller, both in one job on the
    /// blocking pool (one hop off the event loop and back per call, not two).
    package func call<T: Sendable, Failure: DomainError>(
        _ context: ServerContext, _ body: @escaping @Sendable (Caller) throws(Failure) -> T
    ) async throws(RPCError) -> T {
        let token = try Authenticator.token(context)
        let authenticator = self.authenticator
        do {
            return try await pool.run { () throws -> T in try body(try authenticator.authenticate(token: token)) }
        } catch let error as AuthError {
            throw authenticator.rpcError(error, context: context)
        } catch let error as Failure {
            throw DomainErrorMapping.rpcError(error, context: context, logger: logger)
        } catch {
            throw DomainErrorMapping.rpcError(unexpected: error, context: context, logger: logger)
        }
    }

    /// Runs `body` on the blocking pool, mapping its error.
    package func run<T: Sendable, Failure: DomainError>(
        _ context: ServerContext, _ body: @escaping @Sendable () throws(Failure) -> T
    ) async throws(RPCError) -> T {
        do {
            return try await pool.run(body)
        } catch let error as Failure {
            throw DomainErrorMapping.rpcError(error, context: context, logger: logger)
        } catch {
            throw DomainErrorMapping.rpcError(unexpected: error, context: context, logger: logger)
        }
    }

    /// Authenticates the call, then refuses it: for RPCs whose implementation comes later.
    package func unimplemented(_ context: ServerContext, _ message: String) async throws(RPCError) -> Never {
        _ = try await authenticator.caller(context)
        throw RPCError(code: .unimplemented, message: "\(context.method.method) is not implemented yet: \(message)")
    }
}
