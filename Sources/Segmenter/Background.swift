/// Which side of the threshold the objects are on.
enum Polarity: Sendable, Hashable {
    /// Bright objects on a darker background (fluorescence): objects are levels above Otsu's t.
    case bright
    /// Dark objects on a brighter background (bright field): objects are levels at or below t.
    case dark
}

/// A coarse model of the background, from per-tile percentiles of the smoothed image.
///
/// The image is cut into tiles of about 64 px. In each tile the 10th, 50th and 90th percentiles
/// are read from a (subsampled) histogram:
/// - Polarity: objects are the minority class, so they lengthen one tail of each tile's
///   histogram; the sign of the summed tail asymmetry, (p90 - p50) - (p50 - p10), says whether
///   that tail is the bright one. An illumination gradient inside a tile is symmetric and
///   cancels. Bright on ties.
/// - Background level: the percentile on the background side (p10 for bright objects, p90 for
///   dark), which stays on the background while objects cover less than 90 % of a tile; tiles
///   an object covers entirely stand out from their neighbours and are replaced
///   (``rejectObjectTiles(tolerance:)``). The grid is bilinearly interpolated between tile
///   centres (extrapolated to the borders).
struct Background {
    var polarity: Polarity
    /// Tile-grid background levels, `columns * rows`, row-major; empty when the image is too
    /// small for a grid (fewer than 3 tiles a side).
    var grid: [Double]
    var columns: Int
    var rows: Int
    /// Tile boundaries along x and y (columns + 1 and rows + 1 entries).
    var xEdges: [Int]
    var yEdges: [Int]

    static let tileSize = 64

    /// The range of the background estimate: how far illumination varies across the image.
    var variation: Double { (grid.max() ?? 0) - (grid.min() ?? 0) }

    init(levels: UnsafeBufferPointer<UInt16>, width: Int, height: Int, low: Int, high: Int) {
        let columns = max(1, width / Self.tileSize), rows = max(1, height / Self.tileSize)
        let xEdges = (0...columns).map { $0 * width / columns }, yEdges = (0...rows).map { $0 * height / rows }
        (self.columns, self.rows, self.xEdges, self.yEdges) = (columns, rows, xEdges, yEdges)
        // 256 bins over low...high: levels are shifted right until the range fits.
        var shift = 0
        while (high - low) >> shift >= 256 { shift += 1 }
        var p10 = [Double](), p50 = [Double](), p90 = [Double]()
        var histogram = [Int32](repeating: 0, count: 256)
        for row in 0..<rows {
            for column in 0..<columns {
                for i in 0..<256 { histogram[i] = 0 }
                var samples = 0
                // Every other row and column: 1,024 samples in a 64 x 64 tile are plenty for
                // three percentiles, at a quarter of the cost.
                for y in stride(from: yEdges[row], to: yEdges[row + 1], by: 2) {
                    let line = levels.baseAddress! + y * width
                    for x in stride(from: xEdges[column], to: xEdges[column + 1], by: 2) {
                        histogram[(Int(line[x]) - low) >> shift] &+= 1
                        samples += 1
                    }
                }
                let binWidth = Double(1 << shift)
                func percentile(_ fraction: Double) -> Double {
                    let rank = Int32(max(0, min(Double(samples - 1), (Double(samples) * fraction).rounded(.down))))
                    var seen: Int32 = 0
                    for bin in 0..<256 {
                        seen += histogram[bin]
                        if seen > rank { return Double(low) + Double(bin) * binWidth + (binWidth - 1) / 2 }
                    }
                    return Double(high)
                }
                p10.append(percentile(0.1))
                p50.append(percentile(0.5))
                p90.append(percentile(0.9))
            }
        }
        var asymmetry = 0.0
        for i in p50.indices { asymmetry += (p90[i] - p50[i]) - (p50[i] - p10[i]) }
        polarity = asymmetry >= 0 ? .bright : .dark
        guard columns >= 3, rows >= 3 else {
            grid = []
            return
        }
        grid = polarity == .bright ? p10 : p90
    }

