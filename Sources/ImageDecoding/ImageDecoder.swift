/// Bytes of a PNG, JPEG, TIFF or PGM file to a ``GrayImage``; never traps on any input.
package enum ImageDecoder {
    /// Decodes `bytes` as `format`, refusing images beyond `limits` before allocating pixels.
    package static func decode(
        _ bytes: [UInt8], as format: ImageFormat, limits: ImageLimits = .standard
    ) throws(ImageDecodingError) -> GrayImage {
        switch format {
        case .png: try PNGDecoder.decode(bytes, limits: limits)
        case .jpeg: try JPEGDecoder.decode(bytes, limits: limits)
        case .tiff: try TIFFDecoder.decode(bytes, limits: limits)
        case .pgm: try PGMDecoder.decode(bytes, limits: limits)
        }
    }
}
