/// How many messages each side of a call sends.
public enum RPCKind: String, Sendable, Hashable {
    case unary
    case serverStreaming
    case clientStreaming
    case bidirectionalStreaming
}

/// Identifies one method of one service, as it appears on the wire (`:path`).
public struct MethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// Fully qualified service name, e.g. `cellhub.v1.ProjectService`.
    public let service: String
    /// Method name, e.g. `CreateProject`.
    public let method: String
    public let kind: RPCKind

    public init(service: String, method: String, kind: RPCKind) {
        self.service = service
        self.method = method
        self.kind = kind
    }

    /// The HTTP/2 `:path` of the method: `/package.Service/Method`.
    public var path: String { "/\(service)/\(method)" }

    public var description: String { path }
}

/// A method descriptor that also carries its request and response types, so servers
/// and clients built on it are typed end to end.
public struct TypedMethodDescriptor<Request: RPCMessage, Response: RPCMessage>: Sendable, Hashable {
    public let descriptor: MethodDescriptor

    public init(service: String, method: String, kind: RPCKind) {
        self.descriptor = MethodDescriptor(service: service, method: method, kind: kind)
    }
}

/// A service: its fully qualified name and its methods.
public struct ServiceDescriptor: Sendable, Hashable {
    public let name: String
    public let methods: [MethodDescriptor]

    public init(name: String, methods: [MethodDescriptor]) {
        self.name = name
        self.methods = methods
    }
}
