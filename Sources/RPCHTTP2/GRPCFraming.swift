/// Reassembles gRPC length-prefixed messages from DATA chunks split anywhere.
struct MessageDeframer {
    struct Message {
        var compressed: Bool
        var payload: [UInt8]
    }

    enum Failure: Error, Equatable {
        /// The prefix announces more than the receive limit allows.
        case tooLarge(announced: Int)
        /// The flag byte is neither 0 nor 1.
        case badFlag(UInt8)
    }

    /// Messages completed, oldest first. The first is held inline: a call's one request
    /// costs no array.
    struct Completed: Sequence {
        fileprivate(set) var first: Message?
        fileprivate(set) var rest: [Message] = []

        var isEmpty: Bool { first == nil }

        struct Iterator: IteratorProtocol {
            fileprivate var first: Message?
            fileprivate var rest: IndexingIterator<[Message]>

            mutating func next() -> Message? {
                if let message = first {
                    first = nil
                    return message
                }
                return rest.next()
            }
        }

        func makeIterator() -> Iterator { Iterator(first: first, rest: rest.makeIterator()) }

        fileprivate mutating func append(_ message: Message) {
            if first == nil { first = message } else { rest.append(message) }
        }
    }

    let maxMessageBytes: Int
    static let initialReservation = 4 << 20
    /// The length prefix so far: `headerCount` bytes, big-endian, in the low bits (no array:
    /// one per stream would be one more allocation per call).
    private var header: UInt64 = 0
    private var headerCount = 0
    private var payload: [UInt8] = []
    private var expected = -1
    private var compressed = false
    private(set) var messages = Completed()

    init(maxMessageBytes: Int) { self.maxMessageBytes = maxMessageBytes }

    /// True while a message is partly received (a prefix or payload cut short).
    var hasPartialMessage: Bool { headerCount > 0 || expected >= 0 }

    mutating func takeMessages() -> Completed {
        defer { messages = Completed() }
        return messages
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
        var index = 0
        while index < bytes.count {
            if expected < 0 {
                while headerCount < 5 && index < bytes.count {
                    header = header << 8 | UInt64(bytes[index])
                    headerCount += 1
                    index += 1
                }
                guard headerCount == 5 else { return }
                let flag = UInt8(truncatingIfNeeded: header >> 32)
                guard flag <= 1 else { throw .badFlag(flag) }
                compressed = flag == 1
                let length = Int(header & 0xFFFF_FFFF)
                guard length <= maxMessageBytes else { throw .tooLarge(announced: length) }
                (header, headerCount) = (0, 0)
                expected = length
                payload = []
                // An announced size is not a promise: reserve at most 4 MiB up front, and the
                // whole message only once 4 MiB of it arrived (one copy of 4 MiB), so a peer
                // announcing 64 MiB and sending nothing costs nothing.
                payload.reserveCapacity(min(length, Self.initialReservation))
            }
            let take = min(expected - payload.count, bytes.count - index)
            if payload.count + take > payload.capacity { payload.reserveCapacity(expected) }
            payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<index + take]))
            index += take
            if payload.count == expected {
                messages.append(Message(compressed: compressed, payload: payload))
                payload = []
                expected = -1
            }
        }
    }
}

/// gRPC's `grpc-timeout`: 1 to 8 ASCII digits and a unit (H, M, S, m, u, n).
enum GRPCTimeout {
    /// Nanoseconds, or nil when the value is malformed.
    static func parse(_ value: some Collection<UInt8>) -> UInt64? {
        guard value.count >= 2, value.count <= 9 else { return nil }
        var amount: UInt64 = 0
        for byte in value.dropLast() {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            amount = amount * 10 + UInt64(byte - 0x30)
        }
        let unit: UInt64
        switch value[value.index(value.startIndex, offsetBy: value.count - 1)] {
        case UInt8(ascii: "H"): unit = 3_600_000_000_000
        case UInt8(ascii: "M"): unit = 60_000_000_000
        case UInt8(ascii: "S"): unit = 1_000_000_000
        case UInt8(ascii: "m"): unit = 1_000_000
        case UInt8(ascii: "u"): unit = 1_000
        case UInt8(ascii: "n"): unit = 1
        default: return nil
        }
        return amount.multipliedReportingOverflow(by: unit).overflow ? UInt64.max : amount * unit
    }

    /// The finest unit whose amount fits in 8 digits (rounded up, so the peer never
    /// gives up earlier than the caller asked).
    static func encode(nanoseconds: UInt64) -> String {
        let units: [(UInt64, Character)] = [(1, "n"), (1_000, "u"), (1_000_000, "m"), (1_000_000_000, "S"), (60_000_000_000, "M"), (3_600_000_000_000, "H")]
        for (size, unit) in units {
            let amount = nanoseconds / size + (nanoseconds % size == 0 ? 0 : 1)
            if amount <= 99_999_999 { return "\(amount)\(unit)" }
        }
        return "99999999H"
    }
}

/// Percent-encoding of `grpc-message` (gRPC spec: bytes outside 0x20...0x7E and '%').
enum PercentEncoding {
    /// Longest status message sent, in UTF-8 bytes before percent-encoding. Messages may
    /// echo request values; cut here, every status fits any peer's header limits.
    static let maxStatusMessageBytes = 1_024

    /// `message` cut to `maxStatusMessageBytes` on a scalar boundary (an ellipsis marks the
    /// cut), then percent-encoded: the `grpc-message` value of every status we send.
    static func encodeStatusMessage(_ message: String) -> String {
        encode(truncated(message, maxBytes: maxStatusMessageBytes))
    }

    /// `text` itself if its UTF-8 fits `maxBytes`, else its longest prefix of whole scalars
    /// that does, followed by "…".
    static func truncated(_ text: String, maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        var end = text.unicodeScalars.startIndex
        var used = 0
        for index in text.unicodeScalars.indices {
            let width = UTF8.width(text.unicodeScalars[index])
            if used + width > maxBytes { break }
            used += width
            end = text.unicodeScalars.index(after: index)
        }
        return String(text.unicodeScalars[..<end]) + "…"
    }

    static func encode(_ message: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(message.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in message.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%") {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lenient, as the spec asks: a malformed escape is kept as it is.
    static func decode(_ value: some Collection<UInt8>) -> String {
        let bytes = Array(value)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
