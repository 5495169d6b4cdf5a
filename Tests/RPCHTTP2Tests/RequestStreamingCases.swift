import CellHubProto
import RPC
import RPCHTTP2
import Testing

extension ClientServerTests.InteropCases {
    typealias TestService = Grpc_Testing_TestService

    // MARK: - Client streaming and bidirectional streaming, against both peers

    @Test(arguments: Peer.allCases)
    func clientStreaming(peer: Peer) async throws {
        try await withPeer(peer) { client throws in
            let response = try await client.clientStreaming(TestService.streamingInputCall) { requests in
                for size in [27_182, 8, 1_828, 45_904] { try await requests.write(Interop.input(size)) }
            }
            #expect(response.message.aggregatedPayloadSize == 74_922)
        }
    }

    @Test(arguments: Peer.allCases)
    func clientStreamingWithNoMessages(peer: Peer) async throws {
        try await withPeer(peer) { client throws in
            let response = try await client.clientStreaming(TestService.streamingInputCall) { _ in }
            #expect(response.message.aggregatedPayloadSize == 0)
        }
    }

    /// Each request is answered before the next is written: the call really is duplex.
    @Test(arguments: Peer.allCases)
    func pingPong(peer: Peer) async throws {
        try await withPeer(peer) { client throws in
            #expect(try await client.interopPingPong() == Interop.pingPongSizes)
        }
    }

    @Test(arguments: Peer.allCases)
    func halfDuplexAnswersAfterTheHalfClose(peer: Peer) async throws {
        try await withPeer(peer) { client throws in
            let sizes = try await client.bidirectionalStreaming(TestService.halfDuplexCall) { requests, responses in
                for size in [31_415, 9, 2_653] { try await requests.write(Interop.streaming(sizes: [size])) }
                requests.finish()
                return try await collect(responses).map { $0.payload?.body.count ?? -1 }
            }
            #expect(sizes == [31_415, 9, 2_653])
        }
    }

    @Test(arguments: Peer.allCases)
    func emptyStream(peer: Peer) async throws {
        try await withPeer(peer) { client throws in
            let received = try await client.bidirectionalStreaming(TestService.fullDuplexCall) { requests, responses in
                requests.finish()
                return try await collect(responses).count
            }
            #expect(received == 0)
        }
    }

    /// Every message compressed (grpcio's handler cannot tell; ours checks `expect_compressed`).
    @Test(arguments: Peer.allCases)
    func clientCompressedStreaming(peer: Peer) async throws {
        try await withPeer(peer) { client throws in
            var options = CallOptions()
            options.compressRequest = true
            let response = try await client.clientStreaming(TestService.streamingInputCall, options: options) { requests in
                try await requests.write(Interop.input(27_182, expectCompressed: true))
                try await requests.write(Interop.input(45_904, expectCompressed: true))
            }
            #expect(response.message.aggregatedPayloadSize == 73_086)
        }
    }

    @Test(arguments: Peer.allCases)
    func statusCodeAndMessageOnFullDuplex(peer: Peer) async throws {
        try await withPeer(peer) { client throws in
            let error = await rpcError {
                try await client.bidirectionalStreaming(TestService.fullDuplexCall) { requests, responses in
                    try await requests.write(Interop.streaming(sizes: [1], status: Interop.status(2, Interop.specialStatusMessage)))
                    requests.finish()
                    return try await collect(responses).count
                }
            }
            #expect(error?.code == .unknown)
            #expect(error?.message == Interop.specialStatusMessage)
        }
    }

    @Test(arguments: Peer.allCases)
    func customMetadataOnFullDuplex(peer: Peer) async throws {
        try await withPeer(peer) { client throws in
            let options = CallOptions(metadata: Interop.echoMetadata)
            let (initial, trailing) = try await client.bidirectionalStreaming(TestService.fullDuplexCall, options: options) { requests, responses in
                try await requests.write(Interop.streaming(sizes: [314_159], payloadSize: 271_828))
                requests.finish()
                #expect(try await collect(responses).map { $0.payload?.body.count } == [314_159])
                return (responses.initialMetadata, responses.trailingMetadata)
            }
            #expect(initial?[Interop.echoInitialKey] == Interop.echoInitialValue)
            #expect(trailing?[binary: Interop.echoTrailingKey] == Interop.echoTrailingValue)
        }
    }

