import CellHubProto
import CellHubServer
import Logging
import RPC
import RPCHTTP2

/// Our server on 127.0.0.1 (an ephemeral port unless told otherwise), serving the interop
/// service, health, and any test-only services.
struct LoopbackServer: Sendable {
    let server: GRPCServer
    let port: Int
    let health: HealthService

    /// Only warnings and worse, so a failing run shows what the server complained about.
    static let logger: Logger = {
        var logger = Logger(label: "RPCHTTP2Tests.server")
        logger.logLevel = .warning
        return logger
    }()

    static func start(
        port: Int = 0, extraServices: [any RPCService] = [], configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> LoopbackServer {
        var configuration = ServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = port
        // Calls a test leaves behind (a known bug, a failure) must not hold shutdown for 5 s.
        configuration.drainTimeoutNanoseconds = 300_000_000
        configure(&configuration)
        let health = HealthService()
        let server = try GRPCServer(configuration: configuration, services: [InteropTestService(), health] + extraServices, logger: logger)
        let bound = try await server.start()
        return LoopbackServer(server: server, port: bound, health: health)
    }

    func shutdown() async { await server.shutdown() }
}

/// Runs `body` with a fresh server and a client connected to it; both are shut down
/// afterwards, also when `body` throws.
func withLoopback<T>(
    extraServices: [any RPCService] = [], configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (LoopbackServer, GRPCClient) async throws -> T
) async throws -> T {
    let server = try await LoopbackServer.start(extraServices: extraServices, configure: configure)
    let client: GRPCClient
    do {
        client = try GRPCClient(host: "127.0.0.1", port: server.port)
    } catch {
        await server.shutdown()
        throw error
    }
    do {
        let result = try await body(server, client)
        await client.close()
        await server.shutdown()
        return result
    } catch {
        await client.close()
        await server.shutdown()
        throw error
    }
}

/// Measures how long `body` takes on the continuous clock.
func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Duration) {
    let clock = ContinuousClock()
    let start = clock.now
    let result = try await body()
    return (result, clock.now - start)
}
