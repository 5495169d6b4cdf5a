/// How the ingress fuzzer reads an input: how to feed the rest of it, then the bytes.
///
///     byte 0          flags: bits 0-2 = piece lengths that follow (0-7), bit 3 = the
///                     tight-limits server, bit 4 = prepend the client preface, bit 5 =
///                     the peer half-closes (EOF) after the last piece
///     2 bytes each    piece lengths, big-endian; a piece takes at most what is left
///     the rest        what the peer sends; after the pieces, the remainder is one more
///
/// Splitting matters: nghttp2 and our deframer keep state across reads, and the loop runs
/// (handlers, flushes) between pieces, as between socket reads.
struct IngressInput {
    let tightLimits: Bool
    let prependPreface: Bool
    let endWithEOF: Bool
    /// The peer's bytes in the order they arrive, one `receive` each.
    let pieces: [UnsafeRawBufferPointer]

    /// HTTP/2's connection preface (RFC 9113 §3.4), without the SETTINGS frame after it.
    static let clientPreface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    init(_ bytes: UnsafeRawBufferPointer) {
        let flags = bytes.first ?? 0
        tightLimits = flags & 0x08 != 0
        prependPreface = flags & 0x10 != 0
        endWithEOF = flags & 0x20 != 0
        var offset = 1
        var lengths: [Int] = []
        for _ in 0..<Int(flags & 0x07) where offset + 2 <= bytes.count {
            lengths.append(Int(bytes[offset]) << 8 | Int(bytes[offset + 1]))
            offset += 2
        }
        var pieces: [UnsafeRawBufferPointer] = []
        for length in lengths {
            let end = min(bytes.count, offset + length)
            pieces.append(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
            offset = end
        }
        if offset < bytes.count {
            pieces.append(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        }
        self.pieces = pieces
    }
}
