import EventLoop
public import RPC

/// Writes the request messages of a client-streaming or bidirectional call.
public struct RequestWriter<Message: RPCMessage>: Sendable {
    let outbox: RequestOutbox
    let options: CallOptions

    /// Sends `message` after those written before. Suspends while the call holds more request
    /// bytes than flow control lets out (backpressure: a slow server slows the writer, not
    /// our memory); throws `RPCError` once the call is over (its status: cancelled, deadline
    /// exceeded, the server's error).
    public func write(_ message: Message) async throws(RPCError) {
        let frame = try GRPCClient.frame(message, options: options)
        let outbox = self.outbox
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    outbox.loop.execute { outbox.enqueue(frame, writer: continuation) }
                }
            } onCancel: {
                outbox.loop.execute { outbox.cancelCall() }
            }
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(code: .cancelled, message: "the write was cancelled", cause: error)
        }
    }

    /// Half-closes the call: the server's request stream ends after the messages written.
    /// Later writes throw.
    public func finish() {
        let outbox = self.outbox
        outbox.loop.execute { outbox.finish() }
    }
}