    /// The interop cancel_after_begin case: the caller's task is cancelled while it streams.
    @Test(arguments: Peer.allCases)
    func cancelAfterBegin(peer: Peer) async throws {
        try await withPeer(peer) { client throws in
            let (started, begun) = AsyncStream.makeStream(of: Void.self)
            let call = Task {
                try await client.clientStreaming(TestService.streamingInputCall) { requests in
                    try await requests.write(Interop.input(27_182))
                    begun.yield()
                    let (never, _) = AsyncStream.makeStream(of: Void.self)
                    for await _ in never {}  // until the task is cancelled
                }
            }
            for await _ in started { break }
            call.cancel()
            let error = await rpcError { try await call.value }
            #expect(error?.code == .cancelled)
        }
    }

    /// The streaming timeout_on_sleeping_server case: the server never answers.
    @Test(arguments: Peer.allCases)
    func timeoutOnSleepingServer(peer: Peer) async throws {
        try await withPeer(peer) { client throws in
            let error = await rpcError {
                try await client.bidirectionalStreaming(TestService.fullDuplexCall, options: CallOptions(timeout: .milliseconds(1))) { requests, responses in
                    try? await requests.write(Interop.streaming(sizes: [], payloadSize: 27_182))
                    return try await collect(responses).count
                }
            }
            #expect(error?.code == .deadlineExceeded)
        }
    }

    @Test(arguments: Peer.allCases)
    func unimplementedMethod(peer: Peer) async throws {
        try await withPeer(peer) { client throws in
            let error = await rpcError { try await client.unary(TestService.unimplementedCall, Grpc_Testing_Empty()) }
            #expect(error?.code == .unimplemented)
        }
    }
}

extension ClientServerTests {
    // MARK: - Streamed requests: what only our server shows

    /// A writer far ahead of a handler that is not reading is paused by flow control: while
    /// the handler sleeps 2 s on the first request, only a few of 48 one-MiB messages get
    /// written (the client's outbox, the server's queue bound and one stream window); once it
    /// reads again every message goes through.
    @Test func aWriterFasterThanTheHandlerIsPaused() async throws {
        try await withLoopback { _, client in
            let clock = ContinuousClock()
            let (written, sleepEnded, responses) = try await client.bidirectionalStreaming(TestService.fullDuplexCall) { requests, responses in
                try await requests.write(Interop.streaming(sizes: [10], intervalMicroseconds: 2_000_000))
                let sleepEnds = clock.now + .milliseconds(1_900)
                var writtenWhileSleeping = 0
                let big = Interop.streaming(sizes: [], payloadSize: (1 << 20) - 64)
                for _ in 0..<48 {
                    try await requests.write(big)
                    if clock.now < sleepEnds { writtenWhileSleeping += 1 }
                }
                requests.finish()
                return (writtenWhileSleeping, clock.now >= sleepEnds, try await collect(responses).count)
            }
            #expect(written <= 6, "\(written) MiB written while the handler slept")
            #expect(sleepEnded, "the 48 writes completed before the handler read again")
            #expect(responses == 1)
        }
    }

