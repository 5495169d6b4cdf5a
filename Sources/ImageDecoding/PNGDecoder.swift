internal import CImageDecode

/// PNG through libpng, called from C (CImageDecode) because libpng reports errors by longjmp.
enum PNGDecoder {
    static func decode(_ bytes: [UInt8], limits: ImageLimits) throws(ImageDecodingError) -> GrayImage {
        try DecodedSamples.decode(bytes, limits: limits) { data, size, maxSide, maxPixels, out, message, capacity in
            cellhub_png_decode(data, size, maxSide, maxPixels, out, message, capacity)
        }
    }
}

/// JPEG through libjpeg-turbo, called from C (CImageDecode) because libjpeg's error exit
/// longjmps; libjpeg converts to its luma channel itself.
enum JPEGDecoder {
    static func decode(_ bytes: [UInt8], limits: ImageLimits) throws(ImageDecodingError) -> GrayImage {
        try DecodedSamples.decode(bytes, limits: limits) { data, size, maxSide, maxPixels, out, message, capacity in
            cellhub_jpeg_decode(data, size, maxSide, maxPixels, out, message, capacity)
        }
    }
}
