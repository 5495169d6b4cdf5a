/// What a handler knows about its call, and what it may set on the response.
///
/// One per call, used by that call's handler task (which runs on its connection's event
/// loop) and by the transport on the same loop; hence no locking.
public final class ServerContext: @unchecked Sendable {
    public let method: MethodDescriptor
    public let requestMetadata: Metadata
    /// When the caller stops waiting, on the monotonic clock in nanoseconds; nil = no deadline.
    public let deadline: UInt64?
    /// The peer's address, for logs.
    public let peer: String
    /// Shared by the calls of the same connection (a fresh one where there is none).
    public let connection: ConnectionScope
    /// Whether the request message arrived compressed; for a stream of requests, whether the
    /// one taken last did.
    public package(set) var requestWasCompressed: Bool

    /// Sent with the response headers (before the first message); set it before writing.
    public var initialMetadata = Metadata()
    /// Sent with the status at the end of the call.
    public var trailingMetadata = Metadata()
    /// Compress response messages (gzip) when the client accepts it.
    public var compressResponses = false

    public init(
        method: MethodDescriptor, requestMetadata: Metadata, deadline: UInt64?, peer: String, requestWasCompressed: Bool,
        connection: ConnectionScope = ConnectionScope()
    ) {
        self.method = method
        self.requestMetadata = requestMetadata
        self.deadline = deadline
        self.peer = peer
        self.connection = connection
        self.requestWasCompressed = requestWasCompressed
    }
}

/// A message already encoded as a gRPC frame: encode once, send to many streams.
public struct EncodedMessage: Sendable {
    /// The uncompressed length-prefixed frame (flag byte, length, protobuf bytes).
    public let frame: [UInt8]

    @inlinable
    public init(_ message: some RPCMessage) { frame = message.serializedFrame() }

    public init(frame: [UInt8]) {
        precondition(frame.count >= 5 && frame[0] == 0, "an EncodedMessage holds an uncompressed gRPC frame")
        self.frame = frame
    }

    public var payloadCount: Int { frame.count - 5 }
}

/// Where a handler's response messages go; implemented by a transport.
public protocol ServerResponseSink: Sendable {
    /// Queues one message; suspends while the stream holds more than its budget of unsent
    /// bytes (backpressure), throws once the call is over (cancelled, deadline, closed).
    func write(_ message: EncodedMessage, compressed: Bool) async throws
    /// The push interface of the call, when the transport offers one.
    var pushStream: (any ServerPushStream)? { get }
}

extension ServerResponseSink {
    public var pushStream: (any ServerPushStream)? { nil }
}

/// Writes the messages of a server-streaming response.
public struct ServerStreamWriter<Message: RPCMessage>: Sendable {
    let sink: any ServerResponseSink

    public init(sink: any ServerResponseSink) { self.sink = sink }

    public func write(_ message: Message, compressed: Bool = false) async throws {
        try await sink.write(EncodedMessage(message), compressed: compressed)
    }

    /// Writes a message encoded earlier (the same bytes may go to many streams).
    public func write(encoded: EncodedMessage, compressed: Bool = false) async throws {
        try await sink.write(encoded, compressed: compressed)
    }

    /// The call's push interface (fan-out without awaiting each write), when the transport
    /// offers one.
    public var pushStream: (any ServerPushStream)? { sink.pushStream }
}

/// The thread a call lives on (its connection's event loop), for code that must run there:
/// fan-out producers pushing to many calls, their timers.
public protocol CallExecutor: AnyObject, Sendable {
    /// Runs `work` on the executor's thread, after what is already queued there.
    func execute(_ work: @escaping @Sendable () -> Void)
    /// Calls `work` on the executor's thread once `nanoseconds` have passed. Call it on the
    /// executor's thread.
    func schedule(afterNanoseconds nanoseconds: UInt64, _ work: @escaping () -> Void) -> any CallTimer
    /// Whether the caller runs on the executor's thread.
    var isCurrent: Bool { get }
}

/// A timer set with `CallExecutor.schedule`; cancel it on the executor's thread.
public protocol CallTimer: AnyObject {
    func cancel()
}

/// The push side of a server-streaming call: for a producer that must never wait on any one
/// call (fan-out of one event to thousands of streams), messages are handed over
/// synchronously and queued; the producer bounds what it queues with `unsentBytes`. Use it
/// on `executor` only.
public protocol ServerPushStream: AnyObject, Sendable {
    var executor: any CallExecutor { get }
    /// Queues `message` after those queued before; false once the call is over (nothing is
    /// queued then).
    func push(_ message: EncodedMessage) -> Bool
    /// Bytes queued and not yet taken by the peer's flow control.
    var unsentBytes: Int { get }
    /// Calls `body` once, on the executor, when the unsent bytes have fallen to the stream's
    /// low-water mark (at once if they are there already). Not called if the call ends first.
    func whenDrained(_ body: @escaping () -> Void)
    /// Hands the call over to the producer: once the handler returns, the call stays open
    /// with no task behind it (a task's stack is most of what an idle stream would cost)
    /// until the producer calls `finish`. `onClose` runs once, on the executor, if the call
    /// ends any other way first: the client cancelled, the deadline passed, the connection
    /// closed, or the handler threw after all (its error is then the status). Call it from
    /// the handler, on the executor; false when the call is already over.
    func detach(onClose: @escaping () -> Void) -> Bool
    /// Ends a detached call: `status` and `trailers` follow the messages pushed before. On
    /// the executor; does nothing once the call is over or `onClose` ran (trailing metadata
    /// the handler set on its context is not sent: these trailers are).
    func finish(status: Status, trailers: Metadata)
}
