import Foundation
import Testing
import TestSupport
import RPC
@testable import RPCHTTP2

// MARK: - Length-prefixed messages

/// One gRPC message as the deframer should hand it over.
struct WireMessage: Equatable, Sendable, CustomTestStringConvertible {
    var compressed: Bool
    var payload: [UInt8]

    /// Flag byte, 4-byte big-endian length, payload.
    var frame: [UInt8] {
        let n = UInt32(payload.count)
        return [compressed ? 1 : 0, UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + payload
    }

    init(compressed: Bool = false, _ payload: [UInt8]) {
        self.compressed = compressed
        self.payload = payload
    }

    init(_ message: MessageDeframer.Message) {
        self.init(compressed: message.compressed, message.payload)
    }

    var testDescription: String { "\(compressed ? "z" : "")\(payload.count)B" }
}

/// A named sequence of messages that travel back to back on one stream.
struct MessageSet: Sendable, CustomTestStringConvertible {
    let name: String
    let messages: [WireMessage]

    var stream: [UInt8] { messages.flatMap(\.frame) }
    var testDescription: String { name }

    static let all: [MessageSet] = {
        var random = SeededRandom(seed: 0xF4A3)
        return [
            MessageSet(name: "one small", messages: [WireMessage(Array("hello".utf8))]),
            MessageSet(name: "one empty", messages: [WireMessage([])]),
            MessageSet(name: "empties around data", messages: [WireMessage([]), WireMessage([7]), WireMessage([]), WireMessage([])]),
            MessageSet(name: "compressed flags mixed", messages: [
                WireMessage(compressed: true, [1, 2, 3]), WireMessage([4]), WireMessage(compressed: true, []), WireMessage([5, 6]),
            ]),
            MessageSet(name: "several random", messages: (0..<12).map { i in
                WireMessage(compressed: i % 3 == 0, random.bytes(Int.random(in: 0...300, using: &random)))
            }),
            MessageSet(name: "one over 64 KiB", messages: [WireMessage(random.bytes(70_000)), WireMessage([9])]),
        ]
    }()
}

/// How a byte stream is cut into the chunks nghttp2 hands us.
enum Feeding: Sendable, CustomTestStringConvertible {
    case oneByteAtATime
    case allAtOnce
    case randomSplits(seed: UInt64)

    static let all: [Feeding] = [.oneByteAtATime, .allAtOnce] + (1...6).map { .randomSplits(seed: $0) }

    func chunks(of bytes: [UInt8]) -> [[UInt8]] {
        switch self {
        case .oneByteAtATime:
            return bytes.map { [$0] }
        case .allAtOnce:
            return [bytes]
        case .randomSplits(let seed):
            var random = SeededRandom(seed: seed)
            var chunks: [[UInt8]] = []
            var index = 0
            while index < bytes.count {
                // Zero-length chunks too: nghttp2 may hand over an empty DATA frame.
                let length = min(bytes.count - index, Int.random(in: 0...9, using: &random) == 0 ? 0 : Int.random(in: 1...4_000, using: &random))
                chunks.append(Array(bytes[index..<index + length]))
                index += length
            }
            return chunks
        }
    }

    var testDescription: String {
        switch self {
        case .oneByteAtATime: "one byte at a time"
        case .allAtOnce: "all at once"
        case .randomSplits(let seed): "random splits (seed \(seed))"
        }
    }
}

/// Feeds `chunks` to `deframer`, collecting the messages it completes along the way.
private func feed(_ chunks: [[UInt8]], to deframer: inout MessageDeframer) throws -> [WireMessage] {
    var received: [WireMessage] = []
    for chunk in chunks {
        try chunk.withUnsafeBytes { try deframer.append($0) }
        received += deframer.takeMessages().map(WireMessage.init)
    }
    return received
}

@Suite struct MessageDeframerTests {
    @Test(arguments: MessageSet.all, Feeding.all)
    func yieldsTheSameMessagesHoweverTheBytesAreSplit(set: MessageSet, feeding: Feeding) throws {
        var deframer = MessageDeframer(maxMessageBytes: 1 << 20)
        let received = try feed(feeding.chunks(of: set.stream), to: &deframer)
        #expect(received == set.messages)
        #expect(!deframer.hasPartialMessage)
        #expect(deframer.takeMessages().isEmpty)
    }

