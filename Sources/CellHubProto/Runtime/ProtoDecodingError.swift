/// Why bytes could not be decoded as a message. Never thrown for well-formed input.
public enum ProtoDecodingError: Error, Hashable, CustomStringConvertible {
    /// protobuf-c rejected the bytes: truncated, a wrong wire type, a length past the end,
    /// a bad varint, or otherwise not an encoding of `message`.
    case malformed(message: String)
    /// A string field held bytes that are not valid UTF-8 (proto3 requires UTF-8).
    case invalidUTF8(field: String)
    /// A string field held U+0000, which CellHub's strings (C strings in protobuf-c) cannot carry.
    case embeddedNUL(field: String)

    public var description: String {
        switch self {
        case .malformed(let message): "malformed protobuf encoding of \(message)"
        case .invalidUTF8(let field): "string field '\(field)' is not valid UTF-8"
        case .embeddedNUL(let field): "string field '\(field)' contains a NUL character"
        }
    }
}
