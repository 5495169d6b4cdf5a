import CellHubProto
import RPC
import RPCHTTP2
import TLS
import TestSupport
import Testing

extension ClientServerTests {
    typealias HealthRequest = Grpc_Health_V1_HealthCheckRequest

    /// Our client over TLS against both peers — our server in this process and grpcio's
    /// (reference_server.py with the test PKI) — with the server's certificate checked:
    /// the calls of every shape, a wrong name, an untrusted CA, the system roots.
    @Suite(.referenceServer(tls: .serverOnly))
    struct TLSCases {
        @Test(arguments: Peer.allCases)
        func everyCallShapeOverTLS(peer: Peer) async throws {
            try await withTLSPeer(peer, client: try TestTLS.client()) { client throws in
                let unary = try await client.unary(TestService.unaryCall, Interop.unary(requestSize: 271_828, responseSize: 314_159))
                #expect(unary.message.payload?.body.count == 314_159)

                let sizes = [31_415, 9, 2_653, 58_979, 1 << 20]
                let streamed = try await collect(client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: sizes)))
                #expect(streamed.map { $0.payload?.body.count ?? -1 } == sizes)

                let uploaded = try await client.clientStreaming(TestService.streamingInputCall) { requests in
                    for size in [27_182, 8, 1_828, 45_904] { try await requests.write(Interop.input(size)) }
                }
                #expect(uploaded.message.aggregatedPayloadSize == 74_922)

                #expect(try await client.interopPingPong() == Interop.pingPongSizes)

                let health = try await client.unary(Health.check, HealthRequest())
                #expect(health.message.status == .serving)
            }
        }

        /// The certificate names 127.0.0.1 and localhost; checking another name fails the
        /// handshake, and the call says why.
        @Test(arguments: Peer.allCases)
        func aWrongServerNameIsRefused(peer: Peer) async throws {
            try await withTLSPeer(peer, client: try TestTLS.client(serverName: "wrong.example")) { client throws in
                let error = await rpcError { try await client.unary(TestService.emptyCall, Grpc_Testing_Empty()) }
                #expect(error?.code == .unavailable)
                #expect(error?.message.contains("hostname mismatch") == true, "\(String(describing: error))")
            }
        }

        /// A DNS name the certificate carries, on a connection to an IP address.
        @Test(arguments: Peer.allCases)
        func aServerNameOverrideThatMatches(peer: Peer) async throws {
            try await withTLSPeer(peer, client: try TestTLS.client(serverName: "localhost")) { client throws in
                _ = try await client.unary(TestService.emptyCall, Grpc_Testing_Empty())
            }
        }

        @Test(arguments: Peer.allCases)
        func aServerFromAnotherCAIsRefused(peer: Peer) async throws {
            try await withTLSPeer(peer, client: try TestTLS.client(root: "other-root")) { client throws in
                let error = await rpcError { try await client.unary(TestService.emptyCall, Grpc_Testing_Empty()) }
                #expect(error?.code == .unavailable)
                #expect(error?.message.contains("unable to get local issuer certificate") == true, "\(String(describing: error))")
            }
        }

        /// No CA file: the system's roots, which do not know the test CA.
        @Test func theSystemRootsDoNotTrustTheTestCA() async throws {
            try await withTLSPeer(.cellhubd, client: try TestTLS.client(root: nil)) { client throws in
                let error = await rpcError { try await client.unary(TestService.emptyCall, Grpc_Testing_Empty()) }
                #expect(error?.code == .unavailable)
                #expect(error?.message.contains("certificate was refused") == true, "\(String(describing: error))")
            }
        }

        /// A cleartext client at a TLS server fails cleanly (and the server keeps serving).
        @Test func aCleartextClientAtATLSServerFails() async throws {
            let server = try await LoopbackServer.start { $0.tls = try? TestTLS.serverContext() }
            let plain = try GRPCClient(host: "127.0.0.1", port: server.port)
            let error = await rpcError { try await withTimeout { try await plain.unary(TestService.emptyCall, Grpc_Testing_Empty()) } }
            #expect(error?.code == .unavailable)
            await plain.close()
            var configuration = ClientConfiguration()
            configuration.tls = try TestTLS.client()
            let secure = try GRPCClient(host: "127.0.0.1", port: server.port, configuration: configuration)
            _ = try await withTimeout { try await secure.unary(TestService.emptyCall, Grpc_Testing_Empty()) }
            await secure.close()
            await server.shutdown()
        }
    }

    /// Mutual TLS against both peers (each requires a client certificate from the test root).
    @Suite(.referenceServer(tls: .mutual))
    struct MutualTLSCases {
        @Test(arguments: Peer.allCases)
        func aClientCertificateFromTheCAIsAccepted(peer: Peer) async throws {
            try await withTLSPeer(peer, mutual: true, client: try TestTLS.client(certificate: "client")) { client throws in
                _ = try await client.unary(TestService.emptyCall, Grpc_Testing_Empty())
                let streamed = try await collect(client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: [1, 70_000])))
                #expect(streamed.count == 2)
            }
        }

        @Test(arguments: Peer.allCases, [nil, "other-client"])
        func aClientWithoutAGoodCertificateIsRefused(peer: Peer, certificate: String?) async throws {
            try await withTLSPeer(peer, mutual: true, client: try TestTLS.client(certificate: certificate)) { client throws in
                let error = await rpcError { try await client.unary(TestService.emptyCall, Grpc_Testing_Empty()) }
                #expect(error?.code == .unavailable, "\(String(describing: error))")
            }
        }
    }
}

