import CellHubProto
import CellHubServer
import EventLoop
import Logging
import RPC
import RPCHTTP2
import CLinuxShim
import Synchronization
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What a hostile or broken peer must not be able to do to the server: make a loop spin
/// after its EOF, leave a call without an answer, make the server hold its request bytes
/// without bound, or carry a status message of any size. In memory (`ServerHarness`, hand-made
/// frames) where the bytes matter, over loopback where a real client must hear the status.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct HardeningTests {
    static let unaryPath = "/grpc.testing.TestService/UnaryCall"

    static func harness(configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> ServerHarness {
        var configuration = ServerConfiguration()
        configuration.keepaliveIntervalNanoseconds = nil
        configuration.idleTimeoutNanoseconds = nil
        configure(&configuration)
        return try ServerHarness(configuration: configuration, services: [InteropTestService(), HealthService()], logger: LoopbackServer.logger)
    }

    static func send(_ stream: MemoryByteStream, _ bytes: [UInt8], on loop: EventLoop) {
        bytes.withUnsafeBytes { stream.receive($0) }
        loop.runUntilIdle()
    }

    // MARK: EOF

    /// A peer that announces more request bytes than it sends and then half-closes: the
    /// incomplete call is answered (a status, then a reset: the client sends nothing more),
    /// and the connection closes; nothing is left holding request bytes.
    @Test func eofInsideARequestEndsTheCallAndClosesTheConnection() throws {
        let harness = try Self.harness()
        let client = harness.connect()
        Self.send(client, H2Frames.start + H2Frames.requestHeaders(stream: 1, path: Self.unaryPath)
            + H2Frames.data(stream: 1, H2Frames.grpcMessage(announcing: 1_000, sending: 10)), on: harness.loop)
        #expect(harness.heldRequestBytes == 15)
        client.receiveEOF()
        harness.loop.runUntilIdle()
        let frames = H2Frames.parse(client.written).filter { $0.stream == 1 }
        #expect(frames.map(\.type) == [H2Frames.Frame.headers, H2Frames.Frame.rstStream], "\(frames)")
        #expect(frames.first?.endStream == true)
        #expect(client.isClosed)
        #expect(harness.heldRequestBytes == 0)
        #expect(harness.liveConnectionCount == 0)
    }

    /// A complete call in flight when the peer half-closes still gets its answer, then the
    /// connection closes.
    @Test func eofAfterACompleteRequestStillAnswersIt() throws {
        let harness = try Self.harness()
        let client = harness.connect()
        var request = Grpc_Testing_SimpleRequest()
        request.responseSize = 7
        Self.send(client, H2Frames.start + H2Frames.requestHeaders(stream: 1, path: Self.unaryPath)
            + H2Frames.data(stream: 1, request.serializedFrame(), endStream: true), on: harness.loop)
        client.receiveEOF()
        harness.loop.runUntilIdle()
        let frames = H2Frames.parse(client.written).filter { $0.stream == 1 }
        #expect(frames.map(\.type) == [H2Frames.Frame.headers, H2Frames.Frame.data, H2Frames.Frame.headers], "\(frames)")
        #expect(frames.last?.endStream == true)
        #expect(client.isClosed)
    }

    // MARK: Request bytes

    /// Many connections each holding part of a large message: together they never hold more
    /// than the server-wide budget; the calls that would pass it are answered at once
    /// (RESOURCE_EXHAUSTED, then a reset), and closing the connections releases everything.
    @Test func requestBytesAreBoundedServerWide() throws {
        let budget = 4 << 20
        let harness = try Self.harness {
            $0.maxReceiveMessageBytes = 1 << 20
            $0.maxBufferedRequestBytes = budget
        }
        var clients: [MemoryByteStream] = []
        var refused = 0
        for _ in 0..<20 {
            let client = harness.connect()
            clients.append(client)
            // 600 KB of a 1 MB message, within the server's initial stream window (1 MiB, in
            // force once its SETTINGS are acknowledged).
            var bytes = H2Frames.start + H2Frames.settingsAck + H2Frames.requestHeaders(stream: 1, path: Self.unaryPath)
            let message = H2Frames.grpcMessage(announcing: 1 << 20, sending: 600_000)
            for start in stride(from: 0, to: message.count, by: 16_384) {
                bytes += H2Frames.data(stream: 1, Array(message[start..<min(start + 16_384, message.count)]))
            }
            Self.send(client, bytes, on: harness.loop)
            #expect(harness.heldRequestBytes <= budget)
            if H2Frames.parse(client.written).contains(where: { $0.stream == 1 && $0.type == H2Frames.Frame.rstStream }) { refused += 1 }
        }
        #expect(refused >= 20 - budget / 600_000, "only \(refused) of 20 calls were refused")
        #expect(refused < 20)
        for client in clients { client.close() }
        harness.loop.runUntilIdle()
        #expect(harness.heldRequestBytes == 0)
    }

    /// A request that stops arriving ends CANCELLED once the stall timeout passes.
    @Test func stalledRequestEndsAfterTheStallTimeout() async throws {
        let harness = try Self.harness { $0.requestStallTimeoutNanoseconds = 50_000_000 }
        let client = harness.connect()
        Self.send(client, H2Frames.start + H2Frames.requestHeaders(stream: 1, path: Self.unaryPath)
            + H2Frames.data(stream: 1, H2Frames.grpcMessage(announcing: 1_000, sending: 10)), on: harness.loop)
        #expect(!H2Frames.parse(client.written).contains { $0.stream == 1 && $0.type == H2Frames.Frame.headers })
        try await Task.sleep(for: .milliseconds(80))
        harness.loop.runUntilIdle()
        let frames = H2Frames.parse(client.written).filter { $0.stream == 1 }
        #expect(frames.map(\.type) == [H2Frames.Frame.headers, H2Frames.Frame.rstStream], "\(frames)")
        #expect(harness.heldRequestBytes == 0)
        #expect(!client.isClosed, "only the call ends, not the connection")
    }

    // MARK: Statuses

    /// A status message of any size reaches the client cut to 1,024 bytes with an ellipsis.
    @Test func longStatusMessagesAreCut() async throws {
        let echo = EchoStatusService()
        try await withTimeout {
            try await withLoopback(extraServices: [echo]) { _, client throws in
                var request = Grpc_Testing_SimpleRequest()
                var status = Grpc_Testing_EchoStatus()
                status.code = 9
                status.message = String(repeating: "é", count: 50_000)
                request.responseStatus = status
                let error = await rpcError { try await client.unary(EchoStatusService.fail, request) }
                #expect(error?.code == .failedPrecondition)
                let message = error?.message ?? ""
                #expect(message.hasSuffix("…"))
                #expect(message.utf8.count <= 1_024 + 3)
                #expect(message.dropLast().allSatisfy { $0 == "é" })
            }
        }
    }

    /// Trailers too large for any header block cannot be sent: the stream is reset and the
    /// client hears INTERNAL at once instead of waiting forever.
    @Test func unsendableTrailersResetTheStream() async throws {
        let echo = EchoStatusService()
        try await withTimeout {
            try await withLoopback(extraServices: [echo]) { _, client throws in
                let started = ContinuousClock.now
                let error = await rpcError { try await client.unary(EchoStatusService.hugeTrailers, Grpc_Testing_SimpleRequest()) }
                #expect(error?.code == .internal)
                #expect(ContinuousClock.now - started < .seconds(5))
            }
        }
    }

    /// Calls with far deadlines on a connection that closes leave no timer behind.
    @Test func closingAConnectionCancelsItsCallsDeadlineTimers() throws {
        let harness = try Self.harness()
        for _ in 0..<50 {
            let client = harness.connect()
            var bytes = H2Frames.start
            for stream in stride(from: UInt32(1), through: 39, by: 2) {
                bytes += H2Frames.requestHeaders(stream: stream, path: Self.unaryPath, extra: [("grpc-timeout", "99999999H")])
            }
            Self.send(client, bytes, on: harness.loop)
            client.close()
            harness.loop.runUntilIdle()
        }
        // 50 connections × 20 calls: without the fix every deadline timer stays in the heap.
        #expect(harness.loop.pendingTimerCount < 200, "\(harness.loop.pendingTimerCount) timers left")
    }

    // MARK: Loop

    /// A loop whose busy poll is preempted — another thread wants the CPU it spins on, as
    /// the blocking pool or the store's writer do on a shared core — stops spinning for a
    /// while instead of taking that CPU after every I/O.
    @Test func aPreemptedSpinPausesTheBusyPoll() throws {
        let loop = try EventLoop(busyPollNanoseconds: 20_000_000)
        let cpu = max(0, cellhub_first_allowed_cpu())
        let competing = Atomic<Bool>(true)
        onThreads(3) { role in
            switch role {
            case 0:
                Self.pin(to: cpu)
                loop.run()
            case 1:
                Self.pin(to: cpu)
                while competing.load(ordering: .relaxed) {}
            default:
                // Each wake-up is I/O after which the loop spins, next to a thread that never yields.
                for _ in 0..<20 {
                    loop.execute {}
                    usleep(30_000)
                }
                competing.store(false, ordering: .relaxed)
                loop.stop()
            }
        }
        #expect(loop.spinsPaused >= 1, "the spin never noticed the competing thread")
        #expect(loop.spinsPaused <= 2, "paused for a second each time: \(loop.spinsPaused) pauses in 0.6 s")
    }

    static func pin(to cpu: Int32) {
        precondition(cellhub_pin_thread(cpu) == 0, "sched_setaffinity failed")
    }

    /// Timers cancelled long before their deadline (every closed connection's) are swept
    /// out as the heap grows, instead of piling up until they are due.
    @Test func cancelledTimersDoNotPileUp() throws {
        let loop = try EventLoop()
        loop.runUntilIdle()
        for _ in 0..<100_000 {
            loop.schedule(afterNanoseconds: 3_600_000_000_000) {}.cancel()
        }
        #expect(loop.pendingTimerCount <= 2_048)
    }
}

/// Test-only methods that end calls in ways no real handler should: a status message of
/// any size, or trailers too large to send.
struct EchoStatusService: RPCService {
    static let fail = TypedMethodDescriptor<Grpc_Testing_SimpleRequest, Grpc_Testing_SimpleResponse>(
        service: "cellhub.test.Echo", method: "Fail", kind: .unary)
    static let hugeTrailers = TypedMethodDescriptor<Grpc_Testing_SimpleRequest, Grpc_Testing_SimpleResponse>(
        service: "cellhub.test.Echo", method: "HugeTrailers", kind: .unary)

    var methods: [ServerMethod] {
        [
            .unary(Self.fail) { request, _ in
                let status = request.responseStatus ?? Grpc_Testing_EchoStatus()
                throw RPCError(code: StatusCode(rawValue: Int(status.code)), message: status.message)
            },
            .unary(Self.hugeTrailers) { _, context in
                context.trailingMetadata.add("x-huge", String(repeating: "t", count: 200_000))
                return Grpc_Testing_SimpleResponse()
            },
        ]
    }
}
