import ImageDecoding
import Segmenter

/// Pairs segmented cells with the ellipses drawn, and measures outline overlap.
enum Matching {
    /// The cell whose centroid is nearest each ellipse's centre (nil when none is within its
    /// smaller semi-axis).
    static func match(_ cells: [SegmentedCell], to ellipses: [Ellipse]) -> [SegmentedCell?] {
        ellipses.map { e in
            let nearest = cells.min { distance($0, e) < distance($1, e) }
            return nearest.flatMap { distance($0, e) < min(e.a, e.b) ? $0 : nil }
        }
    }

    private static func distance(_ cell: SegmentedCell, _ e: Ellipse) -> Double {
        let dx = cell.centroidX - e.cx, dy = cell.centroidY - e.cy
        return (dx * dx + dy * dy).squareRoot()
    }

    /// Intersection over union of the polygon and the ellipse, sampled at 4 x 4 points per pixel
    /// over the ellipse's bounding box.
    static func iou(_ polygon: [PolygonPoint], _ e: Ellipse) -> Double {
        var both = 0, either = 0
        let reach = max(e.a, e.b) + 3
        var y = e.cy - reach
        while y < e.cy + reach {
            var x = e.cx - reach
            while x < e.cx + reach {
                let inPolygon = contains(polygon, x, y), inEllipse = e.contains(x, y)
                if inPolygon && inEllipse { both += 1 }
                if inPolygon || inEllipse { either += 1 }
                x += 0.25
            }
            y += 0.25
        }
        return either == 0 ? 0 : Double(both) / Double(either)
    }

    /// Even-odd point in polygon.
    static func contains(_ polygon: [PolygonPoint], _ x: Double, _ y: Double) -> Bool {
        var inside = false
        var j = polygon.count - 1
        for i in polygon.indices {
            let a = polygon[i], b = polygon[j]
            if (a.y > y) != (b.y > y), x < (b.x - a.x) * (y - a.y) / (b.y - a.y) + a.x { inside.toggle() }
            j = i
        }
        return inside
    }

    /// Shoelace area.
    static func area(_ polygon: [PolygonPoint]) -> Double {
        var sum = 0.0
        for i in polygon.indices {
            let a = polygon[i], b = polygon[(i + 1) % polygon.count]
            sum += a.x * b.y - b.x * a.y
        }
        return abs(sum) / 2
    }

    /// True when no two non-adjacent edges of the polygon cross.
    static func isSimple(_ polygon: [PolygonPoint]) -> Bool {
        let n = polygon.count
        func cross(_ o: PolygonPoint, _ a: PolygonPoint, _ b: PolygonPoint) -> Double {
            (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x)
        }
        for i in 0..<n {
            let p1 = polygon[i], p2 = polygon[(i + 1) % n]
            for j in stride(from: i + 2, to: n, by: 1) where !(i == 0 && j == n - 1) {
                let q1 = polygon[j], q2 = polygon[(j + 1) % n]
                let d1 = cross(q1, q2, p1), d2 = cross(q1, q2, p2), d3 = cross(p1, p2, q1), d4 = cross(p1, p2, q2)
                if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) { return false }
            }
        }
        return true
    }
}
