public import EventLoop
public import RPC
import Synchronization
public import TLS

/// Per-call settings.
public struct CallOptions: Sendable {
    /// How long the caller waits; sent as `grpc-timeout` and enforced locally too.
    public var timeout: Duration?
    public var metadata = Metadata()
    /// Send the request gzip-compressed.
    public var compressRequest = false
    public var maxReceiveMessageBytes = 64 << 20
    public var maxSendMessageBytes = 64 << 20

    public init(timeout: Duration? = nil, metadata: Metadata = Metadata()) {
        self.timeout = timeout
        self.metadata = metadata
    }
}

/// Client settings: how many connections, TLS or not, and how to back off between failed
/// connects.
public struct ClientConfiguration: Sendable {
    /// HTTP/2 connections to open lazily and use round-robin.
    public var connections = 1
    /// TLS with ALPN h2 (the server's certificate checked against `serverName` or the host);
    /// nil speaks cleartext h2c.
    public var tls: TLSClientConfiguration?
    public var initialBackoff: Duration = .milliseconds(100)
    public var maxBackoff: Duration = .seconds(10)
    public var backoffMultiplier = 1.6
    /// ± this fraction of randomness on every backoff, so clients do not reconnect in step.
    public var backoffJitter = 0.2

    public init() {}
}

/// A unary response with its metadata.
public struct ClientResponse<Message: RPCMessage>: Sendable {
    public let message: Message
    public let initialMetadata: Metadata
    public let trailingMetadata: Metadata
}

/// A gRPC client over HTTP/2 (h2c, or TLS with `ClientConfiguration.tls`). Connects lazily,
/// reconnects after a lost connection with jittered exponential backoff, and multiplexes calls
/// over its connections.
public final class GRPCClient: Sendable {
    public let host: String
    public let port: Int
    private let group: EventLoopGroup
    private let ownsGroup: Bool
    private let slots: [ConnectionSlot]
    private let next = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)

    /// `group` nil: the client makes (and shuts down) its own, one loop per connection.
    public init(host: String, port: Int, configuration: ClientConfiguration = ClientConfiguration(), group: EventLoopGroup? = nil) throws(SystemCallError) {
        self.host = host
        self.port = port
        let loops: EventLoopGroup
        if let group {
            loops = group
        } else {
            loops = try EventLoopGroup(loopCount: min(max(1, configuration.connections), EventLoopGroup.coreCount))
        }
        self.group = loops
        ownsGroup = group == nil
        slots = (0..<max(1, configuration.connections)).map { _ in
            ConnectionSlot(loop: loops.next(), host: host, port: port, configuration: configuration)
        }
    }

    /// Closes the connections (calls in flight end UNAVAILABLE) and stops owned loops.
    public func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for slot in slots {
            await withCheckedContinuation { continuation in
                slot.loop.execute {
                    slot.state.close()
                    continuation.resume()
                }
            }
        }
        if ownsGroup { group.shutdown() }
    }

    var isClosed: Bool { closed.load(ordering: .acquiring) }

    func slot() -> ConnectionSlot {
        slots[next.wrappingAdd(1, ordering: .relaxed).oldValue % slots.count]
    }

    // MARK: Calls

    public func unary<Request, Response>(
        _ method: TypedMethodDescriptor<Request, Response>, _ request: Request, options: CallOptions = CallOptions()
    ) async throws -> ClientResponse<Response> {
        guard !closed.load(ordering: .acquiring) else { throw Self.closedError }
        let frame = try Self.validatedFrame(request, options: options)
        let call = UnaryCall<Response>(options: options)
        let slot = slot()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                call.continuation = continuation
                slot.loop.execute {
                    slot.state.start(path: method.descriptor.path, frame: frame, options: options, observer: call)
                }
            }
        } onCancel: {
            slot.loop.execute { call.cancel() }
        }
    }

    /// Starts a server-streaming call; iterate the result for the messages. The stream
    /// ends when the server's status is OK and throws `RPCError` otherwise.
    public func serverStreaming<Request, Response>(
        _ method: TypedMethodDescriptor<Request, Response>, _ request: Request, options: CallOptions = CallOptions()
    ) -> ResponseStream<Response> {
        let stream = ResponseStream<Response>(options: options)
        guard !closed.load(ordering: .acquiring) else {
            stream.buffer.finished(Self.closedError.status, trailers: Metadata())
            return stream
        }
        do {
            let frame = try Self.validatedFrame(request, options: options)
            let slot = slot()
            stream.buffer.loop = slot.loop
            slot.loop.execute {
                slot.state.start(path: method.descriptor.path, frame: frame, options: options, observer: stream.buffer)
            }
        } catch let error as RPCError {
            stream.buffer.finished(error.status, trailers: Metadata())
        } catch {
            stream.buffer.finished(Status(code: .internal, message: "\(error)"), trailers: Metadata())
        }
        return stream
    }

    static let closedError = RPCError(code: .unavailable, message: "the client is closed")

    private static func validatedFrame(_ request: some RPCMessage, options: CallOptions) throws -> [UInt8] {
        try validate(options.metadata)
        return try frame(request, options: options)
    }

    /// One request message as a gRPC frame: within the send limit, compressed if asked.
    static func frame(_ request: some RPCMessage, options: CallOptions) throws(RPCError) -> [UInt8] {
        var frame = request.serializedFrame()
        guard frame.count - 5 <= options.maxSendMessageBytes else {
            throw RPCError(code: .resourceExhausted, message: "request message of \(frame.count - 5) bytes exceeds the send limit of \(options.maxSendMessageBytes) bytes")
        }
        if options.compressRequest {
            let packed = frame.withUnsafeBytes { Gzip.compress(UnsafeRawBufferPointer(rebasing: $0[5...])) }
            let n = UInt32(packed.count)
            frame = [1, UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + packed
        }
        return frame
    }
}

