import CellHubProto
import RPC
import RPCHTTP2
import Testing

/// Our client against a stock grpcio server (Tests/Python/reference_server.py, one process
/// for the suite): the interop cases a client must get right with someone else's HTTP/2.
@Suite(.referenceServer, .timeLimit(.minutes(1)))
struct StockServerTests {
    typealias TestService = Grpc_Testing_TestService
    typealias Health = Grpc_Health_V1_Health

    enum Shape: String, CaseIterable, Sendable { case unary, streaming }

    /// Runs `body` with a fresh client of the suite's reference server, closed afterwards.
    func withClient<T: Sendable>(_ body: @escaping @Sendable (GRPCClient) async throws -> T) async throws -> T {
        guard let server = ReferenceServer.current else { throw ReferenceServer.Failure(description: "no reference server for this suite") }
        return try await withTimeout {
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

    @Test func emptyUnary() async throws {
        try await withClient { client throws in
            let response = try await client.unary(TestService.emptyCall, Grpc_Testing_Empty())
            #expect(response.message == Grpc_Testing_Empty())
        }
    }

    @Test func largeUnary() async throws {
        try await withClient { client throws in
            let response = try await client.unary(TestService.unaryCall, Interop.unary(requestSize: 271_828, responseSize: 314_159))
            #expect(response.message.payload?.type == .compressable)
            #expect(response.message.payload?.body == [UInt8](repeating: 0, count: 314_159))
        }
    }

    @Test func serverStreaming() async throws {
        try await withClient { client throws in
            let sizes = [31_415, 9, 2_653, 58_979]
            let messages = try await collect(client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: sizes)))
            #expect(messages.map { $0.payload?.body.count ?? -1 } == sizes)
        }
    }

    @Test func customMetadataUnary() async throws {
        try await withClient { client throws in
            let response = try await client.unary(
                TestService.unaryCall, Interop.unary(requestSize: 271_828, responseSize: 314_159), options: CallOptions(metadata: Interop.echoMetadata))
            #expect(response.initialMetadata[Interop.echoInitialKey] == Interop.echoInitialValue)
            #expect(response.trailingMetadata[binary: Interop.echoTrailingKey] == Interop.echoTrailingValue)
        }
    }

    /// Streaming trailers are visible only on an error end (ResponseStream has no metadata).
    @Test func customMetadataStreamingTrailersArriveWithAnError() async throws {
        try await withClient { client throws in
            let stream = client.serverStreaming(
                TestService.streamingOutputCall, Interop.streaming(sizes: [31_415], status: Interop.status(2, "with trailers")),
                options: CallOptions(metadata: Interop.echoMetadata))
            var received = 0
            let error = await rpcError { for try await _ in stream { received += 1 } }
            #expect(received == 1)
            #expect(error?.code == .unknown)
            #expect(error?.metadata[binary: Interop.echoTrailingKey] == Interop.echoTrailingValue)
        }
    }

    @Test(arguments: Shape.allCases)
    func statusCodeAndMessage(shape: Shape) async throws {
        try await withClient { client throws in
            let error = await Self.failingCall(client, shape: shape, status: Interop.status(2, "test status message"))
            #expect(error?.code == .unknown)
            #expect(error?.message == "test status message")
        }
    }

    @Test(arguments: Shape.allCases)
    func specialStatusMessage(shape: Shape) async throws {
        try await withClient { client throws in
            let error = await Self.failingCall(client, shape: shape, status: Interop.status(2, Interop.specialStatusMessage))
            #expect(error?.code == .unknown)
            #expect(error?.message == Interop.specialStatusMessage)
        }
    }

