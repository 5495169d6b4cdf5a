internal import CNGHTTP2
import EventLoop
import RPC

/// Client-streaming and bidirectional calls: request messages queue per stream and reach
/// the handler as it reads. Their request-budget bytes, and their stream credit once the
/// stream holds more than its bound (whole messages with a per-message charge, plus the one
/// arriving) while its handler is not waiting, are given back as the handler takes them: a
/// client is never further ahead than the bound plus one stream window. Connection credit
/// goes back on receipt (budgets permitting), so a slow handler never stalls the other calls
/// beside it.
extension ServerConnection {
    /// Whether the stream holds more request bytes than its bound for a handler not reading.
    func isBehind(_ stream: ServerStream, _ requests: RequestQueue) -> Bool {
        stream.bufferedBytes + requests.count * RequestQueue.overheadPerMessage > core.configuration.maxQueuedRequestBytesPerStream
    }

    /// What the deframer completed goes to the handler's queue.
    func queueRequests(_ stream: ServerStream, _ requests: RequestQueue) {
        for message in stream.deframer.takeMessages() { requests.append(message) }
        requests.wakeReader()
        if stream.deframer.hasPartialMessage {
            // A message begun must be finished: the stall timeout covers streaming calls too.
            armStallTimer(at: stream.lastRequestBytesAt + core.configuration.requestStallTimeoutNanoseconds)
        }
    }

    /// The client half-closed a streaming request.
    func clientFinished(_ stream: ServerStream, _ requests: RequestQueue) {
        guard stream.phase == .running, !requests.clientFinished else { return }
        requests.clientFinished = true
        if stream.deframer.hasPartialMessage {
            refuse(stream, Status(code: .internal, message: "the request ended inside a message (its length prefix promised more bytes)"))
            return
        }
        requests.wakeReader()
    }

    enum NextRequest {
        case message([UInt8])
        case end
        case notYet
    }

    /// Hands the oldest queued message to the handler (decompressed) and gives its bytes back:
    /// to the request budgets, and as flow-control credit once the queue is under its bound.
    func nextRequest(of stream: ServerStream, _ requests: RequestQueue) throws(RPCError) -> NextRequest {
        if let failure = requests.failure { throw failure }
        guard let message = requests.takeFirst() else {
            if requests.clientFinished { return .end }
            // The handler waits for a message larger than the bound: let the rest of it in.
            if requests.heldCredit > 0 { returnHeldCredit(stream, requests) }
            return .notYet
        }
        let wireBytes = message.payload.count + 5
        stream.bufferedBytes -= wireBytes
        bufferedRequestBytes -= wireBytes
        core.requestBytes.release(wireBytes)
        if requests.heldCredit > 0 && !isBehind(stream, requests) {
            returnHeldCredit(stream, requests)
        }
        returnWithheldCredit()
        stream.context?.requestWasCompressed = message.compressed
        guard message.compressed else { return .message(message.payload) }
        let failure: Status
        if stream.encoding != Self.gzip {
            failure = Status(code: .internal, message: "compressed message without a grpc-encoding")
        } else {
            do {
                return .message(try Gzip.decompress(message.payload, limit: core.configuration.maxReceiveMessageBytes))
            } catch .tooLarge {
                failure = Status(code: .resourceExhausted, message: "decompressed request exceeds the limit of \(core.configuration.maxReceiveMessageBytes) bytes")
            } catch {
                failure = Status(code: .internal, message: "a request message is not valid gzip")
            }
        }
        refuse(stream, failure)
        throw RPCError(code: failure.code, message: failure.message)
    }

    /// The handler caught up: the stream credit held for its queue goes back, and the client
    /// may send again (the connection's credit went back on receipt, budgets permitting).
    private func returnHeldCredit(_ stream: ServerStream, _ requests: RequestQueue) {
        _ = nghttp2_session_consume_stream(session, stream.id, requests.heldCredit)
        requests.heldCredit = 0
        connection?.scheduleFlush()
        // The client could not send while we held its credit: its stall clock starts now.
        stream.lastRequestBytesAt = monotonicNanoseconds()
        if stream.deframer.hasPartialMessage {
            armStallTimer(at: stream.lastRequestBytesAt + core.configuration.requestStallTimeoutNanoseconds)
        }
    }
}

/// The request messages of one streaming call, read by its handler: forwards to the
/// connection on the loop thread, suspending while the queue is empty.
struct StreamRequests: ServerRequestSource, @unchecked Sendable {
    // Both are confined to `connection.loop`; `next` runs there (it hops if called elsewhere).
    let connection: ServerConnection
    let stream: ServerStream

    func next() async throws(RPCError) -> [UInt8]? {
        if !connection.loop.inEventLoop {
            // A handler that reads from another executor: come back to the loop first.
            return try await withTaskExecutorPreference(connection.loop) { () async throws(RPCError) -> [UInt8]? in try await next() }
        }
        guard let requests = stream.requests else { return nil }
        while true {
            switch try connection.nextRequest(of: stream, requests) {
            case .message(let bytes): return bytes
            case .end: return nil
            case .notYet: break
            }
            if Task.isCancelled { throw RPCError(code: .cancelled, message: "the handler's task was cancelled") }
            guard requests.reader == nil else {
                throw RPCError(code: .internal, message: "a RequestStream was read by two tasks at once (a bug in the handler)")
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { requests.reader = $0 }
            } onCancel: {
                connection.loop.execute { [self] in stream.requests?.wakeReader() }
            }
        }
    }
}