extension GRPCClient {
    /// gRPC allows lower-case token keys and printable ASCII text values (bytes go in `-bin`
    /// keys). Anything else would reach the wire as a malformed header that the server resets
    /// the stream for: refuse it here, saying which key.
    static func validate(_ metadata: Metadata) throws {
        for entry in metadata {
            guard !entry.key.isEmpty, entry.key.utf8.allSatisfy({ byte in
                (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2D || byte == 0x5F || byte == 0x2E
            }) else {
                throw RPCError(code: .internal, message: "metadata key '\(entry.key)' is not a lower-case gRPC header name")
            }
            if case .text(let value) = entry.value, !value.utf8.allSatisfy({ $0 == 0x09 || (0x20...0x7E).contains($0) }) {
                throw RPCError(code: .internal, message: "metadata '\(entry.key)' has a character gRPC does not allow in a text value (printable ASCII only; bytes go in a -bin key)")
            }
        }
    }
}

/// Something a call can be cancelled through once it started (loop-confined).
class CallHandle {
    weak var connection: ClientConnection?
    var streamID: Int32 = 0
    var deadlineTimer: LoopTimer?
    var cancelledBeforeStart = false
    /// Client-streaming and bidirectional calls: their request messages on the way out.
    var outbox: RequestOutbox?

    func cancel() {
        if let connection, streamID > 0 {
            connection.cancel(streamID)
        } else {
            cancelledBeforeStart = true
        }
    }
}

/// One lazily connected HTTP/2 connection and its reconnect state.
final class ConnectionSlot: @unchecked Sendable {
    // `state` is confined to `loop`; only `loop` is touched from other threads.
    let loop: EventLoop
    let state: SlotState

    init(loop: EventLoop, host: String, port: Int, configuration: ClientConfiguration) {
        self.loop = loop
        self.state = SlotState(loop: loop, host: host, port: port, configuration: configuration)
    }
}

final class SlotState {
    let loop: EventLoop
    let host: String
    let port: Int
    let configuration: ClientConfiguration
    private var connection: ClientConnection?
    private var connecting = false
    private var waiting: [(ClientConnection?, Status?) -> Void] = []
    private var backoff: Duration
    private var nextAttempt: UInt64 = 0
    private var closed = false

    init(loop: EventLoop, host: String, port: Int, configuration: ClientConfiguration) {
        self.loop = loop
        self.host = host
        self.port = port
        self.configuration = configuration
        self.backoff = configuration.initialBackoff
    }

