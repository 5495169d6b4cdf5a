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
    /// For a one-request method: an answer the server tries first, at once on the loop and
    /// without a task (see `InlineAnswer`); nil from it runs `body` as usual.
    public private(set) var inlineAnswer: InlineAnswer.Attempt?

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

    /// This method with `answer` tried before its handler.
    public func answering(_ answer: InlineAnswer) -> ServerMethod {
        precondition(answer.path == descriptor.path, "an inline answer for \(answer.path) given to \(descriptor.path)")
        guard case .oneRequest = body else { preconditionFailure("\(descriptor.path) takes a stream of requests: no inline answer") }
        var method = self
        method.inlineAnswer = answer.attempt
        return method
    }

    @usableFromInline
    static func decode<Request: RPCMessage>(_ type: Request.Type, _ bytes: [UInt8]) throws -> Request {
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

/// An answer to a unary call computed at once, on the connection's event loop, inside the
/// callback that completed the request: no task, no executor hop, no suspension. For calls
/// whose answer is in memory (a health check, a cached read, an echo). It must never block;
/// it returns nil when the answer needs more (the store, a lock held long, I/O) — before it
/// touches the context — and the method's handler then runs as usual. Errors it throws become the call's status exactly
/// as the handler's would.
public struct InlineAnswer: Sendable {
    public typealias Attempt = @Sendable (_ request: [UInt8], _ context: ServerContext) throws -> EncodedMessage?

    public let path: String
    public let attempt: Attempt

    /// Inlinable so that the attempt is specialised for its messages where it is made: on
    /// this path, unspecialised generic code costs more than the rest of the call's Swift.
    @inlinable
    public init<Request, Response>(
        _ method: TypedMethodDescriptor<Request, Response>,
        _ body: @escaping @Sendable (Request, ServerContext) throws -> Response?
    ) {
        self.init(method, encoded: { request, context in
            guard let response = try body(request, context) else { return nil }
            return EncodedMessage(response)
        })
    }

    /// The same for an answer already encoded (a reply kept encoded because many calls get it).
    @inlinable
    public init<Request, Response>(
        _ method: TypedMethodDescriptor<Request, Response>,
        encoded body: @escaping @Sendable (Request, ServerContext) throws -> EncodedMessage?
    ) {
        precondition(method.descriptor.kind == .unary, "\(method.descriptor.path) is not unary")
        path = method.descriptor.path
        attempt = { bytes, context in try body(try ServerMethod.decode(Request.self, bytes), context) }
    }
}

/// A service that answers some of its unary calls inline (see `InlineAnswer`).
public protocol InlineAnswering: RPCService {
    var inlineAnswers: [InlineAnswer] { get }
}

extension RPCService {
    /// Its methods, each with its inline answer where the service has one: what a server
    /// registers.
    public var servedMethods: [ServerMethod] {
        guard let answers = (self as? any InlineAnswering)?.inlineAnswers, !answers.isEmpty else { return methods }
        var byPath = Dictionary(answers.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let served = methods.map { method in byPath.removeValue(forKey: method.descriptor.path).map(method.answering) ?? method }
        precondition(byPath.isEmpty, "inline answers for methods the service does not have: \(byPath.keys.sorted())")
        return served
    }
}
