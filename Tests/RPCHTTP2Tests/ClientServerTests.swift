import CellHubProto
import CellHubServer
import RPC
import RPCHTTP2
import Testing

/// Our client against our server, both in this process on loopback (port 0), for what only
/// our server can show: what a transport must survive — big messages, many calls, long
/// streams, cancellation, deadlines, a server restart, and a client that stops reading —
/// our limits, `expect_compressed`, and health statuses the server sets. The interop cases,
/// run against grpcio too, are in the nested suite InteropCases (InteropCases.swift;
/// the streamed-request ones in RequestStreamingCases.swift).
///
/// Serialized, the nested suite too: the backpressure case reads this process's memory, the
/// reconnect case re-binds a port it just released, and the timing checks need a quiet machine.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct ClientServerTests {
    typealias TestService = Grpc_Testing_TestService
    typealias Health = Grpc_Health_V1_Health

    // MARK: - Deadlines and cancellation

    /// When the deadline passes, the server's handler is stopped too (by the server's own
    /// timer from grpc-timeout, or by the client's RST_STREAM, whichever comes first).
    @Test func deadlineStopsTheServerHandler() async throws {
        let probe = ProbeService()
        try await withTimeout {
            try await withLoopback(extraServices: [probe]) { _, client throws in
                let stream = client.serverStreaming(ProbeService.endless, Grpc_Testing_StreamingOutputCallRequest(), options: CallOptions(timeout: .milliseconds(100)))
                var received = 0
                let error = await rpcError { for try await _ in stream { received += 1 } }
                #expect(error?.code == .deadlineExceeded)
                #expect(received > 0)
                #expect(await probe.nextEvent() == .started)
                let end = await probe.nextEvent()
                guard case .cancelled = end else {
                    Issue.record("the handler should have been stopped by the deadline, got \(String(describing: end))")
                    return
                }
            }
        }
    }

    @Test func cancellingTheStreamEndsIterationWithCancelledAndStopsTheHandler() async throws {
        let probe = ProbeService()
        try await withTimeout {
            try await withLoopback(extraServices: [probe]) { _, client throws in
                let stream = client.serverStreaming(ProbeService.endless, Grpc_Testing_StreamingOutputCallRequest())
                var iterator = stream.makeAsyncIterator()
                #expect(try await iterator.next()?.payload?.body.count == 1_024)
                #expect(await probe.nextEvent() == .started)
                stream.cancel()
                // What was buffered before the cancel may still come; then the end.
                var buffered = 0
                let error = await rpcError { while try await iterator.next() != nil { buffered += 1 } }
                #expect(error?.code == .cancelled)
                // The client grants credit until 1 MiB waits for the consumer (checked per DATA
                // frame, so up to one 16 KiB frame more), and the server may have a 1 MiB stream
                // window in flight: about 2 MiB of 1,029-byte messages at most.
                let bound = ((2 << 20) + 16_384) / 1_029 + 2
                #expect(buffered <= bound, "flow control bounds what was buffered (\(buffered) messages, bound \(bound))")
                let end = await probe.nextEvent()
                guard case .cancelled = end else {
                    Issue.record("the server handler should see the cancel, got \(String(describing: end))")
                    return
                }
            }
        }
    }

    // MARK: - Detached push calls (no task behind an open stream)

    /// A handler that detaches its call returns at once; the producer's later `finish`
    /// ends the call after the messages pushed before, with its status and trailers, and
    /// `onClose` does not run.
    @Test func detachedCallEndsWithTheProducersStatus() async throws {
        let probe = ProbeService()
        try await withTimeout {
            try await withLoopback(extraServices: [probe]) { _, client throws in
                let stream = client.serverStreaming(ProbeService.detached, Interop.streaming(sizes: [10, 20, 30], status: Interop.status(7, "done here")))
                var sizes: [Int] = []
                let error = await rpcError { for try await message in stream { sizes.append(message.payload?.body.count ?? -1) } }
                #expect(sizes == [10, 20, 30])
                #expect(error?.code == .permissionDenied)
                #expect(error?.message == "done here")
                #expect(stream.trailingMetadata?["x-probe"] == "detached")
                #expect(await probe.nextEvent() == .started)
                #expect(await probe.nextEvent() == .returned)
                #expect(await probe.nextEvent(within: .milliseconds(300)) == nil, "onClose must not run after the producer's finish")
            }
        }
    }

    /// The call outlives its handler; the client's cancel or the deadline ends it, and the
    /// producer hears of it through `onClose`.
    @Test(arguments: [false, true])
    func detachedCallEndedByTheClientRunsOnClose(byDeadline: Bool) async throws {
        let probe = ProbeService()
        try await withTimeout {
            try await withLoopback(extraServices: [probe]) { _, client throws in
                let options = byDeadline ? CallOptions(timeout: .milliseconds(300)) : CallOptions()
                let stream = client.serverStreaming(ProbeService.detached, Interop.streaming(sizes: [7]), options: options)
                var iterator = stream.makeAsyncIterator()
                #expect(try await iterator.next()?.payload?.body.count == 7)
                #expect(await probe.nextEvent() == .started)
                #expect(await probe.nextEvent() == .returned)
                #expect(await probe.nextEvent(within: .milliseconds(100)) == nil, "the call stays open after the handler returned")
                if !byDeadline { stream.cancel() }
                let error = await rpcError { while try await iterator.next() != nil {} }
                #expect(error?.code == (byDeadline ? .deadlineExceeded : .cancelled))
                #expect(await probe.nextEvent() == .closed)
            }
        }
    }

    /// A handler that throws after detaching ends the call with its error, and `onClose`
    /// runs (the producer must forget the call).
    @Test func detachedHandlerThatThrowsEndsTheCallWithItsError() async throws {
        let probe = ProbeService()
        try await withTimeout {
            try await withLoopback(extraServices: [probe]) { _, client throws in
                let stream = client.serverStreaming(ProbeService.detached, Interop.streaming(sizes: [5], status: Interop.status(9, "throw")))
                var received = 0
                let error = await rpcError { for try await _ in stream { received += 1 } }
                #expect(received == 1)
                #expect(error?.code == .failedPrecondition)
                #expect(error?.message == "throw")
                #expect(await probe.nextEvent() == .started)
                #expect(await probe.nextEvent() == .closed)
            }
        }
    }

    @Test func cancellingTheTaskEndsIteration() async throws {
        try await withTimeout {
            try await withLoopback { _, client throws in
                // 100 messages, one every 10 ms: a second of stream.
                let stream = client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: Array(repeating: 10, count: 100), intervalMicroseconds: 10_000))
                let (firstReceived, signal) = AsyncStream.makeStream(of: Void.self)
                let (outcome, elapsed) = await timed {
                    let reader = Task { () -> (count: Int, error: (any Error)?) in
                        var count = 0
                        do {
                            for try await _ in stream {
                                count += 1
                                if count == 1 { signal.yield() }
                            }
                            return (count, nil)
                        } catch {
                            return (count, error)
                        }
                    }
                    for await _ in firstReceived { break }
                    reader.cancel()
                    return await reader.value
                }
                #expect(outcome.count >= 1 && outcome.count < 100)
                #expect((outcome.error as? RPCError)?.code == .cancelled, "got \(String(describing: outcome.error))")
                #expect(elapsed < .milliseconds(900), "cancelling must not wait for the stream to finish")
            }
        }
    }

    /// ResponseStream promises that leaving the loop early cancels the call; the server's
    /// handler should then stop instead of waiting on flow control for ever.
    @Test func leavingTheLoopEarlyCancelsTheCall() async throws {
        let probe = ProbeService()
        try await withTimeout {
            try await withLoopback(extraServices: [probe]) { _, client throws in
                do {
                    let stream = client.serverStreaming(ProbeService.endless, Grpc_Testing_StreamingOutputCallRequest())
                    for try await _ in stream { break }
                }
                #expect(await probe.nextEvent() == .started)
                let end = await probe.nextEvent(within: .seconds(1))
                guard case .cancelled = end else {
                    Issue.record("the handler is still running 1 s after the client left the loop, got \(String(describing: end))")
                    return
                }
            }
        }
    }

    // MARK: - Compression

    @Test(arguments: [(true, true), (true, false), (false, true), (false, false)])
    func clientCompressedUnary(expectCompressed: Bool, compressRequest: Bool) async throws {
        try await withTimeout {
            try await withLoopback { _, client throws in
                var options = CallOptions()
                options.compressRequest = compressRequest
                let request = Interop.unary(requestSize: 271_828, responseSize: 314_159, expectCompressed: expectCompressed)
                if expectCompressed && !compressRequest {
                    let error = await rpcError { try await client.unary(TestService.unaryCall, request, options: options) }
                    #expect(error?.code == .invalidArgument)
                } else {
                    let response = try await client.unary(TestService.unaryCall, request, options: options)
                    #expect(response.message.payload?.body.count == 314_159)
                }
            }
        }
    }

    // MARK: - Size, concurrency, length

    @Test(arguments: [false, true])
    func fiveMebibyteMessagesBothWays(compressed: Bool) async throws {
        try await withTimeout {
            try await withLoopback { _, client throws in
                let size = 5 << 20
                var options = CallOptions()
                options.compressRequest = compressed
                let response = try await client.unary(
                    TestService.unaryCall, Interop.unary(requestSize: size, responseSize: size, responseCompressed: compressed, expectCompressed: compressed),
                    options: options)
                #expect(response.message.payload?.body.count == size)
            }
        }
    }

    /// Compressed, 5 MiB of zeros is a few KiB on the wire, well inside one stream window.
    @Test func fiveMebibyteCompressedStreamingResponses() async throws {
        try await withTimeout {
            try await withLoopback { _, client throws in
                let size = 5 << 20
                let request = Interop.streaming(sizes: [size, size], compressed: [true, true])
                let streamed = try await collect(client.serverStreaming(TestService.streamingOutputCall, request))
                #expect(streamed.map { $0.payload?.body.count ?? -1 } == [size, size])
            }
        }
    }

    /// A streaming response message bigger than the client's stream window (1 MiB). The
    /// client returns window credit only when the consumer takes a whole message, so the
    /// bytes of a message still being reassembled are never credited: the server stalls
    /// at the window's edge and the message never completes. The deadline bounds the wait.
    @Test(arguments: [5 << 20, (1 << 20) - 13 + 1])
    func streamingResponseLargerThanTheStreamWindow(size: Int) async throws {
        try await withTimeout {
            try await withLoopback { _, client throws in
                let stream = client.serverStreaming(
                    TestService.streamingOutputCall, Interop.streaming(sizes: [size]), options: CallOptions(timeout: .seconds(1)))
                let outcome: Result<[Int], any Error>
                do {
                    outcome = .success(try await collect(stream).map { $0.payload?.body.count ?? -1 })
                } catch {
                    outcome = .failure(error)
                }
                switch outcome {
                case .success(let sizes): #expect(sizes == [size])
                case .failure(let error): Issue.record("the stream failed: \(error)")
                }
            }
        }
    }

    /// The largest streaming message that still fits one stream window (13 bytes of
    /// gRPC prefix and protobuf framing around the body) arrives.
    @Test func streamingResponseFillingTheStreamWindowExactly() async throws {
        try await withTimeout {
            try await withLoopback { _, client throws in
                let size = (1 << 20) - 13
                let messages = try await collect(client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: [size, size])))
                #expect(messages.map { $0.payload?.body.count ?? -1 } == [size, size])
            }
        }
    }

    @Test func hundredThousandMessageStreamArrivesInFullAndInOrder() async throws {
        try await withTimeout(.seconds(40)) {
            try await withLoopback { _, client throws in
                let count = 100_000
                let stream = client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: (0..<count).map { $0 % 97 }))
                var received = 0
                var outOfOrder: [Int] = []
                for try await message in stream {
                    if message.payload?.body.count != received % 97, outOfOrder.count < 10 { outOfOrder.append(received) }
                    received += 1
                }
                #expect(received == count)
                #expect(outOfOrder.isEmpty, "first messages with the wrong size: \(outOfOrder)")
            }
        }
    }

    // MARK: - Limits

    @Test func requestOverTheServerLimitIsResourceExhausted() async throws {
        try await withTimeout {
            try await withLoopback(configure: { $0.maxReceiveMessageBytes = 1 << 20 }) { _, client throws in
                let error = await rpcError { try await client.unary(TestService.unaryCall, Interop.unary(requestSize: 2 << 20, responseSize: 1)) }
                // The status must leave before the RST_STREAM(NO_ERROR) that stops the upload:
                // a reset queued first overtakes the Trailers-Only HEADERS in nghttp2.
                #expect(error?.code == .resourceExhausted, "got \(String(describing: error))")
                // The connection survives it.
                #expect(try await client.unary(TestService.emptyCall, Grpc_Testing_Empty()).message == Grpc_Testing_Empty())
            }
        }
    }

    @Test(arguments: Shape.allCases)
    func responseOverTheClientLimitIsResourceExhausted(shape: Shape) async throws {
        try await withTimeout {
            try await withLoopback { _, client throws in
                var options = CallOptions()
                options.maxReceiveMessageBytes = 1 << 20
                let error = switch shape {
                case .unary: await rpcError { try await client.unary(TestService.unaryCall, Interop.unary(responseSize: 2 << 20), options: options) }
                case .streaming: await rpcError { try await collect(client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: [2 << 20]), options: options)) }
                }
                #expect(error?.code == .resourceExhausted)
            }
        }
    }

    /// A compressed response that inflates past the receive limit is the same violation as
    /// an uncompressed one (the server maps the request-side case to RESOURCE_EXHAUSTED).
    @Test(arguments: Shape.allCases)
    func compressedResponseInflatingOverTheClientLimitIsResourceExhausted(shape: Shape) async throws {
        try await withTimeout {
            try await withLoopback { _, client throws in
                var options = CallOptions()
                options.maxReceiveMessageBytes = 1 << 20
                let error = switch shape {
                case .unary:
                    await rpcError { try await client.unary(TestService.unaryCall, Interop.unary(responseSize: 2 << 20, responseCompressed: true), options: options) }
                case .streaming:
                    await rpcError { try await collect(client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: [2 << 20], compressed: [true]), options: options)) }
                }
                #expect(error?.code == .resourceExhausted, "got \(String(describing: error))")
            }
        }
    }

    @Test func requestOverTheClientSendLimitFailsLocally() async throws {
        try await withTimeout {
            try await withLoopback { _, client throws in
                var options = CallOptions()
                options.maxSendMessageBytes = 1_000
                let error = await rpcError { try await client.unary(TestService.unaryCall, Interop.unary(requestSize: 2_000), options: options) }
                #expect(error?.code == .resourceExhausted)
            }
        }
    }

    @Test func invalidMetadataFailsLocallyAndTheConnectionServesOn() async throws {
        try await withTimeout {
            try await withLoopback { _, client throws in
                for (key, value) in [("authorization", "Bearer x\n"), ("x-note", "café"), ("", "v"), ("bad key", "v")] {
                    var options = CallOptions()
                    options.metadata.add(key, value)
                    let unary = await rpcError { try await client.unary(TestService.emptyCall, Grpc_Testing_Empty(), options: options) }
                    #expect(unary?.code == .internal && unary?.message.contains("metadata") == true, "\(key): \(String(describing: unary))")
                    let stream = client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: [1]), options: options)
                    let streamed = await rpcError { for try await _ in stream {} }
                    #expect(streamed?.code == .internal, "\(key): \(String(describing: streamed))")
                }
                _ = try await client.unary(TestService.emptyCall, Grpc_Testing_Empty())
            }
        }
    }

    // MARK: - Health

    @Test func healthCheckAnswersASetStatus() async throws {
        try await withTimeout {
            try await withLoopback { server, client throws in
                var request = Grpc_Health_V1_HealthCheckRequest()
                request.service = "no.such.Service"
                let error = await rpcError { try await client.unary(Health.check, request) }
                #expect(error?.code == .notFound)
                server.health.setStatus(.notServing, for: "no.such.Service")
                #expect(try await client.unary(Health.check, request).message.status == .notServing)
            }
        }
    }

    @Test func healthWatchSendsTheStatusThenEveryChange() async throws {
        try await withTimeout {
            try await withLoopback { server, client throws in
                let stream = client.serverStreaming(Health.watch, Grpc_Health_V1_HealthCheckRequest())
                var iterator = stream.makeAsyncIterator()
                #expect(try await iterator.next()?.status == .serving)
                server.health.setStatus(.notServing)
                #expect(try await iterator.next()?.status == .notServing)
                server.health.setStatus(.serving)
                #expect(try await iterator.next()?.status == .serving)
                stream.cancel()
            }
        }
    }

    @Test func healthWatchOfAnUnknownServiceSaysServiceUnknown() async throws {
        try await withTimeout {
            try await withLoopback { server, client throws in
                var request = Grpc_Health_V1_HealthCheckRequest()
                request.service = "later.Service"
                let stream = client.serverStreaming(Health.watch, request)
                var iterator = stream.makeAsyncIterator()
                #expect(try await iterator.next()?.status == .serviceUnknown)
                server.health.setStatus(.serving, for: "later.Service")
                #expect(try await iterator.next()?.status == .serving)
                stream.cancel()
            }
        }
    }

    // MARK: - Reconnect

    /// The server goes away (the call fails UNAVAILABLE), comes back on the same port, and
    /// the same client reconnects once its backoff (100 ms at first) has passed.
    @Test func clientReconnectsToARestartedServer() async throws {
        try await withTimeout {
            let first = try await LoopbackServer.start()
            let port = first.port
            let client = try GRPCClient(host: "127.0.0.1", port: port)
            var second: LoopbackServer?
            do {
                #expect(try await client.unary(TestService.emptyCall, Grpc_Testing_Empty()).message == Grpc_Testing_Empty())
                await first.shutdown()

                let error = await rpcError { try await client.unary(TestService.emptyCall, Grpc_Testing_Empty()) }
                #expect(error?.code == .unavailable)

                second = try await LoopbackServer.start(port: port)
                #expect(second?.port == port)
                let clock = ContinuousClock()
                let deadline = clock.now + .seconds(5)
                var attempts = 0
                var succeeded = false
                while !succeeded && clock.now < deadline {
                    attempts += 1
                    do {
                        _ = try await client.unary(TestService.unaryCall, Interop.unary(responseSize: 42))
                        succeeded = true
                    } catch let error as RPCError where error.code == .unavailable {
                        try await Task.sleep(for: .milliseconds(50))  // the client's backoff, not ours to wait on
                    }
                }
                #expect(succeeded, "no successful call within 5 s after the restart (\(attempts) attempts)")
            } catch {
                await client.close()
                await second?.shutdown()
                throw error
            }
            await client.close()
            await second?.shutdown()
        }
    }

    // MARK: - Client lifecycle

    @Test func closingTheClientEndsCallsInFlightUnavailable() async throws {
        try await withTimeout {
            let server = try await LoopbackServer.start()
            let client = try GRPCClient(host: "127.0.0.1", port: server.port)
            let stream = client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: Array(repeating: 10, count: 100), intervalMicroseconds: 10_000))
            var iterator = stream.makeAsyncIterator()
            let firstSize = try await iterator.next()?.payload?.body.count
            #expect(firstSize == 10)
            await client.close()
            let error = await rpcError { while try await iterator.next() != nil {} }
            #expect(error?.code == .unavailable)
            await server.shutdown()
        }
    }

    /// SlotState.withConnection answers UNAVAILABLE "the client is closed", but close()
    /// stops the client's own event loops first, so the work that would say so never runs.
    @Test func callAfterCloseFailsUnavailable() async throws {
        let server = try await LoopbackServer.start()
        let client = try GRPCClient(host: "127.0.0.1", port: server.port)
        await client.close()
        let result = await outcome(within: .seconds(1)) { try await client.unary(TestService.emptyCall, Grpc_Testing_Empty()) }
        await server.shutdown()
        switch result {
        case nil: Issue.record("the call after close() did not finish within 1 s")
        case .success: Issue.record("the call after close() succeeded")
        case .failure(let error): #expect((error as? RPCError)?.code == .unavailable, "got \(error)")
        }
    }

    @Test func closingTwiceReturns() async throws {
        let client = try GRPCClient(host: "127.0.0.1", port: 1)
        await client.close()
        let second: Result<Void, any Error>? = await outcome(within: .seconds(1)) { await client.close() }
        #expect(second != nil, "the second close() did not return within 1 s")
    }

    /// A timeout of centuries (`.seconds(.max)` as "no deadline") must saturate, not trap.
    @Test func hugeTimeoutDoesNotCrash() async {
        await #expect(processExitsWith: .success) {
            let client = try GRPCClient(host: "127.0.0.1", port: 1)  // nothing listens: the call fails UNAVAILABLE
            _ = try? await client.unary(Grpc_Testing_TestService.emptyCall, Grpc_Testing_Empty(), options: CallOptions(timeout: .seconds(Int64.max)))
            await client.close()
        }
    }

    // MARK: - Backpressure

    /// A client that stops reading must hold the server back: with flow control and the
    /// writer's high-water mark, a few MiB at most are buffered, not the 125 MiB asked for.
    @Test func slowReaderHoldsBackTheServer() async throws {
        try await withTimeout {
            try await withLoopback { _, client throws in
                let messageSize = 64 << 10
                let count = 2_000
                let baseline = try ProcessMemory.residentBytes()
                let stream = client.serverStreaming(TestService.streamingOutputCall, Interop.streaming(sizes: Array(repeating: messageSize, count: count)))
                var iterator = stream.makeAsyncIterator()
                #expect(try await iterator.next()?.payload?.body.count == messageSize)

                // Stop reading; watch memory for a second (broken backpressure would fill it in far less).
                let clock = ContinuousClock()
                let end = clock.now + .seconds(1)
                var peak = baseline
                while clock.now < end {
                    peak = max(peak, try ProcessMemory.residentBytes())
                    try await Task.sleep(for: .milliseconds(20))
                }
                let growth = peak - baseline
                #expect(growth < 64 << 20, "resident memory grew by \(growth >> 20) MiB while the client did not read")

                stream.cancel()
                var delivered = 1
                let error = await rpcError { while try await iterator.next() != nil { delivered += 1 } }
                #expect(error?.code == .cancelled)
                #expect(delivered < count / 4, "\(delivered) of \(count) messages reached the client without it reading")
            }
        }
    }
}