    /// Starts a call on a usable connection: `frame` is the one request message, or, for a
    /// call with an `outbox`, empty (the outbox feeds the request stream).
    func start(path: String, frame: [UInt8], options: CallOptions, observer: some ClientStreamObserver & CallHandle) {
        guard !observer.cancelledBeforeStart else {
            observer.finished(Status(code: .cancelled, message: "cancelled before it started"), trailers: Metadata())
            return
        }
        var headers = HeaderList()
        var deadline: UInt64?
        if let timeout = options.timeout {
            let nanoseconds = timeout.saturatingNanoseconds
            headers.add("grpc-timeout", GRPCTimeout.encode(nanoseconds: max(1, nanoseconds)))
            let now = monotonicNanoseconds()
            deadline = nanoseconds > UInt64.max - now ? UInt64.max : now + nanoseconds
        }
        headers.add("grpc-accept-encoding", "gzip,identity")
        if options.compressRequest { headers.add("grpc-encoding", "gzip") }
        for entry in options.metadata {
            switch entry.value {
            case .text(let text): headers.add(entry.key, text)
            case .binary(let bytes): headers.add(entry.key, Base64.encode(bytes))
            }
        }
        if let deadline {
            observer.deadlineTimer = loop.schedule(at: deadline) { [weak observer] in
                guard let observer else { return }
                // Report the deadline first: the reset below would report CANCELLED.
                observer.finished(Status(code: .deadlineExceeded, message: "deadline exceeded"), trailers: Metadata())
                if let connection = observer.connection, observer.streamID > 0 { connection.cancel(observer.streamID) }
            }
        }
        withConnection { connection, failure in
            guard let connection else {
                observer.finished(failure ?? Status(code: .unavailable, message: "no connection"), trailers: Metadata())
                return
            }
            guard let id = connection.start(
                path: path, headers: headers, request: frame, outbox: observer.outbox, maxReceiveBytes: options.maxReceiveMessageBytes, observer: observer
            ) else {
                observer.finished(Status(code: .unavailable, message: "the connection cannot take new calls"), trailers: Metadata())
                return
            }
            observer.connection = connection
            observer.streamID = id
        }
    }

    /// Calls `body` with a usable connection, connecting (after any backoff) if needed.
    private func withConnection(_ body: @escaping (ClientConnection?, Status?) -> Void) {
        if let connection, connection.isUsable {
            body(connection, nil)
            return
        }
        guard !closed else {
            body(nil, Status(code: .unavailable, message: "the client is closed"))
            return
        }
        waiting.append(body)
        guard !connecting else { return }
        connecting = true
        let now = monotonicNanoseconds()
        if nextAttempt > now {
            loop.schedule(at: nextAttempt) { [weak self] in self?.connect() }
        } else {
            connect()
        }
    }

    private func connect() {
        let connection = ClientConnection(loop: loop, authority: "\(host):\(port)", scheme: configuration.tls == nil ? "http" : "https")
        TCPConnection.connect(on: loop, host: host, port: port, handler: connection) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let tcp):
                if let tls = self.configuration.tls {
                    self.startTLS(over: tcp, tls, for: connection)
                } else {
                    self.connected(connection, over: tcp)
                }
            case .failure(let error):
                self.connectFailed("cannot connect to \(self.host):\(self.port): \(error)")
            }
        }
    }

    /// Puts TLS between the socket and HTTP/2; the connection is ready once the handshake
    /// succeeded (a failed one backs off like a failed connect).
    private func startTLS(over tcp: TCPConnection, _ tls: TLSClientConfiguration, for connection: ClientConnection) {
        let stream: TLSStream
        do {
            stream = try TLSStream.client(
                over: tcp, context: tls.context, serverName: tls.serverName ?? host, handshakeTimeoutNanoseconds: tls.handshakeTimeoutNanoseconds)
        } catch {
            tcp.close()
            connectFailed("cannot start TLS with \(host):\(port): \(error)")
            return
        }
        stream.handler = connection
        tcp.handler = stream
        stream.onHandshake = { [weak self, weak stream] result in
            guard let self, let stream else { return }
            switch result {
            case .success: self.connected(connection, over: stream)
            case .failure(let error): self.connectFailed("TLS handshake with \(self.host):\(self.port) failed: \(error)")
            }
        }
        stream.start()
    }

    private func connected(_ connection: ClientConnection, over stream: any ByteStream) {
        guard !closed else {
            // Closed while connecting: nobody will close this one later.
            stream.close()
            connectFailed("the client is closed")
            return
        }
        connecting = false
        let waiters = waiting
        waiting = []
        connection.connection = stream
        connection.onUnusable = { [weak self, weak connection] in
            if let self, self.connection === connection { self.connection = nil }
        }
        self.connection = connection
        backoff = configuration.initialBackoff
        nextAttempt = 0
        waiters.forEach { $0(connection, nil) }
    }

    /// Jittered exponential backoff before the next attempt; the waiting calls fail.
    private func connectFailed(_ reason: String) {
        connecting = false
        let waiters = waiting
        waiting = []
        let jitter = 1 + Double.random(in: -configuration.backoffJitter...configuration.backoffJitter)
        nextAttempt = monotonicNanoseconds() + (backoff * jitter).saturatingNanoseconds
        backoff = min(configuration.maxBackoff, backoff * configuration.backoffMultiplier)
        let status = Status(code: .unavailable, message: reason)
        waiters.forEach { $0(nil, status) }
    }

    func close() {
        closed = true
        connection?.connection?.close()
        connection = nil
    }
}

