public import CellHubProto
public import RPC

/// The standard interop `grpc.testing.TestService` with the upstream interop semantics,
/// served behind `cellhubd serve --interop` so stock interop clients can test the transport
/// in every call shape. UnimplementedCall stays unimplemented, as upstream servers leave it.
public struct InteropTestService: Grpc_Testing_TestServiceHandler, InlineAnswering {
    /// The largest payload a request may ask for (the server's default send limit). Checked
    /// before anything is allocated: the payload and its encoding are built in memory, so
    /// one small request for 2 GiB would otherwise cost 4 GiB before the send limit refuses it.
    public static let maxPayloadBytes = 64 << 20
    /// Requests HalfDuplexCall holds before answering.
    public static let maxHalfDuplexRequests = 10_000

    public init() {}

    public func emptyCall(_ request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        Grpc_Testing_Empty()
    }

    public func unaryCall(_ request: Grpc_Testing_SimpleRequest, context: ServerContext) async throws -> Grpc_Testing_SimpleResponse {
        try answer(request, context: context)
    }

    /// EmptyCall and UnaryCall compute their answer from the request alone: answered on the
    /// loop, without a task.
    public var inlineAnswers: [InlineAnswer] {
        [
            InlineAnswer(Grpc_Testing_TestService.emptyCall) { _, _ in Grpc_Testing_Empty() },
            InlineAnswer(Grpc_Testing_TestService.unaryCall) { [self] request, context in try answer(request, context: context) },
        ]
    }

    private func answer(_ request: Grpc_Testing_SimpleRequest, context: ServerContext) throws -> Grpc_Testing_SimpleResponse {
        echoMetadata(context)
        if request.expectCompressed?.value == true && !context.requestWasCompressed {
            throw RPCError(code: .invalidArgument, message: "expected a compressed request")
        }
        if let status = request.responseStatus, status.code != 0 {
            throw RPCError(code: StatusCode(rawValue: Int(status.code)), message: status.message)
        }
        context.compressResponses = request.responseCompressed?.value ?? false
        var response = Grpc_Testing_SimpleResponse()
        response.payload = try payload(request.responseType, size: request.responseSize)
        return response
    }

    public func streamingOutputCall(
        _ request: Grpc_Testing_StreamingOutputCallRequest, context: ServerContext,
        writer: ServerStreamWriter<Grpc_Testing_StreamingOutputCallResponse>
    ) async throws {
        echoMetadata(context)
        try await respond(to: request, writer: writer)
        if let status = request.responseStatus, status.code != 0 {
            throw RPCError(code: StatusCode(rawValue: Int(status.code)), message: status.message)
        }
    }

    /// Answers with the sum of the request payload sizes; a request with `expect_compressed`
    /// that arrived uncompressed fails the call INVALID_ARGUMENT.
    public func streamingInputCall(
        _ requests: RequestStream<Grpc_Testing_StreamingInputCallRequest>, context: ServerContext
    ) async throws -> Grpc_Testing_StreamingInputCallResponse {
        var total = 0
        for try await request in requests {
            if request.expectCompressed?.value == true && !context.requestWasCompressed {
                throw RPCError(code: .invalidArgument, message: "expected a compressed request")
            }
            total += request.payload?.body.count ?? 0
        }
        var response = Grpc_Testing_StreamingInputCallResponse()
        response.aggregatedPayloadSize = Int32(clamping: total)
        return response
    }

    /// Answers each request as it arrives; a request carrying a non-OK `response_status`
    /// ends the call with it.
    public func fullDuplexCall(
        _ requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>, context: ServerContext,
        writer: ServerStreamWriter<Grpc_Testing_StreamingOutputCallResponse>
    ) async throws {
        echoMetadata(context)
        for try await request in requests {
            if let status = request.responseStatus, status.code != 0 {
                throw RPCError(code: StatusCode(rawValue: Int(status.code)), message: status.message)
            }
            try await respond(to: request, writer: writer)
        }
    }

    /// Reads every request until the client half-closes, then answers them in order.
    public func halfDuplexCall(
        _ requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>, context: ServerContext,
        writer: ServerStreamWriter<Grpc_Testing_StreamingOutputCallResponse>
    ) async throws {
        echoMetadata(context)
        var received: [Grpc_Testing_StreamingOutputCallRequest] = []
        var payloadBytes = 0
        for try await request in requests {
            // Everything is held until the half-close: bounded, unlike the request queue's
            // bytes, which flow control bounds.
            payloadBytes += request.payload?.body.count ?? 0
            guard received.count < Self.maxHalfDuplexRequests, payloadBytes <= Self.maxPayloadBytes else {
                throw RPCError(code: .resourceExhausted, message: "HalfDuplexCall holds at most \(Self.maxHalfDuplexRequests) requests and \(Self.maxPayloadBytes) payload bytes")
            }
            received.append(request)
        }
        for request in received {
            if let status = request.responseStatus, status.code != 0 {
                throw RPCError(code: StatusCode(rawValue: Int(status.code)), message: status.message)
            }
            try await respond(to: request, writer: writer)
        }
    }

    /// Not implemented on purpose: clients test how they see an unimplemented method.
    public func unimplementedCall(_ request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        throw RPCError(code: .unimplemented, message: "\(context.method.path) is not implemented")
    }

    /// One response per `response_parameters` entry, each after its interval.
    private func respond(
        to request: Grpc_Testing_StreamingOutputCallRequest, writer: ServerStreamWriter<Grpc_Testing_StreamingOutputCallResponse>
    ) async throws {
        // Encode once per size: a stream of identical messages is the transport's business.
        var encoded: [Int32: EncodedMessage] = [:]
        for parameters in request.responseParameters {
            if parameters.intervalUs > 0 {
                try await Task.sleep(for: .microseconds(Int(parameters.intervalUs)))
            }
            let message: EncodedMessage
            if let cached = encoded[parameters.size] {
                message = cached
            } else {
                var response = Grpc_Testing_StreamingOutputCallResponse()
                response.payload = try payload(request.responseType, size: parameters.size)
                message = EncodedMessage(response)
                encoded[parameters.size] = message
            }
            try await writer.write(encoded: message, compressed: parameters.compressed?.value ?? false)
        }
    }

    private func payload(_ type: Grpc_Testing_PayloadType, size: Int32) throws -> Grpc_Testing_Payload {
        guard size >= 0 else { throw RPCError(code: .invalidArgument, message: "negative response size \(size)") }
        guard size <= Self.maxPayloadBytes else {
            throw RPCError(code: .resourceExhausted, message: "response size \(size) exceeds the limit of \(Self.maxPayloadBytes) bytes")
        }
        guard type == .compressable else { throw RPCError(code: .invalidArgument, message: "unsupported payload type \(type.rawValue)") }
        var payload = Grpc_Testing_Payload()
        payload.type = type
        payload.body = [UInt8](byteCount: Int(size)) { buffer in
            buffer.initialize(repeating: 0)
            return buffer.count
        }
        return payload
    }

    /// The interop custom_metadata case: echo two request headers back.
    private func echoMetadata(_ context: ServerContext) {
        if let initial = context.requestMetadata["x-grpc-test-echo-initial"] {
            context.initialMetadata.add("x-grpc-test-echo-initial", initial)
        }
        if let trailing = context.requestMetadata[binary: "x-grpc-test-echo-trailing-bin"] {
            context.trailingMetadata.add("x-grpc-test-echo-trailing-bin", binary: trailing)
        }
    }
}
