internal import CProtobufC

/// How one generated Swift message maps onto the struct protoc-c generated for it.
///
/// Generated conformances implement the four requirements; `ProtoCodec` does the rest
/// once, generically, so no per-message encode/decode logic is hand-written.
protocol ProtoCBridged: Sendable {
    /// The protoc-c struct, e.g. `Cellhub__V1__ProjectStats`.
    associatedtype CMessage

    /// protoc-c's `*__init`: sets the descriptor and proto3 defaults.
    static func cInitialize(_ message: UnsafeMutablePointer<CMessage>)

    /// protoc-c's `*__unpack` with our allocator; nil when the bytes are malformed.
    static func cUnpack(
        _ allocator: UnsafeMutablePointer<ProtobufCAllocator>, _ length: Int, _ data: UnsafePointer<UInt8>
    ) -> UnsafeMutablePointer<CMessage>?

    /// Writes this value into an initialized struct; every pointer it stores lives in `arena`.
    func lower(into c: UnsafeMutablePointer<CMessage>, arena: borrowing ProtoArena)

    /// Copies a value out of an unpacked struct (which the caller frees afterwards).
    init(lifting c: UnsafePointer<CMessage>) throws(ProtoDecodingError)
}
