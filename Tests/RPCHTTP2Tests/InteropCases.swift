import CellHubProto
import RPC
import RPCHTTP2
import Testing

extension ClientServerTests {
    /// The gRPC interop cases, each run by our client against both peers: our own server in
    /// this process (a fresh one per case), and a stock grpcio server (Tests/Python/
    /// reference_server.py, one process for the suite), so the client is checked against
    /// someone else's HTTP/2 and gRPC too. Nested to share ClientServerTests' `.serialized`.
    @Suite(.referenceServer)
    struct InteropCases {
        @Test(arguments: Peer.allCases)
        func emptyUnary(peer: Peer) async throws {
            try await withPeer(peer) { client throws in
                let response = try await client.unary(TestService.emptyCall, Grpc_Testing_Empty())
                #expect(response.message == Grpc_Testing_Empty())
            }
        }

        @Test(arguments: Peer.allCases)
        func largeUnary(peer: Peer) async throws {
            try await withPeer(peer) { client throws in
                let response = try await client.unary(TestService.unaryCall, Interop.unary(requestSize: 271_828, responseSize: 314_159))
                #expect(response.message.payload?.type == .compressable)
                #expect(response.message.payload?.body == [UInt8](repeating: 0, count: 314_159))
            }
        }

        @Test(arguments: Peer.allCases)
        func serverStreaming(peer: Peer) async throws {
            try await withPeer(peer) { client throws in
                let sizes = [31_415, 9, 2_653, 58_979]
                let messages = try await collect(client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: sizes)))
                #expect(messages.map { $0.payload?.body.count ?? -1 } == sizes)
                #expect(messages.allSatisfy { $0.payload?.body.allSatisfy { $0 == 0 } ?? false })
            }
        }

        @Test(arguments: Peer.allCases)
        func customMetadataUnary(peer: Peer) async throws {
            try await withPeer(peer) { client throws in
                let response = try await client.unary(
                    TestService.unaryCall, Interop.unary(requestSize: 271_828, responseSize: 314_159), options: CallOptions(metadata: Interop.echoMetadata))
                #expect(response.initialMetadata[Interop.echoInitialKey] == Interop.echoInitialValue)
                #expect(response.trailingMetadata[binary: Interop.echoTrailingKey] == Interop.echoTrailingValue)
                #expect(response.message.payload?.body.count == 314_159)
            }
        }

        /// The interop custom_metadata case, streaming: both echoes arrive on a successful call.
        @Test(arguments: Peer.allCases)
        func customMetadataStreaming(peer: Peer) async throws {
            try await withPeer(peer) { client throws in
                let stream = client.serverStreaming(
                    TestService.streamingOutputCall, Interop.streaming(sizes: [31_415]), options: CallOptions(metadata: Interop.echoMetadata))
                var received = 0
                for try await _ in stream { received += 1 }
                #expect(received == 1)
                #expect(stream.initialMetadata?[Interop.echoInitialKey] == Interop.echoInitialValue)
                #expect(stream.trailingMetadata?[binary: Interop.echoTrailingKey] == Interop.echoTrailingValue)
            }
        }

        @Test(arguments: Peer.allCases)
        func customMetadataStreamingTrailersArriveWithAnError(peer: Peer) async throws {
            try await withPeer(peer) { client throws in
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

        @Test(arguments: Peer.allCases, Shape.allCases)
        func statusCodeAndMessage(peer: Peer, shape: Shape) async throws {
            try await withPeer(peer) { client throws in
                let error = await Self.failingCall(client, shape: shape, status: Interop.status(2, "test status message"))
                #expect(error?.code == .unknown)
                #expect(error?.message == "test status message")
            }
        }

        @Test(arguments: Peer.allCases, Shape.allCases)
        func specialStatusMessage(peer: Peer, shape: Shape) async throws {
            try await withPeer(peer) { client throws in
                let error = await Self.failingCall(client, shape: shape, status: Interop.status(2, Interop.specialStatusMessage))
                #expect(error?.code == .unknown)
                #expect(error?.message == Interop.specialStatusMessage)
            }
        }

        /// Every status code travels (OK aside), in both call shapes.
        @Test(arguments: Peer.allCases, Shape.allCases)
        func everyStatusCodeRoundTrips(peer: Peer, shape: Shape) async throws {
            try await withPeer(peer) { client throws in
                for code in 1...16 {
                    let error = await Self.failingCall(client, shape: shape, status: Interop.status(Int32(code), "code \(code)"))
                    #expect(error?.code == StatusCode(rawValue: code))
                    #expect(error?.message == "code \(code)")
                }
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

        @Test(arguments: Peer.allCases, [("unknown method", Interop.unimplementedMethod), ("unknown service", Interop.unimplementedService)])
        func unimplementedIsCode12(peer: Peer, target: (String, TypedMethodDescriptor<Grpc_Testing_Empty, Grpc_Testing_Empty>)) async throws {
            let (name, method) = target
            try await withPeer(peer) { client throws in
                let error = await rpcError { try await client.unary(method, Grpc_Testing_Empty()) }
                #expect(error?.code == .unimplemented, "\(name)")
            }
        }

        @Test(arguments: Peer.allCases)
        func unimplementedStreamingMethodIsCode12(peer: Peer) async throws {
            try await withPeer(peer) { client throws in
                let method = TypedMethodDescriptor<Grpc_Testing_Empty, Grpc_Testing_Empty>(
                    service: "grpc.testing.TestService", method: "UnimplementedStreamingCall", kind: .serverStreaming)
                let error = await rpcError { try await collect(client.serverStreaming(method, Grpc_Testing_Empty())) }
                #expect(error?.code == .unimplemented)
            }
        }

        // MARK: - Deadlines and cancellation

        /// The first message would leave after 200 ms; the 50 ms deadline ends the call first.
        @Test(arguments: Peer.allCases)
        func deadlineExceededEndsAStreamQuickly(peer: Peer) async throws {
            try await withPeer(peer) { client throws in
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
                #expect(elapsed >= .milliseconds(50), "the deadline must not fire early (took \(elapsed))")
                #expect(elapsed < .milliseconds(190), "the deadline must fire before the first message is due (took \(elapsed))")
            }
        }

        @Test(arguments: Peer.allCases)
        func cancelAfterFirstResponse(peer: Peer) async throws {
            try await withPeer(peer) { client throws in
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

        // MARK: - Compression

        @Test(arguments: Peer.allCases, [true, false])
        func compressedResponseUnary(peer: Peer, compressed: Bool) async throws {
            try await withPeer(peer) { client throws in
                let response = try await client.unary(TestService.unaryCall, Interop.unary(responseSize: 314_159, responseCompressed: compressed))
                #expect(response.message.payload?.body == [UInt8](repeating: 0, count: 314_159))
            }
        }

        /// Compressed and uncompressed messages mixed in one stream, an empty compressed one too.
        @Test(arguments: Peer.allCases, [
            ([31_415, 92_653, 0, 58_979], [true, false, true, true]), ([31_415, 92_653, 9, 58_979], [true, false, true, false]),
        ])
        func compressedResponseStreaming(peer: Peer, messages: ([Int], [Bool])) async throws {
            let (sizes, compressed) = messages
            try await withPeer(peer) { client throws in
                let request = Interop.streaming(sizes: sizes, compressed: compressed)
                let messages = try await collect(client.serverStreaming(TestService.streamingOutputCall, request))
                #expect(messages.map { $0.payload?.body.count ?? -1 } == sizes)
            }
        }

        /// Only that a gzip request is understood: grpcio does not tell its handler whether a
        /// request was compressed (ClientServerTests checks `expect_compressed` with our server).
        @Test(arguments: Peer.allCases)
        func compressedRequestIsUnderstood(peer: Peer) async throws {
            try await withPeer(peer) { client throws in
                var options = CallOptions()
                options.compressRequest = true
                let response = try await client.unary(TestService.unaryCall, Interop.unary(requestSize: 271_828, responseSize: 314_159), options: options)
                #expect(response.message.payload?.body.count == 314_159)
            }
        }

        // MARK: - Concurrency

        @Test(arguments: Peer.allCases)
        func thousandConcurrentUnaryCallsOnOneConnection(peer: Peer) async throws {
            try await withPeer(peer) { client throws in
                let sizes = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                    for index in 0..<1_000 {
                        group.addTask {
                            let response = try await client.unary(TestService.unaryCall, Interop.unary(requestSize: index, responseSize: index))
                            return (index, response.message.payload?.body.count ?? -1)
                        }
                    }
                    var sizes: [Int: Int] = [:]
                    for try await (index, size) in group { sizes[index] = size }
                    return sizes
                }
                #expect(sizes.count == 1_000)
                #expect(sizes.filter { $0.key != $0.value }.isEmpty, "each call gets its own response")
            }
        }

        // MARK: - Health

        /// Setting a status is our server's alone: see ClientServerTests.
        @Test(arguments: Peer.allCases)
        func healthCheck(peer: Peer) async throws {
            try await withPeer(peer) { client throws in
                var request = Grpc_Health_V1_HealthCheckRequest()
                #expect(try await client.unary(Health.check, request).message.status == .serving)
                if peer == .grpcio {  // our server registers no per-service status of its own
                    request.service = "grpc.testing.TestService"
                    #expect(try await client.unary(Health.check, request).message.status == .serving)
                }
                request.service = "no.such.Service"
                let error = await rpcError { try await client.unary(Health.check, request) }
                #expect(error?.code == .notFound)
            }
        }

        @Test(arguments: Peer.allCases)
        func healthWatchStartsWithTheCurrentStatus(peer: Peer) async throws {
            try await withPeer(peer) { client throws in
                let stream = client.serverStreaming(Health.watch, Grpc_Health_V1_HealthCheckRequest())
                var iterator = stream.makeAsyncIterator()
                #expect(try await iterator.next()?.status == .serving)
                stream.cancel()
            }
        }
    }
}
