public import CellHubProto
public import RPC

/// The standard interop `grpc.testing.TestService` (EmptyCall, UnaryCall,
/// StreamingOutputCall), served behind `cellhubd serve --interop` so stock interop
/// clients can test the transport.
public struct InteropTestService: Grpc_Testing_TestServiceHandler {
    /// The largest payload a request may ask for (the server's default send limit). Checked
    /// before anything is allocated: the payload and its encoding are built in memory, so
    /// one small request for 2 GiB would otherwise cost 4 GiB before the send limit refuses it.
    public static let maxPayloadBytes = 64 << 20

    public init() {}

    public func emptyCall(_ request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        Grpc_Testing_Empty()
    }

    public func unaryCall(_ request: Grpc_Testing_SimpleRequest, context: ServerContext) async throws -> Grpc_Testing_SimpleResponse {
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
        if let status = request.responseStatus, status.code != 0 {
            throw RPCError(code: StatusCode(rawValue: Int(status.code)), message: status.message)
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
        payload.body = [UInt8](repeating: 0, count: Int(size))
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
