import RPC

/// The request side of a client-streaming or bidirectional call: messages received and not
/// yet taken by the handler, and how the request ended. Only such calls have one, so unary
/// calls pay nothing for it. Confined to the connection's loop.
final class RequestQueue {
    private var messages: [MessageDeframer.Message] = []
    private var head = 0
    /// Wire bytes (prefix and payload) of the messages waiting for the handler.
    private(set) var queuedBytes = 0
    /// What one queued message costs beyond its bytes (its array and slot), charged against
    /// the stream's bound so a flood of tiny messages is paused like a few large ones.
    static let overheadPerMessage = 64
    /// Messages waiting for the handler.
    var count: Int { messages.count - head }
    /// Flow-control credit of bytes that arrived while the queue was over its bound. It goes
    /// back to the client only as the handler takes messages: a client that sends faster than
    /// the handler reads is paused by HTTP/2 flow control instead of filling memory.
    var heldCredit = 0
    /// The client half-closed: the handler's sequence ends after the queued messages.
    var clientFinished = false
    /// Why the handler's sequence throws: the call ended under it. Set once.
    private(set) var failure: RPCError?
    /// The handler's read, suspended until a message, the end or a failure arrives.
    var reader: CheckedContinuation<Void, Never>?

    func append(_ message: MessageDeframer.Message) {
        messages.append(message)
        queuedBytes += message.payload.count + 5
    }

    /// The oldest message not taken yet.
    func takeFirst() -> MessageDeframer.Message? {
        guard head < messages.count else { return nil }
        let message = messages[head]
        head += 1
        if head == messages.count {
            messages.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64 && head * 2 > messages.count {
            messages.removeFirst(head)
            head = 0
        }
        queuedBytes -= message.payload.count + 5
        return message
    }

    /// The call is over: the messages go, and the reader (now or later) gets `error`.
    func fail(_ error: RPCError) {
        guard failure == nil else { return }
        failure = error
        messages = []
        head = 0
        queuedBytes = 0
        wakeReader()
    }

    /// Lets a suspended read look again (a message, the end or a failure arrived).
    func wakeReader() {
        guard let reader else { return }
        self.reader = nil
        reader.resume()
    }
}