    @Test(arguments: Feeding.all)
    func announcementOverTheLimitIsTooLarge(feeding: Feeding) throws {
        var deframer = MessageDeframer(maxMessageBytes: 1_024)
        // At the limit is fine; one byte more fails as soon as the prefix is complete,
        // before any of the announced payload arrives.
        let atLimit = WireMessage([UInt8](repeating: 1, count: 1_024))
        let overLimitPrefix = Array(WireMessage([UInt8](repeating: 2, count: 1_025)).frame.prefix(5))
        #expect(throws: MessageDeframer.Failure.tooLarge(announced: 1_025)) {
            let received = try feed(feeding.chunks(of: atLimit.frame + overLimitPrefix), to: &deframer)
            #expect(received == [atLimit])
        }
    }

    @Test func largestAnnouncementIsReportedExactly() {
        var deframer = MessageDeframer(maxMessageBytes: 64 << 20)
        #expect(throws: MessageDeframer.Failure.tooLarge(announced: 0xFFFF_FFFF)) {
            _ = try feed([[0, 0xFF, 0xFF, 0xFF, 0xFF]], to: &deframer)
        }
    }

    @Test(arguments: [UInt8(2), 3, 0x80, 0xFF])
    func flagOtherThanZeroOrOneIsBadFlag(flag: UInt8) {
        var deframer = MessageDeframer(maxMessageBytes: 1_024)
        #expect(throws: MessageDeframer.Failure.badFlag(flag)) {
            _ = try feed([WireMessage([1]).frame + [flag, 0, 0, 0, 1, 42]], to: &deframer)
        }
    }

    @Test func partialMessageIsReportedForACutPrefixAndACutPayload() throws {
        let frame = WireMessage([10, 20, 30, 40]).frame
        var cutPrefix = MessageDeframer(maxMessageBytes: 1_024)
        _ = try feed([Array(frame.prefix(3))], to: &cutPrefix)
        #expect(cutPrefix.hasPartialMessage)

        var cutPayload = MessageDeframer(maxMessageBytes: 1_024)
        _ = try feed([Array(frame.prefix(7))], to: &cutPayload)
        #expect(cutPayload.hasPartialMessage)

        var prefixOnly = MessageDeframer(maxMessageBytes: 1_024)
        _ = try feed([Array(frame.prefix(5))], to: &prefixOnly)
        #expect(prefixOnly.hasPartialMessage)

        var whole = MessageDeframer(maxMessageBytes: 1_024)
        #expect(try feed([frame], to: &whole) == [WireMessage([10, 20, 30, 40])])
        #expect(!whole.hasPartialMessage)
    }

    /// Every cut of a stream is partial exactly when it does not fall on a message boundary.
    @Test(arguments: MessageSet.all.filter { $0.stream.count < 5_000 })
    func partialMessageExactlyBetweenBoundaries(set: MessageSet) throws {
        let stream = set.stream
        var boundaries: Set<Int> = [0]
        var offset = 0
        for message in set.messages {
            offset += message.frame.count
            boundaries.insert(offset)
        }
        for cut in 0...stream.count {
            var deframer = MessageDeframer(maxMessageBytes: 1 << 20)
            let received = try feed([Array(stream.prefix(cut))], to: &deframer)
            #expect(deframer.hasPartialMessage == !boundaries.contains(cut), "cut at \(cut)")
            #expect(received == Array(set.messages.prefix(boundaries.filter { $0 > 0 && $0 <= cut }.count)), "cut at \(cut)")
        }
    }
}

// MARK: - grpc-timeout

@Suite struct GRPCTimeoutTests {
    static let valid: [(String, UInt64)] = [
        ("1H", 3_600_000_000_000),
        ("5M", 300_000_000_000),
        ("30S", 30_000_000_000),
        ("100m", 100_000_000),
        ("7u", 7_000),
        ("9n", 9),
        ("0n", 0),
        ("00000001S", 1_000_000_000),
        ("99999999S", 99_999_999_000_000_000),
        ("99999999n", 99_999_999),
        ("99999999H", .max),  // 3.6e20 ns does not fit: saturates
    ]

    @Test(arguments: valid)
    func parsesValidValues(text: String, nanoseconds: UInt64) {
        #expect(GRPCTimeout.parse(Array(text.utf8)) == nanoseconds)
    }

    @Test(arguments: ["", "S", "10", "5X", "123456789S", "-1S", "1.5S", "1s", " 1S", "1S ", "+1S", "1 S", "１S"])
    func rejectsMalformedValues(text: String) {
        #expect(GRPCTimeout.parse(Array(text.utf8)) == nil)
    }

