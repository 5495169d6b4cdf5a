/// Splitting of touching cells: a marker watershed on the distance map of each component.
///
/// Inside a component, the distance to the background peaks at the middle of each cell and dips
/// at the neck where two cells touch. The cores, the pixels farther in than
/// ``coreFraction`` of the component's largest distance, are one blob per cell when the neck is
/// narrower than that fraction of the largest cell's radius; each core then floods its cell, highest
/// distance first (a watershed on the inverted distance map), so the cut lands on the neck.
///
/// Why this is safe on single cells: every superlevel set of the distance map of a convex
/// shape is convex, hence one core, so disks and ellipses (noisy edges aside) are never cut.
/// What it misses: two cells overlapping by more than ~20 % of their diameter (neck wider than
/// the threshold), and a cell whose radius is under ``coreFraction`` of its neighbour's.
enum TouchingSplit {
    /// Core level as a fraction of the component's largest distance. Two equal disks of radius R
    /// split while their centres are more than 1.6 R apart.
    static let coreFraction = 0.6
    /// Components whose largest inscribed radius is below this many pixels are not split.
    static let minimumRadius = 3

    static func split(_ region: Region, minimumArea: Int) -> [Region] {
        if region.area < 2 * minimumArea { return [region] }
        let mask = RegionMask(region)
        let width = mask.width, height = mask.height
        // Chamfer 3-4 distance (3 per straight step, 4 per diagonal: within 8 % of Euclidean).
        let far = Int32.max / 2
        var distance = mask.pixels.map { $0 == 0 ? 0 : far }
        var largest: Int32 = 0
        distance.withUnsafeMutableBufferPointer { d in
            // The one-pixel background margin keeps every neighbour index below inside the mask.
            for y in 1..<(height - 1) {
                for x in 1..<(width - 1) where d[y * width + x] != 0 {
                    let i = y * width + x
                    d[i] = min(d[i], d[i - 1] + 3, d[i - width] + 3, d[i - width - 1] + 4, d[i - width + 1] + 4)
                }
            }
            for y in stride(from: height - 2, through: 1, by: -1) {
                for x in stride(from: width - 2, through: 1, by: -1) where d[y * width + x] != 0 {
                    let i = y * width + x
                    d[i] = min(d[i], d[i + 1] + 3, d[i + width] + 3, d[i + width + 1] + 4, d[i + width - 1] + 4)
                    largest = max(largest, d[i])
                }
            }
        }
        if largest < Int32(3 * minimumRadius) { return [region] }
        let level = Int32((Double(largest) * coreFraction).rounded(.up))
        // Label the cores (8-connected) by flood fill.
        var label = [Int32](repeating: 0, count: width * height)
        var cores: Int32 = 0
        var stack: [Int] = []
        for start in 0..<(width * height) where distance[start] >= level && label[start] == 0 {
            cores += 1
            label[start] = cores
            stack.append(start)
            while let i = stack.popLast() {
                for offset in [-width - 1, -width, -width + 1, -1, 1, width - 1, width, width + 1] {
                    let j = i + offset
                    if distance[j] >= level && label[j] == 0 {
                        label[j] = cores
                        stack.append(j)
                    }
                }
            }
        }
        if cores < 2 { return [region] }
        // Flood from the cores, highest distance first: a bucket queue indexed by distance, where
        // a pixel waits at min(its distance, the level it was reached from).
        var buckets = [[Int]](repeating: [], count: Int(largest) + 1)
        for i in 0..<(width * height) where label[i] != 0 { buckets[Int(distance[i])].append(i) }
        for current in stride(from: Int(largest), through: 0, by: -1) {
            var next = 0
            while next < buckets[current].count {
                let i = buckets[current][next]
                next += 1
                for offset in [-width - 1, -width, -width + 1, -1, 1, width - 1, width, width + 1] {
                    let j = i + offset
                    if distance[j] > 0 && label[j] == 0 {
                        label[j] = label[i]
                        buckets[min(Int(distance[j]), current)].append(j)
                    }
                }
            }
        }
        // Back to runs, one region per core, in raster order of their first pixel.
        var pieces = [[Run]](repeating: [], count: Int(cores))
        for y in 1..<(height - 1) {
            var x = 1
            while x < width - 1 {
                let owner = label[y * width + x]
                if owner == 0 {
                    x += 1
                    continue
                }
                let start = x
                while x < width - 1, label[y * width + x] == owner { x += 1 }
                pieces[Int(owner) - 1].append(
                    Run(y: Int32(y + mask.originY), x0: Int32(start + mask.originX), x1: Int32(x + mask.originX)))
            }
        }
        let regions = pieces.map { Region(runs: $0) }
        if regions.contains(where: { $0.area < minimumArea }) { return [region] }
        return regions.sorted { ($0.runs[0].y, $0.runs[0].x0) < ($1.runs[0].y, $1.runs[0].x0) }
    }
}
