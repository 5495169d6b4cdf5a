/// One method a server serves: its descriptor and a type-erased handler over bytes.
public struct ServerMethod: Sendable {
    /// Unary and server-streaming methods: the one request message, as protobuf bytes.
    public typealias Handler = @Sendable (_ request: [UInt8], _ context: ServerContext, _ sink: any ServerResponseSink) async throws -> Void
    /// Client-streaming and bidirectional methods: request messages as they arrive.
    public typealias StreamingHandler = @Sendable (_ requests: any ServerRequestSource, _ context: ServerContext, _ sink: any ServerResponseSink) async throws -> Void

    /// How a method takes its request, which decides when its handler starts.
    public enum Body: Sendable {
        /// Exactly one request message: the handler starts once the client half-closed.
        case oneRequest(Handler)
        /// Any number of request messages: the handler starts with the request headers and
        /// reads the messages as they arrive.
        case requestStream(StreamingHandler)
    }

    public let descriptor: MethodDescriptor
    public let body: Body

    public init(descriptor: MethodDescriptor, handler: @escaping Handler) {
        self.descriptor = descriptor
        self.body = .oneRequest(handler)
    }

    public init(descriptor: MethodDescriptor, streamingHandler: @escaping StreamingHandler) {
        self.descriptor = descriptor
        self.body = .requestStream(streamingHandler)
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

    /// A client-streaming method: any number of requests, one response.
    public static func clientStreaming<Request, Response>(
        _ method: TypedMethodDescriptor<Request, Response>,
        _ body: @escaping @Sendable (RequestStream<Request>, ServerContext) async throws -> Response
    ) -> ServerMethod {
        ServerMethod(descriptor: method.descriptor) { source, context, sink in
            let response = try await body(RequestStream(source: source), context)
            try await sink.write(EncodedMessage(response), compressed: context.compressResponses)
        }
    }

    /// A bidirectional-streaming method: requests and responses flow independently.
    public static func bidirectionalStreaming<Request, Response>(
        _ method: TypedMethodDescriptor<Request, Response>,
        _ body: @escaping @Sendable (RequestStream<Request>, ServerContext, ServerStreamWriter<Response>) async throws -> Void
    ) -> ServerMethod {
        ServerMethod(descriptor: method.descriptor) { source, context, sink in
            try await body(RequestStream(source: source), context, ServerStreamWriter(sink: sink))
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
