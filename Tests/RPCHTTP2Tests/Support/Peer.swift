import RPC
import RPCHTTP2

/// The server an interop case runs our client against.
enum Peer: String, CaseIterable, Sendable {
    /// Our server, in this process on loopback, fresh for each case (`withLoopback`).
    case cellhubd
    /// The stock grpcio server the suite shares (`.referenceServer`, Tests/Python/reference_server.py).
    case grpcio
}

/// Runs `body` within `limit` (`withTimeout`) with a fresh client of `peer`; the client,
/// and for `.cellhubd` the server, are shut down afterwards, also when `body` throws.
func withPeer<T: Sendable>(
    _ peer: Peer, timeout limit: Duration = .seconds(20), _ body: @escaping @Sendable (GRPCClient) async throws -> T
) async throws -> T {
    switch peer {
    case .cellhubd:
        return try await withTimeout(limit) { try await withLoopback { _, client in try await body(client) } }
    case .grpcio:
        guard let server = ReferenceServer.current else {
            throw ReferenceServer.Failure(description: "no reference server: \(ReferenceServer.unavailable ?? "the suite lacks .referenceServer")")
        }
        return try await withTimeout(limit) {
            let client = try GRPCClient(host: "127.0.0.1", port: server.port)
            do {
                let result = try await body(client)
                await client.close()
                return result
            } catch {
                await client.close()
                throw error
            }
        }
    }
}

/// A call that returns one message, or a stream of them.
enum Shape: String, CaseIterable, Sendable { case unary, streaming }
