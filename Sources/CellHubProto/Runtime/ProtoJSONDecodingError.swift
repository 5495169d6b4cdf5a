/// Why JSON could not be read as a message, and where.
public struct ProtoJSONDecodingError: Error, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// The text is not JSON at all.
        case syntax(JSONParseError)
        /// A member names no field of the message (and unknown fields are not ignored).
        case unknownField(String)
        /// A field appears twice (possibly once by its JSON name and once by its proto name).
        case duplicateField(String)
        /// Two members of one oneof are set (non-null).
        case multipleOneofFields(String, String)
        /// The JSON value has the wrong kind: a string where a message was expected, and so on.
        case typeMismatch(expected: String, found: String)
        /// A `null` inside an array (repeated fields have no null elements).
        case nullElement
        /// The value has the right kind but not an acceptable value: a fraction for an integer,
        /// out of range, bad base64, an unknown enum name.
        case invalidValue(String)
    }

    public var reason: Reason
    /// The full protobuf name of the outermost message being decoded.
    public var messageType: String
    /// Where in the JSON the problem is, e.g. `members[2].role` (empty: the message itself).
    public var path: String

    public init(_ reason: Reason, messageType: String, path: String = "") {
        self.reason = reason
        self.messageType = messageType
        self.path = path
    }

    public var description: String {
        let what = switch reason {
        case .syntax(let error): error.description
        case .unknownField(let name): "no field named \"\(name)\""
        case .duplicateField(let name): "field \"\(name)\" given more than once"
        case .multipleOneofFields(let first, let second): "\"\(first)\" and \"\(second)\" are members of the same oneof"
        case .typeMismatch(let expected, let found): "expected \(expected), found \(found)"
        case .nullElement: "null is not allowed as an element of a repeated field"
        case .invalidValue(let detail): detail
        }
        let location = path.isEmpty ? "" : " at \(path)"
        return "cannot read \(messageType) from JSON\(location): \(what)"
    }

    /// This error, raised inside the message found at `component` of an outer `messageType`.
    func nested(in messageType: String, at component: String) -> Self {
        var outer = self
        outer.messageType = messageType
        if path.isEmpty {
            outer.path = component
        } else {
            outer.path = component + (path.first == "[" ? "" : ".") + path
        }
        return outer
    }
}
