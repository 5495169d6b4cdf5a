import ImageDecoding
import Segmenter
import Testing

@Suite("every supported format decodes and segments")
struct DecodingTests {
    static let ellipses = SyntheticImage.scattered(width: 256, height: 192, count: 12, radius: 8...14, seed: 21)

    static func scene(maxLevel: Int = 255) -> GrayImage {
        let scale = Double(maxLevel) / 255
        return SyntheticImage(
            width: 256, height: 192, ellipses: ellipses, background: 30 * scale, foreground: 170 * scale,
            noise: 3 * scale, seed: 21, maxLevel: maxLevel
        ).render()
    }

    static func encodings() throws -> [(String, String, [UInt8], GrayImage?)] {
        let eight = scene(), sixteen = scene(maxLevel: 65535)
        let rgb: [UInt8] = eight.levels.flatMap { level -> [UInt8] in [UInt8(level), UInt8(level), UInt8(level), 255] }
        var p2 = Array("P2\n# a comment\n256 192\n255\n".utf8)
        p2 += Array(eight.levels.map(String.init).joined(separator: " ").utf8)
        return [
            ("PNG 8-bit", "image/png", try ImageEncoder.png(eight.levels, width: 256, height: 192, sixteenBit: false), eight),
            ("PNG 16-bit", "image/png", try ImageEncoder.png(sixteen.levels, width: 256, height: 192, sixteenBit: true), sixteen),
            ("PNG RGBA", "image/png", try ImageEncoder.png(samples: rgb, width: 256, height: 192, channels: 4), eight),
            ("JPEG", "image/jpeg", try ImageEncoder.jpeg(eight.levels, width: 256, height: 192, quality: 92), nil),
            ("TIFF 16-bit strips", "image/tiff", TIFFWriter.gray(sixteen.levels, width: 256, height: 192, sixteenBit: true), sixteen),
            (
                "TIFF 16-bit big-endian tiles", "image/tiff",
                TIFFWriter.gray(sixteen.levels, width: 256, height: 192, sixteenBit: true, bigEndian: true, tile: 64), sixteen
            ),
            ("TIFF 8-bit", "image/tiff", TIFFWriter.gray(eight.levels, width: 256, height: 192, sixteenBit: false), eight),
            ("PGM P5 8-bit", "image/x-portable-graymap", ImageEncoder.pgm(eight.levels, width: 256, height: 192, maxLevel: 255), eight),
            (
                "PGM P5 16-bit", "image/x-portable-graymap",
                ImageEncoder.pgm(sixteen.levels, width: 256, height: 192, maxLevel: 65535), sixteen
            ),
            ("PGM P2", "image/x-portable-graymap", p2, eight),
        ]
    }

    @Test("decodes losslessly (JPEG approximately) and finds every cell", arguments: 0..<10)
    func format(_ index: Int) throws {
        let (name, contentType, bytes, expected) = try Self.encodings()[index]
        let format = try #require(ImageFormat(contentType: contentType))
        let decoded = try ImageDecoder.decode(bytes, as: format)
        #expect(decoded.width == 256 && decoded.height == 192, "\(name)")
        if let expected { #expect(decoded.levels == expected.levels, "\(name)") }
        let outcome = try BuiltinSegmenter.segment(imageBytes: bytes, contentType: contentType)
        #expect(outcome.cells.count == Self.ellipses.count, "\(name)")
        #expect(outcome.width == 256 && outcome.height == 192)
    }

    @Test("a 2048 x 2048 16-bit TIFF and an 8-bit PNG segment")
    func large() throws {
        let ellipses = SyntheticImage.scattered(width: 2048, height: 2048, count: 300, radius: 8...20, seed: 5)
        let sixteen = SyntheticImage(
            width: 2048, height: 2048, ellipses: ellipses, background: 3000, foreground: 40000, noise: 500, maxLevel: 65535
        ).render()
        let tiff = TIFFWriter.gray(sixteen.levels, width: 2048, height: 2048, sixteenBit: true, rowsPerStrip: 64)
        let fromTIFF = try BuiltinSegmenter.segment(imageBytes: tiff, contentType: "image/tiff")
        #expect(fromTIFF.cells.count == ellipses.count)
        let eight = SyntheticImage(width: 2048, height: 2048, ellipses: ellipses, noise: 6).render()
        let png = try ImageEncoder.png(eight.levels, width: 2048, height: 2048, sixteenBit: false, compressionLevel: 1)
        let fromPNG = try BuiltinSegmenter.segment(imageBytes: png, contentType: "image/png")
        #expect(fromPNG.cells.count == ellipses.count)
    }

    @Test("content types and extensions")
    func contentTypes() {
        #expect(ImageFormat(contentType: "image/PNG") == .png)
        #expect(ImageFormat(contentType: "image/jpeg; q=1") == .jpeg)
        #expect(ImageFormat(contentType: "text/plain") == nil)
        #expect(ImageFormat(pathExtension: "TIF") == .tiff)
        #expect(throws: SegmenterError.self) { try BuiltinSegmenter.segment(imageBytes: [1, 2, 3], contentType: "image/gif") }
    }
}
