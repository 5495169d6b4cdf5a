package import CellHubProto
import Segmenter

/// The built-in model as a worker runs it: one job's image bytes in, the result message out
/// (or why it failed, and whether another attempt could succeed). In-process and remote
/// workers both call this, so they store the same results.
package enum BuiltinModel {
    package static let name = BuiltinSegmenter.modelName

    package struct Failure: Error, Sendable {
        package var reason: String
        package var retryable: Bool
    }

    package static func run(content: [UInt8], contentType: String) -> Result<SegmentationResult, Failure> {
        let outcome: SegmentationOutcome
        do {
            outcome = try BuiltinSegmenter.segment(imageBytes: content, contentType: contentType)
        } catch {
            return .failure(Failure(reason: error.message, retryable: error.retryable))
        }
        return .success(result(outcome))
    }

    /// The outcome as the API's message (areas summed here, so stored results are complete).
    static func result(_ outcome: SegmentationOutcome) -> SegmentationResult {
        var result = SegmentationResult()
        result.polygons.reserveCapacity(outcome.cells.count)
        for cell in outcome.cells {
            var polygon = Polygon()
            polygon.areaPx = cell.areaPx
            polygon.points = cell.polygon.map { vertex in
                var point = Point()
                point.x = vertex.x
                point.y = vertex.y
                return point
            }
            result.polygons.append(polygon)
            result.totalAreaPx += cell.areaPx
        }
        result.cellCount = Int64(outcome.cells.count)
        result.meanAreaPx = outcome.cells.isEmpty ? 0 : result.totalAreaPx / Double(outcome.cells.count)
        result.imageWidthPx = Int32(clamping: outcome.width)
        result.imageHeightPx = Int32(clamping: outcome.height)
        return result
    }
}