    /// A `RequestWriter` shared by two tasks: both wait while the handler sleeps, and both
    /// resume (a single waiting slot once lost the first writer for good).
    @Test func twoTasksWritingWhilePausedBothResume() async throws {
        try await withLoopback { _, client in
            let responses = try await client.bidirectionalStreaming(TestService.fullDuplexCall) { requests, responses in
                try await requests.write(Interop.streaming(sizes: [10], intervalMicroseconds: 500_000))
                let big = Interop.streaming(sizes: [], payloadSize: (1 << 20) - 64)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<2 {
                        group.addTask { for _ in 0..<8 { try await requests.write(big) } }
                    }
                    try await group.waitForAll()
                }
                requests.finish()
                return try await collect(responses).count
            }
            #expect(responses == 1)
        }
    }

    @Test func anOversizedMessageMidStreamIsResourceExhausted() async throws {
        try await withLoopback(configure: { $0.maxReceiveMessageBytes = 64 << 10 }) { _, client in
            let error = await rpcError {
                try await client.clientStreaming(TestService.streamingInputCall) { requests in
                    try await requests.write(Interop.input(1_000))
                    try await requests.write(Interop.input(100_000))
                    try await requests.write(Interop.input(1_000))
                }
            }
            #expect(error?.code == .resourceExhausted)
        }
    }

    /// Our server checks `expect_compressed` per message.
    @Test func anUncompressedMessageExpectedCompressedIsInvalidArgument() async throws {
        try await withLoopback { _, client in
            let error = await rpcError {
                try await client.clientStreaming(TestService.streamingInputCall) { requests in
                    try await requests.write(Interop.input(27_182, expectCompressed: true))
                }
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    /// The handler's request stream ends when the client half-closes.
    @Test func theHalfCloseEndsTheHandlersRequestStream() async throws {
        let probe = ProbeService()
        try await withLoopback(extraServices: [probe]) { _, client in
            let count = try await client.bidirectionalStreaming(ProbeService.reader) { requests, responses in
                try await requests.write(Interop.streaming(sizes: [3]))
                requests.finish()
                return try await collect(responses).count
            }
            #expect(count == 1)
            #expect(await probe.nextEvent() == .started)
            #expect(await probe.nextEvent() == .returned)
        }
    }

    /// The client's cancel (RST_STREAM) reaches a handler waiting for requests: its request
    /// stream throws CANCELLED.
    @Test func cancellingABidiCallEndsTheHandlersRequestStream() async throws {
        let probe = ProbeService()
        try await withLoopback(extraServices: [probe]) { _, client in
            let error = await rpcError {
                try await client.bidirectionalStreaming(ProbeService.reader) { requests, responses in
                    try await requests.write(Interop.streaming(sizes: [3]))
                    var iterator = responses.makeAsyncIterator()
                    _ = try await iterator.next()
                    responses.cancel()
                    return try await iterator.next()
                }
            }
            #expect(error?.code == .cancelled)
            #expect(await probe.nextEvent() == .started)
            #expect(await probe.nextEvent() == .cancelled("CANCELLED"))
        }
    }

    /// The deadline ends a handler waiting for requests. Which side's timer fires first is a
    /// race (the client's started earlier; its RST_STREAM reads as CANCELLED on the server):
    /// the server's own timer alone is pinned by test_interop_streaming.py over raw HTTP/2.
    @Test func theDeadlineEndsTheHandlersRequestStream() async throws {
        let probe = ProbeService()
        try await withLoopback(extraServices: [probe]) { _, client in
            let error = await rpcError {
                try await client.bidirectionalStreaming(ProbeService.reader, options: CallOptions(timeout: .milliseconds(200))) { requests, responses in
                    try await requests.write(Interop.streaming(sizes: [3]))
                    return try await collect(responses).count
                }
            }
            #expect(error?.code == .deadlineExceeded)
            #expect(await probe.nextEvent() == .started)
            let end = await probe.nextEvent()
            #expect(end == .cancelled("DEADLINE_EXCEEDED") || end == .cancelled("CANCELLED"), "\(String(describing: end))")
        }
    }

    /// Shutdown drains: a stream still open when the drain time is up ends UNAVAILABLE on
    /// both sides.
    @Test func shutdownEndsAnOpenRequestStreamUnavailable() async throws {
        let probe = ProbeService()
        let server = try await LoopbackServer.start(extraServices: [probe])
        let client = try GRPCClient(host: "127.0.0.1", port: server.port)
        let error = await rpcError {
            try await client.bidirectionalStreaming(ProbeService.reader) { requests, responses in
                try await requests.write(Interop.streaming(sizes: [3]))
                var iterator = responses.makeAsyncIterator()
                _ = try await iterator.next()
                await server.shutdown()
                return try await iterator.next()
            }
        }
        await client.close()
        #expect(error?.code == .unavailable)
        #expect(await probe.nextEvent() == .started)
        #expect(await probe.nextEvent() == .cancelled("UNAVAILABLE"))
    }
}