/// The observer of a call with one response (unary, client streaming): collects it and
/// hands the outcome to the caller, waiting already (unary) or later (`response(on:)`).
final class UnaryCall<Response: RPCMessage>: CallHandle, ClientStreamObserver, @unchecked Sendable {
    // Loop-confined after start; `continuation` is set before the call is handed to the loop.
    var continuation: CheckedContinuation<ClientResponse<Response>, any Error>?
    let options: CallOptions
    private var initialMetadata = Metadata()
    private var payload: (bytes: [UInt8], compressed: Bool)?
    private var extraMessage = false
    /// How the call ended, kept until someone asks (client streaming asks after writing).
    private var outcome: Result<ClientResponse<Response>, any Error>?

    init(options: CallOptions) { self.options = options }

    func receivedHeaders(_ metadata: Metadata) { initialMetadata = metadata }

    /// One message at most, bounded by the receive limit: never holds credit back.
    var isSaturated: Bool { false }

    func receivedMessage(_ payload: [UInt8], compressed: Bool) -> Bool {
        if self.payload != nil {
            extraMessage = true
            return false
        }
        self.payload = (payload, compressed)
        return true
    }

    func finished(_ status: Status, trailers: Metadata) {
        deadlineTimer?.cancel()
        outbox?.callEnded(status, trailers: trailers)
        guard outcome == nil else { return }
        let outcome = makeOutcome(status, trailers: trailers)
        self.outcome = outcome
        if let continuation {
            self.continuation = nil
            continuation.resume(with: outcome)
        }
    }

    /// The response, once the call ended (waits for it).
    func response(on loop: EventLoop) async throws -> ClientResponse<Response> {
        try await withCheckedThrowingContinuation { continuation in
            loop.execute {
                if let outcome = self.outcome {
                    continuation.resume(with: outcome)
                } else {
                    self.continuation = continuation
                }
            }
        }
    }

    /// Whether the call ended already.
    func hasEnded(on loop: EventLoop) async -> Bool {
        await withCheckedContinuation { continuation in
            loop.execute { continuation.resume(returning: self.outcome != nil) }
        }
    }

    private func makeOutcome(_ status: Status, trailers: Metadata) -> Result<ClientResponse<Response>, any Error> {
        if extraMessage {
            return .failure(RPCError(code: .internal, message: "the server sent more than one response message to a call with one response"))
        }
        guard status.code == .ok else {
            return .failure(RPCError(code: status.code, message: status.message, metadata: trailers))
        }
        guard let payload else {
            return .failure(RPCError(code: .internal, message: "the server sent no response message"))
        }
        do {
            let bytes = payload.compressed ? try Gzip.decompressResponse(payload.bytes, limit: options.maxReceiveMessageBytes) : payload.bytes
            let message = try Response(serializedBytes: bytes)
            return .success(ClientResponse(message: message, initialMetadata: initialMetadata, trailingMetadata: trailers))
        } catch let error as RPCError {
            return .failure(error)
        } catch {
            return .failure(RPCError(code: .internal, message: "cannot decode the \(Response.protoName) response", cause: error))
        }
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to 0...UInt64.max (a timeout of centuries must not trap).
    var saturatingNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .max }
        let (total, overflow2) = whole.addingReportingOverflow(UInt64(max(0, attoseconds) / 1_000_000_000))
        return overflow2 ? .max : total
    }
}