    /// Replaces the tiles an object covers (almost) entirely: a tile whose level sits more than
    /// `tolerance` towards the object side of the median of its 3 x 3 neighbourhood takes the
    /// mean of its neighbours that do not. Other tiles are left as measured, so a linear
    /// illumination ramp is reproduced exactly (a grey opening would flatten it at the borders).
    mutating func rejectObjectTiles(tolerance: Double) {
        if grid.isEmpty { return }
        let sign = polarity == .bright ? 1.0 : -1.0
        var outlier = [Bool](repeating: false, count: grid.count)
        for row in 0..<rows {
            for column in 0..<columns {
                var neighbourhood: [Double] = []
                for r in max(0, row - 1)...min(rows - 1, row + 1) {
                    for c in max(0, column - 1)...min(columns - 1, column + 1) { neighbourhood.append(grid[r * columns + c]) }
                }
                neighbourhood.sort()
                let median = neighbourhood[neighbourhood.count / 2]
                outlier[row * columns + column] = sign * (grid[row * columns + column] - median) > tolerance
            }
        }
        let measured = grid
        for row in 0..<rows {
            for column in 0..<columns where outlier[row * columns + column] {
                var sum = 0.0, count = 0.0
                for r in max(0, row - 1)...min(rows - 1, row + 1) {
                    for c in max(0, column - 1)...min(columns - 1, column + 1) where !outlier[r * columns + c] {
                        sum += measured[r * columns + c]
                        count += 1
                    }
                }
                // A block of object tiles wider than 3 x 3 keeps its measured levels.
                if count > 0 { grid[row * columns + column] = sum / count }
            }
        }
    }

    /// `levels` minus the interpolated background, shifted so the background sits at its
    /// extreme grid level (lowest for bright objects, highest for dark), clamped to
    /// 0...maxLevel; `histogram` (maxLevel + 1 bins) receives the result's levels.
    func subtract(
        from levels: UnsafeBufferPointer<UInt16>, width: Int, height: Int, maxLevel: Int,
        into output: UnsafeMutableBufferPointer<UInt16>, histogram: UnsafeMutableBufferPointer<Int>
    ) {
        let reference = polarity == .bright ? grid.min()! : grid.max()!
        // Tile centres, and for each x its two neighbouring columns and weight (clamped at the ends).
        let xCentres = (0..<columns).map { Double(xEdges[$0] + xEdges[$0 + 1] - 1) / 2 }
        let yCentres = (0..<rows).map { Double(yEdges[$0] + yEdges[$0 + 1] - 1) / 2 }
        // Beyond the outermost centres the nearest two tiles are extrapolated linearly, so a
        // ramp continues to the image border instead of flattening there.
        func bracket(_ position: Double, _ centres: [Double]) -> (Int, Int, Double) {
            let last = centres.count - 1
            if position <= centres[0] { return (0, 1, (position - centres[0]) / (centres[1] - centres[0])) }
            if position >= centres[last] {
                return (last - 1, last, 1 + (position - centres[last]) / (centres[last] - centres[last - 1]))
            }
            var i = 0
            while centres[i + 1] < position { i += 1 }
            return (i, i + 1, (position - centres[i]) / (centres[i + 1] - centres[i]))
        }
        let xBrackets = (0..<width).map { bracket(Double($0), xCentres) }
        var line = [Double](repeating: 0, count: columns)
        for y in 0..<height {
            let (r0, r1, wy) = bracket(Double(y), yCentres)
            for c in 0..<columns {
                line[c] = grid[r0 * columns + c] * (1 - wy) + grid[r1 * columns + c] * wy
            }
            let source = levels.baseAddress! + y * width, target = output.baseAddress! + y * width
            for x in 0..<width {
                let (c0, c1, wx) = xBrackets[x]
                let background = line[c0] * (1 - wx) + line[c1] * wx
                let value = Double(source[x]) - background + reference
                let level = Int(max(0, min(Double(maxLevel), value.rounded())))
                target[x] = UInt16(truncatingIfNeeded: level)
                histogram[level] &+= 1
            }
        }
    }
}
