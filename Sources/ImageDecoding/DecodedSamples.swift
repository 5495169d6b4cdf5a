internal import CImageDecode

/// Runs one of CImageDecode's decoders and turns its interleaved samples into gray levels.
enum DecodedSamples {
    typealias Decoder = (
        UnsafePointer<UInt8>, Int, UInt32, UInt64, UnsafeMutablePointer<cellhub_decoded_image>,
        UnsafeMutablePointer<CChar>, Int
    ) -> cellhub_image_status

    static func decode(
        _ bytes: [UInt8], limits: ImageLimits, with decoder: Decoder
    ) throws(ImageDecodingError) -> GrayImage {
        if bytes.isEmpty { throw .malformed("empty file") }
        var image = cellhub_decoded_image()
        var message = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { data in
            message.withUnsafeMutableBufferPointer { text in
                decoder(
                    data.baseAddress!, data.count, UInt32(clamping: limits.maxSide), UInt64(clamping: limits.maxPixels),
                    &image, text.baseAddress!, text.count
                )
            }
        }
        defer { cellhub_image_free(&image) }
        let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch status {
        case CELLHUB_IMAGE_OK: break
        case CELLHUB_IMAGE_UNSUPPORTED: throw .unsupported(reason)
        case CELLHUB_IMAGE_TOO_LARGE: throw .tooLarge(reason)
        case CELLHUB_IMAGE_OUT_OF_MEMORY: throw .outOfMemory(reason.isEmpty ? "decoder allocation failed" : reason)
        default: throw .malformed(reason.isEmpty ? "undecodable data" : reason)
        }
        guard let samples = image.samples, image.channels >= 1, image.channels <= 4,
            image.bits_per_sample == 8 || image.bits_per_sample == 16
        else { throw .unsupported("decoder returned an unexpected layout") }
        return gray(
            samples: UnsafeRawPointer(samples), width: Int(image.width), height: Int(image.height),
            channels: Int(image.channels), sixteenBit: image.bits_per_sample == 16
        )
    }

    /// Interleaved gray, gray+alpha, RGB or RGBA samples (8-bit, or native-endian 16-bit) to
    /// gray levels; colour goes through Rec. 601 luma (what libjpeg uses for JPEG files), alpha
    /// is dropped.
    static func gray(
        samples: UnsafeRawPointer, width: Int, height: Int, channels: Int, sixteenBit: Bool
    ) -> GrayImage {
        let count = width * height
        let levels = [UInt16](unsafeUninitializedCapacity: count) { out, initialized in
            if sixteenBit {
                let input = samples.assumingMemoryBound(to: UInt16.self)
                convert(input, channels: channels, count: count, into: out)
            } else {
                let input = samples.assumingMemoryBound(to: UInt8.self)
                convert(input, channels: channels, count: count, into: out)
            }
            initialized = count
        }
        return GrayImage(width: width, height: height, maxLevel: sixteenBit ? 65535 : 255, levels: levels)
    }

    private static func convert<Sample: FixedWidthInteger & UnsignedInteger>(
        _ input: UnsafePointer<Sample>, channels: Int, count: Int, into out: UnsafeMutableBufferPointer<UInt16>
    ) {
        switch channels {
        case 1, 2:
            for i in 0..<count { out[i] = UInt16(truncatingIfNeeded: input[i * channels]) }
        default:
            // Y = 0.299 R + 0.587 G + 0.114 B in 16.16 fixed point, rounded.
            for i in 0..<count {
                let r = UInt64(input[i * channels]), g = UInt64(input[i * channels + 1])
                let b = UInt64(input[i * channels + 2])
                out[i] = UInt16(truncatingIfNeeded: (19595 &* r &+ 38470 &* g &+ 7471 &* b &+ 32768) >> 16)
            }
        }
    }
}
