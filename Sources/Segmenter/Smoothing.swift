/// Light denoising before thresholding.
enum Smoothing {
    /// A 3 x 3 binomial filter, (1 2 1)ᵀ(1 2 1) / 16, edges replicated, rounded to levels.
    ///
    /// Why this kernel: it is the smallest Gaussian-like filter (sigma ~0.7 px), enough to take
    /// single-pixel noise off the threshold, and too small to move a straight edge: the
    /// half-level crossing of a step stays on the same pixel boundary, so areas agree with an
    /// unsmoothed threshold to well under 1 % for objects larger than a few pixels.
    static func binomial3(
        _ source: UnsafeBufferPointer<UInt16>, width: Int, height: Int, into output: UnsafeMutableBufferPointer<UInt16>
    ) {
        var vertical = [UInt32](repeating: 0, count: width + 2)
        vertical.withUnsafeMutableBufferPointer { column in
            let src = source.baseAddress!, out = output.baseAddress!
            for y in 0..<height {
                let above = src + max(y - 1, 0) * width, row = src + y * width
                let below = src + min(y + 1, height - 1) * width
                // column[x + 1] holds the vertical (1 2 1) sum of column x; the ends replicate.
                for x in 0..<width {
                    column[x + 1] = UInt32(above[x]) &+ 2 &* UInt32(row[x]) &+ UInt32(below[x])
                }
                column[0] = column[1]
                column[width + 1] = column[width]
                let target = out + y * width
                for x in 0..<width {
                    let sum = column[x] &+ 2 &* column[x + 1] &+ column[x + 2]
                    target[x] = UInt16(truncatingIfNeeded: (sum &+ 8) >> 4)
                }
            }
        }
    }
}