    static func failingCall(_ client: GRPCClient, shape: Shape, status: Grpc_Testing_EchoStatus) async -> RPCError? {
        switch shape {
        case .unary:
            await rpcError { try await client.unary(TestService.unaryCall, Interop.unary(responseSize: 10, status: status)) }
        case .streaming:
            await rpcError { try await collect(client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: [10], status: status))) }
        }
    }

    @Test(arguments: [("unknown method", Interop.unimplementedMethod), ("unknown service", Interop.unimplementedService)])
    func unimplementedIsCode12(name: String, method: TypedMethodDescriptor<Grpc_Testing_Empty, Grpc_Testing_Empty>) async throws {
        try await withClient { client throws in
            let error = await rpcError { try await client.unary(method, Grpc_Testing_Empty()) }
            #expect(error?.code == .unimplemented, "\(name)")
        }
    }

    @Test func deadlineExceeded() async throws {
        try await withClient { client throws in
            var received = 0
            let (error, elapsed) = await timed {
                await rpcError {
                    let stream = client.serverStreaming(
                        TestService.streamingOutputCall, Interop.streaming(sizes: [1, 1], intervalMicroseconds: 200_000),
                        options: CallOptions(timeout: .milliseconds(50)))
                    for try await _ in stream { received += 1 }
                }
            }
            #expect(error?.code == .deadlineExceeded)
            #expect(received == 0)
            #expect(elapsed >= .milliseconds(50) && elapsed < .milliseconds(190), "took \(elapsed)")
        }
    }

    @Test func cancelAfterFirstResponse() async throws {
        try await withClient { client throws in
            // Four messages 100 ms apart: the cancel lands between the first and the second.
            let stream = client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: [31_415, 9, 2_653, 58_979], intervalMicroseconds: 100_000))
            var iterator = stream.makeAsyncIterator()
            #expect(try await iterator.next()?.payload?.body.count == 31_415)
            stream.cancel()
            var after = 0
            let error = await rpcError { while try await iterator.next() != nil { after += 1 } }
            #expect(error?.code == .cancelled)
            #expect(after == 0)
        }
    }

    @Test(arguments: [true, false])
    func compressedResponseUnary(compressed: Bool) async throws {
        try await withClient { client throws in
            let response = try await client.unary(TestService.unaryCall, Interop.unary(responseSize: 314_159, responseCompressed: compressed))
            #expect(response.message.payload?.body == [UInt8](repeating: 0, count: 314_159))
        }
    }

    @Test func compressedResponseStreaming() async throws {
        try await withClient { client throws in
            let sizes = [31_415, 92_653, 9, 58_979]
            let request = Interop.streaming(sizes: sizes, compressed: [true, false, true, false])
            let messages = try await collect(client.serverStreaming(TestService.streamingOutputCall, request))
            #expect(messages.map { $0.payload?.body.count ?? -1 } == sizes)
        }
    }

    /// grpcio does not tell its handler whether a request was compressed, so only that a
    /// gzip request is understood can be checked here.
    @Test func compressedRequestIsUnderstood() async throws {
        try await withClient { client throws in
            var options = CallOptions()
            options.compressRequest = true
            let response = try await client.unary(TestService.unaryCall, Interop.unary(requestSize: 271_828, responseSize: 314_159), options: options)
            #expect(response.message.payload?.body.count == 314_159)
        }
    }

    @Test func concurrentCallsOnOneConnection() async throws {
        try await withClient { client throws in
            let sizes = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for index in 0..<100 {
                    group.addTask {
                        let response = try await client.unary(TestService.unaryCall, Interop.unary(responseSize: index * 10))
                        return (index * 10, response.message.payload?.body.count ?? -1)
                    }
                }
                return try await group.reduce(into: [(Int, Int)]()) { $0.append($1) }
            }
            #expect(sizes.count == 100)
            #expect(sizes.filter { $0.0 != $0.1 }.isEmpty)
        }
    }

    @Test func healthCheck() async throws {
        try await withClient { client throws in
            var request = Grpc_Health_V1_HealthCheckRequest()
            let overall = try await client.unary(Health.check, request)
            #expect(overall.message.status == .serving)
            request.service = "grpc.testing.TestService"
            let testService = try await client.unary(Health.check, request)
            #expect(testService.message.status == .serving)
            request.service = "no.such.Service"
            let error = await rpcError { try await client.unary(Health.check, request) }
            #expect(error?.code == .notFound)
        }
    }

    @Test func healthWatchStartsWithTheCurrentStatus() async throws {
        try await withClient { client throws in
            let stream = client.serverStreaming(Health.watch, Grpc_Health_V1_HealthCheckRequest())
            var iterator = stream.makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first?.status == .serving)
            stream.cancel()
        }
    }
}
