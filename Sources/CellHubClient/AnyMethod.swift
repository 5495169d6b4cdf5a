public import RPC

/// A method known by name at run time: what `cellhub call` and `cellhub describe` need.
/// The table of every method is generated (`CellHubMethods.all`).
public struct AnyMethod: Sendable {
    public let descriptor: MethodDescriptor
    public let request: any RPCMessage.Type
    public let response: any RPCMessage.Type
    /// Full protobuf names of the request and response messages.
    public let requestName: String
    public let responseName: String
    /// The proto comment above the method.
    public let comment: String
    /// The request message's fields as proto text.
    public let requestFields: [String]

    public init(service: String, method: String, kind: RPCKind, request: any RPCMessage.Type,
                response: any RPCMessage.Type, requestName: String, responseName: String,
                comment: String, requestFields: [String]) {
        descriptor = MethodDescriptor(service: service, method: method, kind: kind)
        self.request = request
        self.response = response
        self.requestName = requestName
        self.responseName = responseName
        self.comment = comment
        self.requestFields = requestFields
    }

    /// "cellhub.v1.ProjectService/CreateProject", or the short "ProjectService/CreateProject".
    public static func named(_ name: String) -> AnyMethod? {
        let trimmed = name.hasPrefix("/") ? String(name.dropFirst()) : name
        return CellHubMethods.all.first { method in
            let full = "\(method.descriptor.service)/\(method.descriptor.method)"
            return full == trimmed || full.hasSuffix(".\(trimmed)")
        }
    }
}
