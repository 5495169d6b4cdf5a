/// Connected components of a thresholded image, found on runs rather than pixels.
///
/// 8-connectivity, as scikit-image's `label` uses by default for 2-D images (connectivity =
/// ndim): two runs on consecutive rows belong together when they overlap or touch diagonally.
/// A union-find over runs keeps every root at the first run of its component, so components
/// come out in raster order of their first pixel.
struct ComponentLabeling {
    private(set) var runs: [Run] = []
    /// Index in `runs` of the first run of each row, plus one past the last.
    private var rowStarts: [Int] = []

    init(capacity: Int) {
        runs.reserveCapacity(capacity)
    }

    /// Appends row `y`'s runs where `isObject(level)` holds (rows must come in order 0, 1...).
    mutating func addRow(_ y: Int, _ line: UnsafePointer<UInt16>, width: Int, threshold: UInt16, polarity: Polarity) {
        rowStarts.append(runs.count)
        var x = 0
        if polarity == .bright {
            while x < width {
                while x < width, line[x] <= threshold { x += 1 }
                if x == width { break }
                let start = x
                while x < width, line[x] > threshold { x += 1 }
                runs.append(Run(y: Int32(y), x0: Int32(start), x1: Int32(x)))
            }
        } else {
            while x < width {
                while x < width, line[x] > threshold { x += 1 }
                if x == width { break }
                let start = x
                while x < width, line[x] <= threshold { x += 1 }
                runs.append(Run(y: Int32(y), x0: Int32(start), x1: Int32(x)))
            }
        }
    }

    /// The components, each as its runs in raster order, in raster order of their first pixel.
    func regions() -> [Region] {
        let count = runs.count
        if count == 0 { return [] }
        var parent = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer[i] = Int32(i) }
            initialized = count
        }
        var starts = rowStarts
        starts.append(count)
        runs.withUnsafeBufferPointer { runs in
            parent.withUnsafeMutableBufferPointer { parent in
                func find(_ i: Int32) -> Int32 {
                    var i = i
                    while parent[Int(i)] != i {
                        parent[Int(i)] = parent[Int(parent[Int(i)])]  // path halving
                        i = parent[Int(i)]
                    }
                    return i
                }
                for row in 1..<max(1, starts.count - 1) {
                    var i = starts[row - 1], j = starts[row]
                    let iEnd = starts[row], jEnd = starts[row + 1]
                    while i < iEnd, j < jEnd {
                        let above = runs[i], here = runs[j]
                        // [a0, a1) and [h0, h1) touch, diagonals included, when a0 <= h1 and h0 <= a1.
                        if above.x0 <= here.x1, here.x0 <= above.x1 {
                            let a = find(Int32(i)), b = find(Int32(j))
                            if a < b { parent[Int(b)] = a } else if b < a { parent[Int(a)] = b }
                        }
                        if above.x1 < here.x1 { i += 1 } else { j += 1 }
                    }
                }
                for i in 0..<count { parent[i] = find(Int32(i)) }
            }
        }
        // Roots are the first run of their component, so labelling roots in run order numbers
        // components in raster order; a counting sort then groups the runs by label.
        var label = [Int32](repeating: -1, count: count)
        var sizes: [Int] = []
        for i in 0..<count {
            let root = Int(parent[i])
            if root == i {
                label[i] = Int32(sizes.count)
                sizes.append(0)
            } else {
                label[i] = label[root]
            }
            sizes[Int(label[i])] += 1
        }
        var grouped = sizes.map { size -> [Run] in
            var runs = [Run]()
            runs.reserveCapacity(size)
            return runs
        }
        for i in 0..<count { grouped[Int(label[i])].append(runs[i]) }
        return grouped.map { Region(runs: $0) }
    }
}
