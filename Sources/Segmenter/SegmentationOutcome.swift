/// A point of a cell outline, in pixel coordinates: origin at the top-left corner of the image,
/// x to the right, y down; pixel (i, j) covers [i, i + 1) x [j, j + 1), so its centre is at
/// (i + 0.5, j + 0.5).
public struct PolygonPoint: Sendable, Hashable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// One segmented object.
public struct SegmentedCell: Sendable, Hashable {
    /// The outer outline as a simple closed polygon (at least 3 points, the first not repeated),
    /// clockwise on screen. It runs along the pixel edges of the region with its corners cut
    /// (marching squares at the half level), simplified by Douglas-Peucker; holes are not traced.
    public var polygon: [PolygonPoint]
    /// The number of pixels of the region (holes excluded).
    public var areaPx: Double
    /// The mean position of the region's pixel centres, in the polygon's coordinates.
    public var centroidX: Double
    public var centroidY: Double

    public init(polygon: [PolygonPoint], areaPx: Double, centroidX: Double, centroidY: Double) {
        self.polygon = polygon
        self.areaPx = areaPx
        self.centroidX = centroidX
        self.centroidY = centroidY
    }
}

/// The cells of one image, in raster order of their first pixel.
public struct SegmentationOutcome: Sendable, Hashable {
    public var width: Int
    public var height: Int
    public var cells: [SegmentedCell]

    public init(width: Int, height: Int, cells: [SegmentedCell]) {
        self.width = width
        self.height = height
        self.cells = cells
    }
}

/// Why an image could not be segmented.
public struct SegmenterError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// False when the same bytes will always fail (malformed, unsupported, too large); true
    /// for transient causes such as an allocation failure.
    public var retryable: Bool

    public init(message: String, retryable: Bool) {
        self.message = message
        self.retryable = retryable
    }

    public var description: String { message }
}