    static let encodeSamples: [UInt64] = {
        var random = SeededRandom(seed: 0x7131)
        var samples: [UInt64] = [
            0, 1, 999, 1_000, 1_001, 50_000_000, 99_999_999, 100_000_000, 100_000_001, 1_000_000_000,
            99_999_999_000, 99_999_999_001, 3_600_000_000_000, 86_400_000_000_000, 99_999_999_000_000_000,
            UInt64(Int64.max) / 2,
        ]
        for _ in 0..<200 {
            samples.append(UInt64.random(in: 0...(1 << UInt64.random(in: 1...62, using: &random)), using: &random))
        }
        return samples
    }()

    @Test func encodeUsesAtMostEightDigitsAndNeverShortensTheTimeout() {
        let unitSizes: [Character: UInt64] = ["n": 1, "u": 1_000, "m": 1_000_000, "S": 1_000_000_000, "M": 60_000_000_000, "H": 3_600_000_000_000]
        for nanoseconds in Self.encodeSamples {
            let text = GRPCTimeout.encode(nanoseconds: nanoseconds)
            let digits = text.dropLast()
            #expect((1...8).contains(digits.count) && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber), "\(nanoseconds) → \(text)")
            guard let unit = text.last, let size = unitSizes[unit] else {
                Issue.record("\(nanoseconds) → \(text): unknown unit")
                continue
            }
            guard let decoded = GRPCTimeout.parse(Array(text.utf8)) else {
                Issue.record("\(nanoseconds) → \(text) does not parse")
                continue
            }
            #expect(decoded >= nanoseconds, "\(nanoseconds) → \(text)")
            #expect(decoded - nanoseconds < size, "\(nanoseconds) → \(text) rounds up by more than one unit")
        }
    }

    @Test(arguments: [(UInt64(0), "0n"), (1, "1n"), (99_999_999, "99999999n"), (100_000_000, "100000u"), (50_000_000, "50000000n"), (3_600_000_000_000, "3600000m"), (100_000_001, "100001u")])
    func encodePicksTheFinestUnitThatFits(nanoseconds: UInt64, text: String) {
        #expect(GRPCTimeout.encode(nanoseconds: nanoseconds) == text)
    }

    /// Every UInt64 fits in `99999999H` (3.6e20 ns), so every value must encode; rounding
    /// up must not overflow near UInt64.max.
    @Test func encodeHandlesTheLargestValues() async {
        await #expect(processExitsWith: .success) {
            let text = GRPCTimeout.encode(nanoseconds: .max)
            precondition(GRPCTimeout.parse(Array(text.utf8))! >= 5_124_095 * 3_600_000_000_000)
        }
    }
}

// MARK: - grpc-message percent-encoding

@Suite struct PercentEncodingTests {
    static let specialMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"

    @Test func interopSpecialMessageEncodesAsTheSpecSays() {
        let encoded = PercentEncoding.encode(Self.specialMessage)
        #expect(encoded == "%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP %F0%9F%98%88%09%0A")
        #expect(PercentEncoding.decode(Array(encoded.utf8)) == Self.specialMessage)
    }

    @Test(arguments: [
        specialMessage, "", "plain ASCII", "100%", "%", "%%%", "%41 is not A", "a%2", "tab\there",
        String(decoding: (0..<128).map { UInt8($0) }, as: UTF8.self), "日本語 ✓ 🚀🚀", "\u{0}\u{7F}\u{80}\u{FFFF}",
    ])
    func roundTrips(message: String) {
        let encoded = PercentEncoding.encode(message)
        let bytes = Array(encoded.utf8)
        // Only printable ASCII leaves, and every '%' starts an escape.
        #expect(bytes.allSatisfy { (0x20...0x7E).contains($0) })
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "%") {
            let escape = bytes.dropFirst(index + 1).prefix(2)
            #expect(escape.count == 2 && escape.allSatisfy { Array("0123456789ABCDEF".utf8).contains($0) }, "bare % in \(encoded)")
        }
        #expect(PercentEncoding.decode(bytes) == message)
    }

    @Test func percentIsEscaped() {
        #expect(PercentEncoding.encode("50% off") == "50%25 off")
        #expect(PercentEncoding.encode("%25") == "%2525")
    }

    @Test(arguments: [
        ("%", "%"), ("%4", "%4"), ("abc%", "abc%"), ("abc%4", "abc%4"), ("%zz", "%zz"), ("%4G", "%4G"), ("%G4", "%G4"),
        ("%%41", "%A"), ("%41", "A"), ("%e2%98%ba", "☺"), ("%E2%98%BA", "☺"), ("100%25", "100%"), ("%G1%41", "%G1A"), ("% 41", "% 41"),
    ])
    func malformedEscapesDecodeLeniently(text: String, decoded: String) {
        #expect(PercentEncoding.decode(Array(text.utf8)) == decoded)
    }
}

