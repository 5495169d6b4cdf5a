internal import ImageDecoding

/// One run of the segmenter over one image.
struct Pipeline {
    let image: GrayImage
    let parameters: BuiltinSegmenter.Parameters

    func run() -> BuiltinSegmenter.Analysis {
        let width = image.width, height = image.height, count = width * height
        var analysis = BuiltinSegmenter.Analysis(
            outcome: SegmentationOutcome(width: width, height: height, cells: []), threshold: nil,
            brightObjects: true, backgroundCorrected: false, components: 0, splitCells: 0)
        if count == 0 { return analysis }
        let maxLevel = max(image.maxLevel, Int(image.levels.max() ?? 0))
        var smoothed = [UInt16](repeating: 0, count: count)
        var histogram = [Int](repeating: 0, count: maxLevel + 1)
        image.levels.withUnsafeBufferPointer { levels in
            smoothed.withUnsafeMutableBufferPointer { Smoothing.binomial3(levels, width: width, height: height, into: $0) }
        }
        smoothed.withUnsafeBufferPointer { levels in
            histogram.withUnsafeMutableBufferPointer { histogram in
                for level in levels { histogram[Int(level)] &+= 1 }
            }
        }
        let low = histogram.firstIndex { $0 > 0 }!, high = histogram.lastIndex { $0 > 0 }!
        if low == high { return analysis }
        var background = smoothed.withUnsafeBufferPointer {
            Background(levels: $0, width: width, height: height, low: low, high: high)
        }
        analysis.brightObjects = background.polarity == .bright
        guard var threshold = histogram.withUnsafeBufferPointer({ Otsu.threshold(histogram: $0) }) else { return analysis }
        var working = smoothed
        let contrast = contrast(histogram, threshold: threshold)
        background.rejectObjectTiles(tolerance: 0.3 * contrast)
        if !background.grid.isEmpty, background.variation > parameters.illuminationTolerance * contrast {
            for i in histogram.indices { histogram[i] = 0 }
            smoothed.withUnsafeBufferPointer { levels in
                working.withUnsafeMutableBufferPointer { output in
                    histogram.withUnsafeMutableBufferPointer { histogram in
                        background.subtract(
                            from: levels, width: width, height: height, maxLevel: maxLevel, into: output,
                            histogram: histogram)
                    }
                }
            }
            guard let corrected = histogram.withUnsafeBufferPointer({ Otsu.threshold(histogram: $0) }) else {
                return analysis
            }
            threshold = corrected
            analysis.backgroundCorrected = true
        }
        analysis.threshold = threshold
        var labeling = ComponentLabeling(capacity: max(1024, height * 4))
        working.withUnsafeBufferPointer { levels in
            for y in 0..<height {
                labeling.addRow(
                    y, levels.baseAddress! + y * width, width: width, threshold: UInt16(threshold),
                    polarity: background.polarity)
            }
        }
        let components = labeling.regions()
        analysis.components = components.count
        var cells: [SegmentedCell] = []
        for component in components where component.area >= parameters.minimumArea {
            let pieces =
                parameters.splitTouching
                ? TouchingSplit.split(component, minimumArea: parameters.minimumArea) : [component]
            if pieces.count > 1 { analysis.splitCells += pieces.count }
            for piece in pieces { cells.append(cell(piece)) }
        }
        analysis.outcome.cells = cells
        return analysis
    }

    /// The distance between the two class means Otsu's threshold separates.
    private func contrast(_ histogram: [Int], threshold: Int) -> Double {
        var w0 = 0.0, m0 = 0.0, w1 = 0.0, m1 = 0.0
        for (level, count) in histogram.enumerated() where count > 0 {
            if level <= threshold {
                w0 += Double(count)
                m0 += Double(count) * Double(level)
            } else {
                w1 += Double(count)
                m1 += Double(count) * Double(level)
            }
        }
        return w0 > 0 && w1 > 0 ? m1 / w1 - m0 / w0 : 0
    }

    private func cell(_ region: Region) -> SegmentedCell {
        let outline = Outline.trace(RegionMask(region))
        let polygon = Outline.simplify(outline, tolerance: parameters.outlineTolerance)
        let centroid = region.centroid
        return SegmentedCell(polygon: polygon, areaPx: Double(region.area), centroidX: centroid.x, centroidY: centroid.y)
    }
}
