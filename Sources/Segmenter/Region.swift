/// A horizontal run of object pixels: row `y`, columns `x0 ..< x1`.
struct Run: Sendable, Hashable {
    var y: Int32
    var x0: Int32
    var x1: Int32

    var length: Int { Int(x1 - x0) }
}

/// One connected object as its runs, in raster order.
struct Region: Sendable {
    var runs: [Run]

    var area: Int { runs.reduce(0) { $0 + $1.length } }

    /// The smallest rectangle holding every pixel: x in minX...maxX, y in minY...maxY.
    var bounds: (minX: Int, minY: Int, maxX: Int, maxY: Int) {
        var minX = Int.max, maxX = Int.min
        for run in runs {
            minX = min(minX, Int(run.x0))
            maxX = max(maxX, Int(run.x1) - 1)
        }
        return (minX, Int(runs.first!.y), maxX, Int(runs.last!.y))
    }

    /// The mean pixel centre (pixel (i, j) has its centre at (i + 0.5, j + 0.5)).
    var centroid: (x: Double, y: Double) {
        var sumX = 0.0, sumY = 0.0, count = 0.0
        for run in runs {
            let length = Double(run.length)
            sumX += Double(Int(run.x0) + Int(run.x1) - 1) * length / 2
            sumY += Double(run.y) * length
            count += length
        }
        return (sumX / count + 0.5, sumY / count + 0.5)
    }
}

/// A region's pixels in a byte mask of its bounding box plus a one-pixel margin of background,
/// so that neighbour lookups around any object pixel stay inside the mask.
struct RegionMask {
    var width: Int
    var height: Int
    /// Image coordinates of mask pixel (0, 0).
    var originX: Int
    var originY: Int
    /// 1 for object pixels, 0 elsewhere.
    var pixels: [UInt8]

    init(_ region: Region) {
        let bounds = region.bounds
        originX = bounds.minX - 1
        originY = bounds.minY - 1
        width = bounds.maxX - bounds.minX + 3
        height = bounds.maxY - bounds.minY + 3
        pixels = [UInt8](repeating: 0, count: width * height)
        for run in region.runs {
            let row = (Int(run.y) - originY) * width - originX
            for x in Int(run.x0)..<Int(run.x1) { pixels[row + x] = 1 }
        }
    }

    /// Object pixel at mask coordinates; false outside the mask.
    func contains(_ x: Int, _ y: Int) -> Bool {
        x >= 0 && y >= 0 && x < width && y < height && pixels[y * width + x] != 0
    }
}
