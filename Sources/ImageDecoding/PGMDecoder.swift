/// Netpbm graymaps in Swift: P5 (binary, 8-bit samples when maxval < 256, else 16-bit big
/// endian) and P2 (ASCII decimal samples). Levels are kept as stored; maxval is the image's
/// ``GrayImage/maxLevel``. Only the first image of a multi-image file is read.
enum PGMDecoder {
    static func decode(_ bytes: [UInt8], limits: ImageLimits) throws(ImageDecodingError) -> GrayImage {
        var scanner = PGMScanner(bytes: bytes)
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "5") || bytes[1] == UInt8(ascii: "2")
        else { throw .malformed("not a PGM file (expected P2 or P5)") }
        let binary = bytes[1] == UInt8(ascii: "5")
        scanner.offset = 2
        let width = try scanner.header("width"), height = try scanner.header("height")
        let maxval = try scanner.header("maxval")
        if let refusal = limits.refusal(width: width, height: height) {
            throw width > 0 && height > 0 ? .tooLarge(refusal) : .malformed(refusal)
        }
        guard (1...65535).contains(maxval) else { throw .malformed("maxval \(maxval) outside 1...65535") }
        let count = width * height
        if binary {
            // Exactly one whitespace byte separates the header from the raster.
            guard scanner.offset < bytes.count, scanner.isSpace(bytes[scanner.offset]) else {
                throw .malformed("no raster after the header")
            }
            let start = scanner.offset + 1
            let sampleBytes = maxval < 256 ? 1 : 2
            guard bytes.count - start >= count * sampleBytes else {
                throw .malformed("raster truncated: \(bytes.count - start) of \(count * sampleBytes) bytes")
            }
            let levels = bytes.withUnsafeBufferPointer { raw in
                [UInt16](unsafeUninitializedCapacity: count) { out, initialized in
                    let input = raw.baseAddress! + start
                    if sampleBytes == 1 {
                        for i in 0..<count { out[i] = UInt16(input[i]) }
                    } else {
                        for i in 0..<count { out[i] = UInt16(input[2 * i]) << 8 | UInt16(input[2 * i + 1]) }
                    }
                    initialized = count
                }
            }
            guard maxval >= 255 || !levels.contains(where: { Int($0) > maxval }) else {
                throw .malformed("sample above maxval \(maxval)")
            }
            return GrayImage(width: width, height: height, maxLevel: maxval, levels: levels)
        }
        var levels = [UInt16]()
        levels.reserveCapacity(count)
        for _ in 0..<count {
            let value = try scanner.number("sample")
            if value > maxval { throw .malformed("sample \(value) above maxval \(maxval)") }
            levels.append(UInt16(value))
        }
        return GrayImage(width: width, height: height, maxLevel: maxval, levels: levels)
    }
}

/// Whitespace- and comment-separated decimal numbers of a PGM header (and P2 raster).
struct PGMScanner {
    let bytes: [UInt8]
    var offset = 0

    func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }

    /// A header number: whitespace and `#` comments may precede it.
    mutating func header(_ name: String) throws(ImageDecodingError) -> Int { try number(name) }

    /// Skips whitespace and comments, then reads a decimal number (capped, never overflows).
    mutating func number(_ name: String) throws(ImageDecodingError) -> Int {
        while offset < bytes.count {
            if isSpace(bytes[offset]) {
                offset += 1
            } else if bytes[offset] == UInt8(ascii: "#") {
                while offset < bytes.count, bytes[offset] != 0x0A, bytes[offset] != 0x0D { offset += 1 }
            } else {
                break
            }
        }
        var value = 0, digits = 0
        while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) {
            if value < 1 << 40 { value = value * 10 + Int(bytes[offset] - UInt8(ascii: "0")) }
            digits += 1
            offset += 1
        }
        if digits == 0 {
            throw .malformed(offset >= bytes.count ? "file ends before the \(name)" : "expected a number for the \(name)")
        }
        return value
    }
}
