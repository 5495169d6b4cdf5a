import EventLoop
public import RPC

/// Calls that stream their requests: client streaming (one response) and bidirectional.
/// The request side is written through a `RequestWriter` inside a closure, so the call
/// cannot outlive the code that drives it.
extension GRPCClient {
    /// A client-streaming call: `requests` writes the request messages; when it returns the
    /// call half-closes and the response follows. When `requests` throws, the call is
    /// cancelled and the error rethrown — unless a write failed because the call had ended
    /// already: then the call's own outcome (the server's status, or its response) is what
    /// this returns or throws.
    public func clientStreaming<Request, Response>(
        _ method: TypedMethodDescriptor<Request, Response>, options: CallOptions = CallOptions(),
        requests body: (RequestWriter<Request>) async throws -> Void
    ) async throws -> ClientResponse<Response> {
        guard !isClosed else { throw Self.closedError }
        try Self.validate(options.metadata)
        let call = UnaryCall<Response>(options: options)
        let slot = slot()
        let outbox = RequestOutbox(loop: slot.loop, call: call)
        call.outbox = outbox
        slot.loop.execute {
            slot.state.start(path: method.descriptor.path, frame: [], options: options, observer: call)
        }
        return try await withTaskCancellationHandler {
            do {
                try await body(RequestWriter(outbox: outbox, options: options))
            } catch let error as RPCError {
                guard await call.hasEnded(on: slot.loop) else {
                    slot.loop.execute { call.cancel() }
                    throw error
                }
            } catch {
                slot.loop.execute { call.cancel() }
                throw error
            }
            slot.loop.execute { outbox.finish() }
            return try await call.response(on: slot.loop)
        } onCancel: {
            slot.loop.execute { call.cancel() }
        }
    }

    /// A bidirectional call: `body` writes requests and reads responses as it likes (in turn,
    /// as ping-pong, or from concurrent child tasks). When it returns, the request side is
    /// half-closed and a response stream that has not ended is cancelled; when it throws,
    /// the call is cancelled and the error rethrown.
    public func bidirectionalStreaming<Request, Response, Output>(
        _ method: TypedMethodDescriptor<Request, Response>, options: CallOptions = CallOptions(),
        _ body: (RequestWriter<Request>, ResponseStream<Response>) async throws -> Output
    ) async throws -> Output {
        guard !isClosed else { throw Self.closedError }
        try Self.validate(options.metadata)
        let responses = ResponseStream<Response>(options: options)
        let slot = slot()
        let outbox = RequestOutbox(loop: slot.loop, call: responses.buffer)
        responses.buffer.outbox = outbox
        responses.buffer.loop = slot.loop
        slot.loop.execute {
            slot.state.start(path: method.descriptor.path, frame: [], options: options, observer: responses.buffer)
        }
        let output: Output
        do {
            output = try await body(RequestWriter(outbox: outbox, options: options), responses)
        } catch {
            responses.cancel()
            throw error
        }
        slot.loop.execute { outbox.finish() }
        if !responses.buffer.hasEnded { responses.cancel() }
        return output
    }
}