/// The test PKI (TestPKI) as server and client TLS settings.
enum TestTLS {
    static func serverContext(mutual: Bool = false) throws -> ReloadableTLSContext {
        try ReloadableTLSContext(
            certificateChainFile: TestPKI.pem("server-chain"), privateKeyFile: TestPKI.key("server"),
            clientCAFile: mutual ? TestPKI.pem("root") : nil)
    }

    /// Trusts `root` (nil: the system's roots); presents `certificate` when given.
    static func client(root: String? = "root", serverName: String? = nil, certificate: String? = nil) throws -> TLSClientConfiguration {
        try TLSClientConfiguration(
            caFile: root.map { try TestPKI.pem($0) }, certificateChainFile: certificate.map { try TestPKI.pem($0) },
            privateKeyFile: certificate.map { try TestPKI.key($0) }, serverName: serverName)
    }
}

/// Like `withPeer`, over TLS: our server in this process with the test PKI (requiring client
/// certificates when `mutual`), or the suite's grpcio server.
func withTLSPeer<T: Sendable>(
    _ peer: Peer, mutual: Bool = false, client tls: TLSClientConfiguration, timeout limit: Duration = .seconds(20),
    _ body: @escaping @Sendable (GRPCClient) async throws -> T
) async throws -> T {
    var settings = ClientConfiguration()
    settings.tls = tls
    let configuration = settings
    let serverTLS = try TestTLS.serverContext(mutual: mutual)
    return try await withTimeout(limit) {
        let server: LoopbackServer?
        let port: Int
        switch peer {
        case .cellhubd:
            server = try await LoopbackServer.start { $0.tls = serverTLS }
            port = server!.port
        case .grpcio:
            guard let reference = ReferenceServer.current else {
                throw ReferenceServer.Failure(description: "no reference server: \(ReferenceServer.unavailable ?? "the suite lacks .referenceServer")")
            }
            server = nil
            port = reference.port
        }
        let client = try GRPCClient(host: "127.0.0.1", port: port, configuration: configuration)
        do {
            let result = try await body(client)
            await client.close()
            await server?.shutdown()
            return result
        } catch {
            await client.close()
            await server?.shutdown()
            throw error
        }
    }
}

/// Which TLS the suite's grpcio server speaks.
enum ReferenceTLS { case serverOnly, mutual }

extension Trait where Self == ReferenceServerTrait {
    /// Runs the suite against one stock grpcio server process speaking TLS with the test PKI.
    static func referenceServer(tls: ReferenceTLS) -> Self {
        Self(arguments: {
            var arguments = ["--tls-cert", try TestPKI.pem("server-chain"), "--tls-key", try TestPKI.key("server")]
            if tls == .mutual { arguments += ["--tls-client-ca", try TestPKI.pem("root")] }
            return arguments
        })
    }
}
