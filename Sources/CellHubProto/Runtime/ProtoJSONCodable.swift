public import RPC

/// A message with protobuf's canonical proto3 JSON mapping (https://protobuf.dev/programming-guides/json/).
///
/// Every generated message conforms. Encoding follows `json_format.MessageToJson`'s defaults:
/// lowerCamelCase `json_name` keys in field-number order, proto3 defaults left out (fields with
/// explicit presence — oneof members — are written whenever set), 64-bit integers as strings,
/// `"NaN"`/`"Infinity"`/`"-Infinity"` for non-finite floats, bytes as padded standard base64,
/// enums by name (numbers for values this build does not know). Decoding accepts what
/// `json_format.Parse` accepts under the spec, and rejects unknown fields unless asked not to.
public protocol ProtoJSONCodable: RPCMessage {
    /// The message as a JSON object.
    func jsonValue() -> JSONValue

    /// Reads a message from a JSON object; `null` for a field leaves it at its default.
    init(jsonValue: JSONValue, options: JSONDecodingOptions) throws(ProtoJSONDecodingError)
}

extension ProtoJSONCodable {
    public init(jsonValue: JSONValue) throws(ProtoJSONDecodingError) {
        try self.init(jsonValue: jsonValue, options: JSONDecodingOptions())
    }

    /// Parses JSON text (UTF-8) and reads the message from it.
    public init(jsonUTF8 bytes: some Collection<UInt8>, options: JSONDecodingOptions = JSONDecodingOptions()) throws(ProtoJSONDecodingError) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: bytes, maxDepth: options.maxDepth)
        } catch {
            throw ProtoJSONDecodingError(.syntax(error), messageType: Self.protoName)
        }
        try self.init(jsonValue: value, options: options)
    }

    public init(jsonString: String, options: JSONDecodingOptions = JSONDecodingOptions()) throws(ProtoJSONDecodingError) {
        try self.init(jsonUTF8: jsonString.utf8, options: options)
    }

    /// The message as JSON text: compact by default, indented by two spaces when `pretty`.
    public func jsonString(pretty: Bool = false) -> String {
        jsonValue().serialized(pretty: pretty)
    }

    public func jsonUTF8(pretty: Bool = false) -> [UInt8] {
        jsonValue().serializedUTF8(pretty: pretty)
    }

    /// JSON text to the protobuf encoding, for tools that only know the type by name
    /// (`type.binary(fromJSON:)` on an `any ProtoJSONCodable.Type`).
    public static func binary(fromJSON text: String, options: JSONDecodingOptions = JSONDecodingOptions()) throws(ProtoJSONDecodingError) -> [UInt8] {
        try Self(jsonString: text, options: options).serializedBytes()
    }

    /// The protobuf encoding to JSON text; throws `ProtoDecodingError` when the bytes are malformed.
    public static func json(fromBinary bytes: some Collection<UInt8>, pretty: Bool = false) throws -> String {
        try Self(serializedBytes: bytes).jsonString(pretty: pretty)
    }
}
