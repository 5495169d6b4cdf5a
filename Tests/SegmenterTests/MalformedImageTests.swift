import ImageDecoding
import Segmenter
import TestSupport
import Testing

@Suite("malformed, truncated and oversized images give SegmenterError, never a crash")
struct MalformedImageTests {
    static func samples() throws -> [(String, [UInt8])] {
        let image = SyntheticImage(
            width: 96, height: 80, ellipses: [Ellipse(cx: 40, cy: 40, a: 12, b: 9)], noise: 3
        ).render()
        let sixteen = image.levels.map { $0 * 200 }
        return [
            ("image/png", try ImageEncoder.png(image.levels, width: 96, height: 80, sixteenBit: false)),
            ("image/png", try ImageEncoder.png(sixteen, width: 96, height: 80, sixteenBit: true)),
            ("image/jpeg", try ImageEncoder.jpeg(image.levels, width: 96, height: 80)),
            ("image/tiff", TIFFWriter.gray(sixteen, width: 96, height: 80, sixteenBit: true)),
            ("image/tiff", TIFFWriter.gray(sixteen, width: 96, height: 80, sixteenBit: true, tile: 32)),
            ("image/x-portable-graymap", ImageEncoder.pgm(image.levels, width: 96, height: 80, maxLevel: 255)),
            ("image/x-portable-graymap", ImageEncoder.pgm(sixteen, width: 96, height: 80, maxLevel: 65535)),
        ]
    }

    /// Outcome of one call: success or a non-retryable error. Anything else (a trap) fails the run.
    static func attempt(_ bytes: [UInt8], _ contentType: String) -> Bool {
        do {
            _ = try BuiltinSegmenter.segment(imageBytes: bytes, contentType: contentType)
            return true
        } catch {
            #expect(!error.retryable, "\(contentType): \(error.message)")
            #expect(!error.message.isEmpty)
            return false
        }
    }

    @Test("every truncation of every format", arguments: 0..<7)
    func truncations(_ index: Int) throws {
        let (contentType, bytes) = try Self.samples()[index]
        #expect(Self.attempt(bytes, contentType))
        var failures = 0
        // Every prefix up to 600 bytes, then every 97th: headers byte by byte, data by samples.
        for length in Array(0..<min(600, bytes.count)) + Array(stride(from: 600, to: bytes.count, by: 97)) {
            if !Self.attempt(Array(bytes.prefix(length)), contentType) { failures += 1 }
        }
        // A prefix that loses most of the pixel data must not decode.
        #expect(!Self.attempt(Array(bytes.prefix(bytes.count / 2)), contentType))
        #expect(failures > 0)
    }

    @Test("random byte corruption", arguments: 0..<7)
    func corruption(_ index: Int) throws {
        let (contentType, bytes) = try Self.samples()[index]
        var random = SeededRandom(seed: UInt64(index) + 100)
        for _ in 0..<300 {
            var damaged = bytes
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                damaged[Int.random(in: 0..<damaged.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            _ = Self.attempt(damaged, contentType)
        }
        for length in [0, 1, 7, 64] { _ = Self.attempt(random.bytes(length), contentType) }
    }

    @Test("huge declared dimensions are refused from the header")
    func huge() throws {
        let refused: [(String, [UInt8])] = [
            ("image/png", try Self.pngHeader(width: 100_000, height: 10)),
            ("image/png", try Self.pngHeader(width: 16384, height: 16384)),  // 256 Mpx > 64 Mi
            ("image/jpeg", try Self.jpegHeader(width: 60000, height: 60000)),
            ("image/jpeg", try Self.jpegHeader(width: 16000, height: 16000)),
            ("image/tiff", TIFFWriter.gray([1, 2, 3, 4], width: 2, height: 2, sixteenBit: false, rowsPerStrip: 1 << 30, declaredWidth: 1 << 30, declaredHeight: 1 << 30)),
            ("image/tiff", TIFFWriter.gray([1, 2, 3, 4], width: 2, height: 2, sixteenBit: false, rowsPerStrip: 16000, declaredWidth: 16384, declaredHeight: 16000)),
            ("image/x-portable-graymap", Array("P5\n99999999999 99999999999\n255\n".utf8) + [0, 0]),
            ("image/x-portable-graymap", Array("P5\n16385 2\n255\n".utf8)),
        ]
        for (contentType, bytes) in refused {
            #expect {
                try BuiltinSegmenter.segment(imageBytes: bytes, contentType: contentType)
            } throws: { error in
                guard let error = error as? SegmenterError else { return false }
                return !error.retryable && error.message.contains("too large")
            }
        }
    }

    /// A PNG signature and IHDR declaring `width` x `height` (no image data).
    static func pngHeader(width: UInt32, height: UInt32) throws -> [UInt8] {
        let real = try ImageEncoder.png([0], width: 1, height: 1, sixteenBit: false)
        var bytes = Array(real.prefix(33))
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        bytes.replaceSubrange(16..<24, with: be(width) + be(height))
        return bytes + Array(real.dropFirst(33))
    }

    /// A real JPEG whose SOF0 marker is patched to declare `width` x `height`.
    static func jpegHeader(width: UInt16, height: UInt16) throws -> [UInt8] {
        var bytes = try ImageEncoder.jpeg([UInt16](repeating: 9, count: 64), width: 8, height: 8)
        let sof = try #require((0..<(bytes.count - 9)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        bytes.replaceSubrange((sof + 5)..<(sof + 9), with: [UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF)])
        return bytes
    }
}
