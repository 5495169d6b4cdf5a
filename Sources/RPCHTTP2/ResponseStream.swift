import EventLoop
public import RPC
import Synchronization

/// The messages of a server-streaming call, as an async sequence. Iteration ends when the
/// server's status is OK and throws `RPCError` otherwise; leaving the loop early (or
/// cancelling the task) cancels the call.
public struct ResponseStream<Message: RPCMessage>: AsyncSequence, Sendable {
    let buffer: StreamBuffer

    init(options: CallOptions) { buffer = StreamBuffer(options: options) }

    public func makeAsyncIterator() -> Iterator { Iterator(buffer: buffer) }

    /// Cancels the call (the server sees RST_STREAM(CANCEL)).
    public func cancel() { buffer.cancelFromAnyThread() }

    public struct Iterator: AsyncIteratorProtocol {
        let buffer: StreamBuffer

        public mutating func next() async throws -> Message? {
            guard let (bytes, compressed) = try await buffer.next() else { return nil }
            do {
                let payload = compressed ? try Gzip.decompress(bytes, limit: buffer.options.maxReceiveMessageBytes) : bytes
                return try Message(serializedBytes: payload)
            } catch {
                buffer.cancelFromAnyThread()
                throw RPCError(code: .internal, message: "cannot decode a \(Message.protoName) response", cause: error)
            }
        }
    }
}

/// Received messages waiting for the consumer. The loop appends; the consumer takes from
/// any thread; flow-control credit goes back to the loop in batches as messages are taken,
/// so a slow consumer holds back the server instead of filling memory.
final class StreamBuffer: CallHandle, ClientStreamObserver, @unchecked Sendable {
    // `connection`, `streamID`, `deadlineTimer` (CallHandle) are confined to `loop`; the
    // rest is behind `state`.
    let options: CallOptions
    nonisolated(unsafe) var loop: EventLoop?

    private struct State {
        var messages: [(bytes: [UInt8], compressed: Bool)] = []
        var head = 0
        var end: (status: Status, trailers: Metadata)?
        var waiter: CheckedContinuation<([UInt8], Bool)?, any Error>?
        var uncredited = 0
        var cancelled = false
    }

    private let state = Mutex(State())
    private static let creditBatch = 64 << 10

    init(options: CallOptions) { self.options = options }

    func receivedHeaders(_ metadata: Metadata) {}

    func receivedMessage(_ payload: [UInt8], compressed: Bool) -> Bool {
        let waiter = state.withLock { state -> CheckedContinuation<([UInt8], Bool)?, any Error>? in
            if state.cancelled { return nil }
            state.messages.append((payload, compressed))
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        if let waiter { deliver(to: waiter) }
        return state.withLock { !$0.cancelled }
    }

    func finished(_ status: Status, trailers: Metadata) {
        deadlineTimer?.cancel()
        let waiter = state.withLock { state -> CheckedContinuation<([UInt8], Bool)?, any Error>? in
            guard state.end == nil else { return nil }
            state.end = (status, trailers)
            defer { state.waiter = nil }
            return state.waiter
        }
        if let waiter { deliver(to: waiter) }
    }

    /// Hands the next message (or the end) to a waiting consumer.
    private func deliver(to waiter: CheckedContinuation<([UInt8], Bool)?, any Error>) {
        do {
            waiter.resume(returning: try take())
        } catch {
            waiter.resume(throwing: error)
        }
    }

    /// The next message if one is buffered, nil at a clean end; throws at an error end.
    /// Must be called only when a message or the end is available (or from `next`).
    private func take() throws -> ([UInt8], Bool)? {
        let (message, credit, end) = state.withLock { state -> (([UInt8], Bool)?, Int, (Status, Metadata)?) in
            if state.head < state.messages.count {
                let message = state.messages[state.head]
                state.head += 1
                if state.head > 256 && state.head * 2 > state.messages.count {
                    state.messages.removeFirst(state.head)
                    state.head = 0
                }
                state.uncredited += message.bytes.count + 5
                var credit = 0
                if state.uncredited >= Self.creditBatch || state.head == state.messages.count {
                    credit = state.uncredited
                    state.uncredited = 0
                }
                return (message, credit, nil)
            }
            return (nil, 0, state.end)
        }
        if credit > 0, let loop {
            loop.execute { [self] in
                if let connection, streamID > 0 { connection.credit(streamID, credit) }
            }
        }
        if let message { return message }
        if let (status, trailers) = end, status.code != .ok {
            throw RPCError(code: status.code, message: status.message, metadata: trailers)
        }
        return nil
    }

    func next() async throws -> ([UInt8], Bool)? {
        let ready = state.withLock { $0.head < $0.messages.count || $0.end != nil }
        if ready { return try take() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let readyNow = state.withLock { state -> Bool in
                    if state.head < state.messages.count || state.end != nil { return true }
                    state.waiter = continuation
                    return false
                }
                if readyNow { deliver(to: continuation) }
            }
        } onCancel: {
            cancelFromAnyThread()
        }
    }

    func cancelFromAnyThread() {
        state.withLock { $0.cancelled = true }
        loop?.execute { [self] in
            cancel()
            finished(Status(code: .cancelled, message: "cancelled by the client"), trailers: Metadata())
        }
    }
}
