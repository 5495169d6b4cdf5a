/// A message that can travel in a gRPC call: a value that knows its protobuf encoding.
///
/// The RPC layer is generic over this protocol only, so it never sees how messages are
/// encoded (CellHubProto implements it on top of libprotobuf-c).
public protocol RPCMessage: Sendable {
    /// The fully qualified protobuf name, e.g. `cellhub.v1.ProjectStats`.
    static var protoName: String { get }

    /// Decodes a message from its protobuf encoding; throws on malformed input.
    init(serializedBytes bytes: UnsafeRawBufferPointer) throws

    /// The protobuf encoding of this message.
    func serializedBytes() -> [UInt8]

    /// The message as one gRPC length-prefixed frame: the uncompressed flag byte, a
    /// 4-byte big-endian length, then the encoding — built in a single buffer.
    func serializedFrame() -> [UInt8]
}

extension RPCMessage {
    /// Decodes a message from an array in place: the common case, without the generic
    /// collection path (whose unspecialised `Optional<Self>` metadata lookups cost more than
    /// decoding a small message).
    @inlinable
    public init(serializedBytes bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try Self(serializedBytes: $0) }
    }

    /// Decodes a message from any byte collection (contiguous storage is used in place).
    public init(serializedBytes bytes: some Collection<UInt8>) throws {
        if let decoded = try bytes.withContiguousStorageIfAvailable({ try Self(serializedBytes: UnsafeRawBufferPointer($0)) }) {
            self = decoded
        } else {
            self = try Array(bytes).withUnsafeBytes { try Self(serializedBytes: $0) }
        }
    }
}
