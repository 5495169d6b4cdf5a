/// One method a server serves: its descriptor and a type-erased handler over bytes.
public struct ServerMethod: Sendable {
    public typealias Handler = @Sendable (_ request: [UInt8], _ context: ServerContext, _ sink: any ServerResponseSink) async throws -> Void

    public let descriptor: MethodDescriptor
    public let handler: Handler

    public init(descriptor: MethodDescriptor, handler: @escaping Handler) {
        self.descriptor = descriptor
        self.handler = handler
    }

    /// A unary method: one request, one response.
    public static func unary<Request, Response>(
        _ method: TypedMethodDescriptor<Request, Response>,
        _ body: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> ServerMethod {
        ServerMethod(descriptor: method.descriptor) { bytes, context, sink in
            let request = try decode(Request.self, bytes)
            let response = try await body(request, context)
            try await sink.write(EncodedMessage(response), compressed: context.compressResponses)
        }
    }

    /// A server-streaming method: one request, any number of responses.
    public static func serverStreaming<Request, Response>(
        _ method: TypedMethodDescriptor<Request, Response>,
        _ body: @escaping @Sendable (Request, ServerContext, ServerStreamWriter<Response>) async throws -> Void
    ) -> ServerMethod {
        ServerMethod(descriptor: method.descriptor) { bytes, context, sink in
            try await body(try decode(Request.self, bytes), context, ServerStreamWriter(sink: sink))
        }
    }

    private static func decode<Request: RPCMessage>(_ type: Request.Type, _ bytes: [UInt8]) throws -> Request {
        do {
            return try Request(serializedBytes: bytes)
        } catch {
            throw RPCError(code: .invalidArgument, message: "the request is not a valid \(Request.protoName)", cause: error)
        }
    }
}

/// A set of methods served together (a generated service handler provides one).
public protocol RPCService: Sendable {
    var methods: [ServerMethod] { get }
}
