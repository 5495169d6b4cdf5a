internal import CProtobufC
internal import CellHubProtoC
internal import RPC

#if canImport(Glibc)
import Glibc
#endif

/// Encoding and decoding for every generated message: lower into protoc-c structs in an
/// arena, let protobuf-c pack or unpack, lift back out.
enum ProtoCodec {
    static func encode<Message: ProtoCBridged>(_ message: Message) -> [UInt8] {
        let arena = ProtoArena()
        let c = arena.lowered(message)
        let base = UnsafeMutableRawPointer(c).assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(base)
        return [UInt8](byteCount: size) { buffer in protobuf_c_message_pack(base, buffer.baseAddress) }
    }

    /// One gRPC length-prefixed frame (uncompressed) in a single allocation.
    static func encodeFrame<Message: ProtoCBridged>(_ message: Message) -> [UInt8] {
        let arena = ProtoArena()
        let c = arena.lowered(message)
        let base = UnsafeMutableRawPointer(c).assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(base)
        precondition(size <= Int(UInt32.max), "a message over 4 GiB cannot be framed")
        return [UInt8](byteCount: size + 5) { buffer in
            buffer[0] = 0
            buffer[1] = UInt8(truncatingIfNeeded: size >> 24)
            buffer[2] = UInt8(truncatingIfNeeded: size >> 16)
            buffer[3] = UInt8(truncatingIfNeeded: size >> 8)
            buffer[4] = UInt8(truncatingIfNeeded: size)
            return 5 + protobuf_c_message_pack(base, buffer.baseAddress! + 5)
        }
    }

    static func decode<Message: ProtoCBridged & RPCMessage>(
        _ type: Message.Type, from bytes: UnsafeRawBufferPointer
    ) throws(ProtoDecodingError) -> Message {
        let arena = ProtoArena()
        // protobuf-c reads nothing when the length is 0, but wants a pointer all the same.
        var empty: UInt8 = 0
        let unpacked = withUnsafePointer(to: &empty) { emptyPointer in
            Message.cUnpack(
                arena.allocator, bytes.count,
                bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyPointer)
        }
        guard let unpacked else { throw .malformed(message: Message.protoName) }
        return try Message(lifting: unpacked)
    }
}

/// Conversions from protobuf-c's C representations, used by generated `init(lifting:)`.
enum ProtoLift {
    /// A string field of an unpacked message. Absent fields point at protobuf-c's shared
    /// empty string; present ones were allocated (length + 1) from the arena, which
    /// recorded the size — a shorter C string means the value held a NUL.
    static func string(_ pointer: UnsafeMutablePointer<CChar>?, field: StaticString) throws(ProtoDecodingError) -> String {
        guard let pointer, pointer != emptyCString else { return "" }
        guard let string = String(validatingCString: pointer) else {
            throw .invalidUTF8(field: "\(field)")
        }
        // The C string stops at the first NUL: shorter than what protobuf-c allocated
        // (its wire length + 1) means the value held one. utf8.count is O(1) here.
        guard string.utf8.count == ProtoArena.allocationSize(of: pointer) - 1 else {
            throw .embeddedNUL(field: "\(field)")
        }
        return string
    }

    /// protobuf-c's `protobuf_c_empty_string`, as every initialised string field holds it.
    nonisolated(unsafe) private static let emptyCString: UnsafeMutablePointer<CChar>? = {
        var message = Grpc__Health__V1__HealthCheckRequest()
        grpc__health__v1__health_check_request__init(&message)
        return message.service
    }()

    static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let start = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: start, count: data.len))
    }

    static func scalars<T: BitwiseCopyable>(_ start: UnsafeMutablePointer<T>?, count: Int) -> [T] {
        guard count > 0, let start else { return [] }
        return Array(UnsafeBufferPointer(start: start, count: count))
    }

    static func array<C, T>(
        _ start: UnsafeMutablePointer<C>?, count: Int, _ transform: (C) throws(ProtoDecodingError) -> T
    ) throws(ProtoDecodingError) -> [T] {
        guard count > 0, let start else { return [] }
        var out: [T] = []
        out.reserveCapacity(count)
        for index in 0..<count {
            out.append(try transform(start[index]))
        }
        return out
    }

    /// Elements of a repeated message field are never null in an unpacked struct;
    /// a null one would mean protobuf-c broke its contract, reported as malformed input.
    static func nonNull<C>(_ pointer: UnsafeMutablePointer<C>?) throws(ProtoDecodingError) -> UnsafeMutablePointer<C> {
        guard let pointer else { throw .malformed(message: "null element in a repeated field") }
        return pointer
    }
}
