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

    /// The response headers' metadata; nil until they arrived (they precede the first message).
    public var initialMetadata: Metadata? { buffer.initialMetadata }

    /// The trailers' metadata; nil until the stream ended.
    public var trailingMetadata: Metadata? { buffer.trailingMetadata }

    /// The event loop this call's messages arrive on (nil if the call failed to start): a
    /// task that consumes the stream there, `Task(executorPreference: stream.executor)`,
    /// takes each message without a hop to another thread.
    public var executor: (any TaskExecutor)? { buffer.loop }

    public struct Iterator: AsyncIteratorProtocol {
        let buffer: StreamBuffer
        /// Cancels the call when the iterator goes away before the stream ended
        /// (`break` out of a `for try await` loop).
        private let guardian: EarlyExitGuard

        init(buffer: StreamBuffer) {
            self.buffer = buffer
            self.guardian = EarlyExitGuard(buffer: buffer)
        }

        public mutating func next() async throws -> Message? {
            guard let (bytes, compressed) = try await buffer.next() else { return nil }
            do {
                let payload = compressed ? try Gzip.decompressResponse(bytes, limit: buffer.options.maxReceiveMessageBytes) : bytes
                return try Message(serializedBytes: payload)
            } catch let error as RPCError {
                buffer.cancelFromAnyThread()
                throw error
            } catch {
                buffer.cancelFromAnyThread()
                throw RPCError(code: .internal, message: "cannot decode a \(Message.protoName) response", cause: error)
            }
        }
    }
}

/// Cancels an unfinished call when the last iterator copy is released.
final class EarlyExitGuard: Sendable {
    let buffer: StreamBuffer

    init(buffer: StreamBuffer) { self.buffer = buffer }

    deinit {
        if !buffer.hasEnded { buffer.cancelFromAnyThread() }
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
        /// Bytes of messages received and not yet taken by the consumer.
        var queuedBytes = 0
        var creditWithheld = false
        var cancelled = false
        var initialMetadata: Metadata?
    }

    private let state = Mutex(State())
    /// Flow-control credit is held back while the consumer has this much waiting.
    private static let queueBudget = 1 << 20

    /// Called on the loop for every DATA chunk: hold back credit while the queue is full.
    var isSaturated: Bool {
        state.withLock { state in
            let saturated = state.queuedBytes >= Self.queueBudget
            if saturated { state.creditWithheld = true }
            return saturated
        }
    }

    var hasEnded: Bool { state.withLock { $0.end != nil } }

    init(options: CallOptions) { self.options = options }

    func receivedHeaders(_ metadata: Metadata) {
        state.withLock { $0.initialMetadata = metadata }
    }

    var initialMetadata: Metadata? { state.withLock { $0.initialMetadata } }
    var trailingMetadata: Metadata? { state.withLock { $0.end?.trailers } }

    func receivedMessage(_ payload: [UInt8], compressed: Bool) -> Bool {
        let waiter = state.withLock { state -> CheckedContinuation<([UInt8], Bool)?, any Error>? in
            if state.cancelled { return nil }
            state.messages.append((payload, compressed))
            state.queuedBytes += payload.count + 5
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        if let waiter { deliver(to: waiter) }
        return state.withLock { !$0.cancelled }
    }

    func finished(_ status: Status, trailers: Metadata) {
        deadlineTimer?.cancel()
        outbox?.callEnded(status, trailers: trailers)
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
        let (message, release, end) = state.withLock { state -> (([UInt8], Bool)?, Bool, (Status, Metadata)?) in
            if state.head < state.messages.count {
                let message = state.messages[state.head]
                state.head += 1
                if state.head > 256 && state.head * 2 > state.messages.count {
                    state.messages.removeFirst(state.head)
                    state.head = 0
                }
                state.queuedBytes -= message.bytes.count + 5
                // Below half the budget again: give back what the loop held back.
                let release = state.creditWithheld && state.queuedBytes < Self.queueBudget / 2
                if release { state.creditWithheld = false }
                return (message, release, nil)
            }
            return (nil, false, state.end)
        }
        if release, let loop {
            loop.execute { [self] in
                if let connection, streamID > 0 { connection.releaseCredit(streamID) }
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
