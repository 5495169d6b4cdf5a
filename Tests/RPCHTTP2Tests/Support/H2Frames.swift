/// HTTP/2 client bytes built by hand (RFC 9113 frames, HPACK literals without Huffman or
/// indexing) and the server's frames split back out: what a hostile or broken peer sends,
/// fed to a `ServerHarness` connection in memory.
enum H2Frames {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    struct Frame: Equatable {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]

        var endStream: Bool { flags & 0x1 != 0 }
        static let data: UInt8 = 0, headers: UInt8 = 1, rstStream: UInt8 = 3, settings: UInt8 = 4, goaway: UInt8 = 7
    }

    static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8] = []) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags,
                UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
    }

    /// The client's preface and an empty SETTINGS frame.
    static var start: [UInt8] { preface + frame(Frame.settings) }

    /// Acknowledges the server's SETTINGS (its window sizes apply from then on).
    static var settingsAck: [UInt8] { frame(Frame.settings, flags: 0x1) }

    /// A gRPC request's HEADERS (one frame, END_HEADERS).
    static func requestHeaders(stream: UInt32, path: String, endStream: Bool = false, extra: [(String, String)] = []) -> [UInt8] {
        let fields = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "memory"),
                      ("content-type", "application/grpc"), ("te", "trailers")] + extra
        var block: [UInt8] = []
        for (name, value) in fields {
            block.append(0x00)  // literal without indexing, new name
            block += string(name) + string(value)
        }
        return frame(Frame.headers, flags: 0x4 | (endStream ? 0x1 : 0), stream: stream, block)
    }

    static func data(stream: UInt32, _ bytes: [UInt8], endStream: Bool = false) -> [UInt8] {
        frame(Frame.data, flags: endStream ? 0x1 : 0, stream: stream, bytes)
    }

    /// A gRPC message prefix announcing `length` bytes, then `sending` of them.
    static func grpcMessage(announcing length: Int, sending: Int) -> [UInt8] {
        [0, UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
            + [UInt8](repeating: 0x41, count: sending)
    }

    /// Every whole frame in `bytes` (the server sends no preface).
    static func parse(_ bytes: [UInt8]) -> [Frame] {
        var frames: [Frame] = []
        var index = 0
        while index + 9 <= bytes.count {
            let length = Int(bytes[index]) << 16 | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
            guard index + 9 + length <= bytes.count else { break }
            let stream = UInt32(bytes[index + 5] & 0x7F) << 24 | UInt32(bytes[index + 6]) << 16 | UInt32(bytes[index + 7]) << 8 | UInt32(bytes[index + 8])
            frames.append(Frame(type: bytes[index + 3], flags: bytes[index + 4], stream: stream, payload: Array(bytes[index + 9..<index + 9 + length])))
            index += 9 + length
        }
        return frames
    }

    /// An HPACK string literal (no Huffman) with its 7-bit-prefix length.
    private static func string(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var length = bytes.count
        if length < 127 {
            out.append(UInt8(length))
        } else {
            out.append(127)
            length -= 127
            while length >= 128 {
                out.append(UInt8(length & 0x7F) | 0x80)
                length >>= 7
            }
            out.append(UInt8(length))
        }
        return out + bytes
    }
}
