import EventLoop
import RPC

/// One gRPC call on a server connection: request headers as they arrive, the request
/// message, the running handler, and the response bytes waiting for flow control.
/// Confined to the connection's event loop.
final class ServerStream {
    let id: Int32

    // Request headers (filled by the on_header callback).
    var methodIsPOST = false
    /// Routed as soon as `:path` arrives (bytes compared, no String made).
    var route: Route?
    /// `:path` kept as text only when it matched no method (for the error message).
    var unknownPath: String?
    var contentTypeIsGRPC = false
    /// The content-type, kept as text only when it is not gRPC (for the 415 message).
    var otherContentType = ""
    var teIsTrailers = false
    var teSeen = false
    var timeout: [UInt8]?
    var encoding: [UInt8]?
    var clientAcceptsGzip = false
    var metadata = Metadata()
    var headerBytes = 0
    /// A header we must reject the call for (e.g. undecodable `-bin` value).
    var headerProblem: RPCError?

    var deadline: UInt64?

    // Request body: exactly one message for unary and server-streaming methods; for
    // client-streaming and bidirectional ones, `requests` takes the messages.
    var deframer: MessageDeframer
    /// Request bytes this stream holds against the connection's budget.
    var bufferedBytes = 0
    /// Flow-control credit not yet returned because the connection was over budget.
    var withheldCredit = 0
    /// When request bytes last arrived (the stall timeout counts from here).
    var lastRequestBytesAt: UInt64 = 0
    var requestMessage: MessageDeframer.Message?
    var extraRequestMessage = false
    /// Client-streaming and bidirectional calls only: the messages on their way to the handler.
    var requests: RequestQueue?

    // The call.
    enum Phase {
        case receivingHeaders
        case receivingMessage
        case running
        /// Status decided; trailers go out after the buffered messages.
        case finishing
        case closed
    }
    var phase = Phase.receivingHeaders
    var context: ServerContext?
    var task: Task<Void, Never>?
    /// Handed to a producer (`ServerPushStream.detach`): the call outlives its handler.
    var detached = false
    /// The producer's hook for an end it did not cause (cleared when it finishes the call).
    var onClose: (() -> Void)?

    /// The producer's hook, taken: set while the producer owns the call, at most once after.
    func takeOnClose() -> (() -> Void)? {
        defer { onClose = nil }
        return onClose
    }
    var deadlineTimer: LoopTimer?

    // Response.
    var headersSent = false
    var respondsCompressed = false
    var outbound: [UInt8] = []
    var outboundOffset = 0
    var pendingStatus: (status: Status, trailers: Metadata)?
    var writerWaiting: CheckedContinuation<Void, any Error>?
    /// A pusher waiting for the unsent bytes to fall to the low-water mark.
    var drainWaiter: (() -> Void)?
    /// Reset the stream (NO_ERROR) once the early status is sent: the client is still sending.
    var resetAfterResponse = false

    var outboundCount: Int { outbound.count - outboundOffset }

    /// Whether the call waits for request bytes the client owes: a message not yet complete
    /// (stalls are timed from `lastRequestBytesAt`). A streaming call whose credit we hold
    /// back owes nothing: its handler is not reading.
    var awaitsRequestBytes: Bool {
        if phase == .receivingMessage { return true }
        guard phase == .running, let requests else { return false }
        return !requests.clientFinished && requests.heldCredit == 0 && deframer.hasPartialMessage
    }

    /// The request path, for logs and messages.
    var path: String { route?.method.descriptor.path ?? unknownPath ?? "" }

    init(id: Int32, maxMessageBytes: Int) {
        self.id = id
        self.deframer = MessageDeframer(maxMessageBytes: maxMessageBytes)
    }
}
