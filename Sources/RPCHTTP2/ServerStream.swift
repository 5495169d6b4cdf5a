import EventLoop
import RPC

/// One gRPC call on a server connection: request headers as they arrive, the request
/// message, the running handler, and the response bytes waiting for flow control.
/// Confined to the connection's event loop.
final class ServerStream {
    let id: Int32

    // Request headers (filled by the on_header callback).
    var method = ""
    var path = ""
    var contentType: [UInt8] = []
    var teIsTrailers = false
    var teSeen = false
    var timeout: [UInt8]?
    var encoding: [UInt8]?
    var clientAcceptsGzip = false
    var metadata = Metadata()
    /// A header we must reject the call for (e.g. undecodable `-bin` value).
    var headerProblem: RPCError?

    // Request body.
    var deframer: MessageDeframer
    var requestMessages: [MessageDeframer.Message] = []

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
    var serverMethod: ServerMethod?
    var context: ServerContext?
    var task: Task<Void, Never>?
    var deadlineTimer: LoopTimer?

    // Response.
    var headersSent = false
    var respondsCompressed = false
    var outbound: [UInt8] = []
    var outboundOffset = 0
    var pendingStatus: (status: Status, trailers: Metadata)?
    var writerWaiting: CheckedContinuation<Void, any Error>?

    var outboundCount: Int { outbound.count - outboundOffset }

    init(id: Int32, maxMessageBytes: Int) {
        self.id = id
        self.deframer = MessageDeframer(maxMessageBytes: maxMessageBytes)
    }
}
