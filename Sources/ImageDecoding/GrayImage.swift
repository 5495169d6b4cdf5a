/// A decoded single-channel image: the input every segmenter works on.
///
/// Levels are kept at the file's precision (8-bit files give 0...255, 16-bit files 0...65535, a
/// PGM its own maxval), so a 16-bit microscope image is thresholded on its real levels rather
/// than on a lossy 8-bit copy. Colour files are reduced to luma (alpha is ignored).
package struct GrayImage: Sendable, Hashable {
    package var width: Int
    package var height: Int
    /// The largest level the format can hold (255, 65535 or a PGM's maxval), not the largest
    /// level present.
    package var maxLevel: Int
    /// Row-major levels, `width * height` of them.
    package var levels: [UInt16]

    package init(width: Int, height: Int, maxLevel: Int, levels: [UInt16]) {
        precondition(width >= 0 && height >= 0 && levels.count == width * height, "levels do not match the size")
        self.width = width
        self.height = height
        self.maxLevel = maxLevel
        self.levels = levels
    }
}

/// The size bounds a decoder enforces from a file's header, before it allocates pixels.
package struct ImageLimits: Sendable, Hashable {
    package var maxSide: Int
    package var maxPixels: Int

    package init(maxSide: Int, maxPixels: Int) {
        self.maxSide = maxSide
        self.maxPixels = maxPixels
    }

    /// 16384 per side and 64 Mi pixels (e.g. 8192 x 8192): a 16-bit image of that size plus the
    /// segmenter's working copies stays under ~1 GiB.
    package static let standard = ImageLimits(maxSide: 16384, maxPixels: 64 << 20)

    /// Nil when `width x height` is acceptable, else the reason.
    package func refusal(width: Int, height: Int) -> String? {
        if width <= 0 || height <= 0 { return "image has no pixels (\(width)x\(height))" }
        if width > maxSide || height > maxSide || width.multipliedReportingOverflow(by: height).partialValue > maxPixels
            || width.multipliedReportingOverflow(by: height).overflow
        {
            return "\(width)x\(height) exceeds the limits (\(maxSide) per side, \(maxPixels) pixels)"
        }
        return nil
    }
}
