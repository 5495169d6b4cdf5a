internal import CImageDecode

/// Gray levels to PNG or JPEG files, for tests and tools that need real files (the service
/// itself only decodes).
package enum ImageEncoder {
    /// A gray PNG: 8-bit when `sixteenBit` is false (levels above 255 are clamped), else 16-bit.
    package static func png(
        _ levels: [UInt16], width: Int, height: Int, sixteenBit: Bool, compressionLevel: Int = 6
    ) throws(ImageDecodingError) -> [UInt8] {
        guard width > 0, height > 0, levels.count == width * height else { throw .unsupported("size mismatch") }
        if sixteenBit {
            return try encode { out, message, capacity in
                levels.withUnsafeBytes {
                    cellhub_png_encode(
                        $0.baseAddress, UInt32(width), UInt32(height), 1, 16, Int32(compressionLevel), out, message,
                        capacity)
                }
            }
        }
        let bytes = levels.map { UInt8(clamping: $0) }
        return try encode { out, message, capacity in
            bytes.withUnsafeBytes {
                cellhub_png_encode(
                    $0.baseAddress, UInt32(width), UInt32(height), 1, 8, Int32(compressionLevel), out, message, capacity)
            }
        }
    }

    /// Interleaved 8-bit samples (`channels` 1...4) as a PNG, e.g. RGB or RGBA test images.
    package static func png(samples: [UInt8], width: Int, height: Int, channels: Int) throws(ImageDecodingError) -> [UInt8] {
        guard width > 0, height > 0, (1...4).contains(channels), samples.count == width * height * channels else {
            throw .unsupported("size mismatch")
        }
        return try encode { out, message, capacity in
            samples.withUnsafeBytes {
                cellhub_png_encode(
                    $0.baseAddress, UInt32(width), UInt32(height), UInt32(channels), 8, 6, out, message, capacity)
            }
        }
    }

    /// An 8-bit gray baseline JPEG (levels above 255 clamped) at `quality` 1...100.
    package static func jpeg(_ levels: [UInt16], width: Int, height: Int, quality: Int = 90) throws(ImageDecodingError)
        -> [UInt8]
    {
        guard width > 0, height > 0, levels.count == width * height else { throw .unsupported("size mismatch") }
        let bytes = levels.map { UInt8(clamping: $0) }
        return try encode { out, message, capacity in
            bytes.withUnsafeBufferPointer {
                cellhub_jpeg_encode($0.baseAddress, UInt32(width), UInt32(height), 1, Int32(quality), out, message, capacity)
            }
        }
    }

    /// A binary PGM (P5): 8-bit samples when `maxLevel` < 256, else 16-bit big-endian.
    package static func pgm(_ levels: [UInt16], width: Int, height: Int, maxLevel: Int) -> [UInt8] {
        var bytes = Array("P5\n\(width) \(height)\n\(maxLevel)\n".utf8)
        bytes.reserveCapacity(bytes.count + levels.count * 2)
        for level in levels {
            if maxLevel < 256 {
                bytes.append(UInt8(clamping: level))
            } else {
                bytes.append(UInt8(level >> 8))
                bytes.append(UInt8(level & 0xFF))
            }
        }
        return bytes
    }

    private static func encode(
        _ body: (UnsafeMutablePointer<cellhub_encoded_file>, UnsafeMutablePointer<CChar>, Int) -> cellhub_image_status
    ) throws(ImageDecodingError) -> [UInt8] {
        var file = cellhub_encoded_file()
        var message = [CChar](repeating: 0, count: 256)
        let status = message.withUnsafeMutableBufferPointer { body(&file, $0.baseAddress!, $0.count) }
        defer { cellhub_encoded_free(&file) }
        guard status == CELLHUB_IMAGE_OK, let bytes = file.bytes else {
            throw .malformed(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return Array(UnsafeBufferPointer(start: bytes, count: file.size))
    }
}
