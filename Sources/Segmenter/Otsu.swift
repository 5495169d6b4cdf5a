/// Otsu's threshold over a histogram of integer levels.
enum Otsu {
    /// The threshold level t maximising the between-class variance of {<= t} and {> t}.
    ///
    /// Computed exactly as scikit-image's `threshold_otsu` does for integer images (one bin per
    /// level from the lowest to the highest level present, float64 cumulative sums, the first
    /// maximum wins), so that on the same image both pick the same level. Nil when fewer than two
    /// levels are present.
    static func threshold(histogram: UnsafeBufferPointer<Int>) -> Int? {
        guard let low = histogram.firstIndex(where: { $0 > 0 }), let high = histogram.lastIndex(where: { $0 > 0 }),
            low < high
        else { return nil }
        var totalWeight = 0.0, totalMoment = 0.0
        for level in low...high {
            totalWeight += Double(histogram[level])
            totalMoment += Double(histogram[level]) * Double(level)
        }
        // Class 1 is levels low...t, class 2 levels t+1...high. Every partial sum is an integer
        // below 2^53, so the suffix sums equal scikit-image's reversed cumulative sums exactly.
        var weight1 = 0.0, moment1 = 0.0
        var best = -1.0, bestLevel = low
        for level in low..<high {
            weight1 += Double(histogram[level])
            moment1 += Double(histogram[level]) * Double(level)
            let weight2 = totalWeight - weight1, moment2 = totalMoment - moment1
            let mean1 = moment1 / weight1, mean2 = moment2 / weight2
            let difference = mean1 - mean2
            let variance = weight1 * weight2 * (difference * difference)
            if variance > best {
                best = variance
                bestLevel = level
            }
        }
        return bestLevel
    }
}