// MARK: - base64 for -bin metadata

@Suite struct Base64Tests {
    @Test(arguments: 0...64)
    func roundTripsRandomBytes(length: Int) {
        var random = SeededRandom(seed: UInt64(length) &* 0x51)
        let bytes = random.bytes(length)
        let encoded = Base64.encode(bytes)
        #expect(encoded == Data(bytes).base64EncodedString())
        #expect(Base64.decode(Array(encoded.utf8)) == bytes)
        // Also accepted: no padding (grpc-go sends it so), and the URL-safe alphabet.
        let unpadded = encoded.filter { $0 != "=" }
        #expect(Base64.decode(Array(unpadded.utf8)) == bytes)
        let urlSafe = encoded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        #expect(Base64.decode(Array(urlSafe.utf8)) == bytes)
    }

    @Test(arguments: ["ab$d", "ab d", "YW Jj", "YWJj\n", "é", "YW*j", "YWJj!"])
    func invalidCharactersAreRejected(text: String) {
        #expect(Base64.decode(Array(text.utf8)) == nil)
    }
}

// MARK: - gzip

/// The gzip failure `body` throws, or nil when it returns.
private func gzipFailure(_ body: () throws(Gzip.Failure) -> Void) -> Gzip.Failure? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

@Suite struct GzipTests {
    static let inputs: [(String, [UInt8])] = {
        var random = SeededRandom(seed: 0x62)
        return [
            ("empty", []),
            ("one byte", [42]),
            ("random 1 KiB", random.bytes(1_024)),
            ("random 64 KiB + 1", random.bytes(65_537)),
            ("zeros 1 MiB", [UInt8](repeating: 0, count: 1 << 20)),
            ("text", Array(String(repeating: "CellHub segments cells. ", count: 4_000).utf8)),
        ]
    }()

    @Test(arguments: inputs)
    func roundTrips(name: String, input: [UInt8]) throws {
        let packed = input.withUnsafeBytes { Gzip.compress($0) }
        #expect(packed.starts(with: [0x1F, 0x8B]), "gzip magic")
        #expect(try Gzip.decompress(packed, limit: input.count) == input)
        #expect(try Gzip.decompress(packed, limit: 64 << 20) == input)
    }

    @Test func decompressingPastTheLimitIsTooLarge() {
        let zeros = [UInt8](repeating: 0, count: 4 << 20)
        let packed = zeros.withUnsafeBytes { Gzip.compress($0) }
        #expect(packed.count < 10_000, "a zip bomb in miniature")
        for limit in [0, 1, 65_536, (4 << 20) - 1] {
            let failure = gzipFailure { () throws(Gzip.Failure) in _ = try Gzip.decompress(packed, limit: limit) }
            guard case .tooLarge = failure else {
                Issue.record("limit \(limit): expected tooLarge, got \(String(describing: failure))")
                continue
            }
        }
    }

    @Test func garbageIsCorrupt() {
        var random = SeededRandom(seed: 0xBAD)
        let valid = Array("some text to compress, some text to compress".utf8).withUnsafeBytes { Gzip.compress($0) }
        var badChecksum = valid
        badChecksum[badChecksum.count - 6] ^= 0xFF  // inside the CRC-32 trailer
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("not gzip", Array("definitely not gzip".utf8)),
            ("random", random.bytes(4_096)),
            ("magic then random", [0x1F, 0x8B, 8, 0] + random.bytes(100)),
            ("truncated", Array(valid.prefix(valid.count / 2))),
            ("missing trailer", Array(valid.dropLast(8))),
            ("bad checksum", badChecksum),
        ]
        for (name, bytes) in cases {
            let failure = gzipFailure { () throws(Gzip.Failure) in _ = try Gzip.decompress(bytes, limit: 1 << 20) }
            guard case .corrupt = failure else {
                Issue.record("\(name): expected corrupt, got \(String(describing: failure))")
                continue
            }
        }
    }
}
