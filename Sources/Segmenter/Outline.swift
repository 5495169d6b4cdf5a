/// The outer outline of a region as a polygon.
enum Outline {
    /// Traces the outer boundary along pixel edges, clockwise on screen (object on the right),
    /// and returns the midpoints of the edges walked: marching squares at the half level, which
    /// runs along straight pixel edges and cuts each corner by a diagonal.
    ///
    /// The walk follows 8-connectivity (at a corner where two object pixels touch only
    /// diagonally it turns into the other one), so the outline of a labelled component is one
    /// closed loop; at such a pinch the two passes cut opposite corners, which keeps the
    /// midpoint polygon simple.
    static func trace(_ mask: RegionMask) -> [PolygonPoint] {
        // The start: the top-left corner of the first object pixel in raster order, reached by
        // walking north along its left edge (both pixels above and the one to its left are
        // background, so this corner is on the outline exactly once).
        guard let first = mask.pixels.firstIndex(of: 1) else { return [] }
        let startX = first % mask.width, startY = first / mask.width
        var x = startX, y = startY
        var direction = 3  // 0 east, 1 south, 2 west, 3 north (y down)
        let steps = [(1, 0), (0, 1), (-1, 0), (0, -1)]
        var points: [PolygonPoint] = []
        let limit = 4 * mask.pixels.count + 4
        let ox = Double(mask.originX), oy = Double(mask.originY)
        repeat {
            // The two pixels ahead of corner (x, y), to the left and right of `direction`.
            let left: Bool, right: Bool
            switch direction {
            case 0: (left, right) = (mask.contains(x, y - 1), mask.contains(x, y))
            case 1: (left, right) = (mask.contains(x, y), mask.contains(x - 1, y))
            case 2: (left, right) = (mask.contains(x - 1, y), mask.contains(x - 1, y - 1))
            default: (left, right) = (mask.contains(x - 1, y - 1), mask.contains(x, y - 1))
            }
            if left {
                direction = (direction + 3) & 3
            } else if !right {
                direction = (direction + 1) & 3
            }
            let (dx, dy) = steps[direction]
            points.append(PolygonPoint(x: ox + Double(x) + Double(dx) / 2, y: oy + Double(y) + Double(dy) / 2))
            x += dx
            y += dy
        } while (x != startX || y != startY) && points.count < limit
        return points
    }

    /// Douglas-Peucker on a closed polygon: drops points within `tolerance` of the simplified
    /// outline. The polygon is split at its first point and the point farthest from it, and each
    /// half simplified with an explicit stack (no recursion depth to worry about).
    static func simplify(_ points: [PolygonPoint], tolerance: Double) -> [PolygonPoint] {
        let n = points.count
        if n <= 4 { return points }
        var far = 0, farDistance = -1.0
        for i in 1..<n {
            let dx = points[i].x - points[0].x, dy = points[i].y - points[0].y
            let d = dx * dx + dy * dy
            if d > farDistance {
                farDistance = d
                far = i
            }
        }
        var keep = [Bool](repeating: false, count: n + 1)
        keep[0] = true
        keep[far] = true
        keep[n] = true
        // Index n stands for point 0 again (the closing segment).
        func point(_ i: Int) -> PolygonPoint { points[i == n ? 0 : i] }
        var stack = [(0, far), (far, n)]
        while let (a, b) = stack.popLast() {
            if b - a < 2 { continue }
            let pa = point(a), pb = point(b)
            let dx = pb.x - pa.x, dy = pb.y - pa.y
            let length = (dx * dx + dy * dy).squareRoot()
            var worst = -1.0, worstIndex = a
            for i in (a + 1)..<b {
                let p = point(i)
                let distance =
                    length > 0
                    ? abs(dy * (p.x - pa.x) - dx * (p.y - pa.y)) / length
                    : ((p.x - pa.x) * (p.x - pa.x) + (p.y - pa.y) * (p.y - pa.y)).squareRoot()
                if distance > worst {
                    worst = distance
                    worstIndex = i
                }
            }
            if worst > tolerance {
                keep[worstIndex] = true
                stack.append((a, worstIndex))
                stack.append((worstIndex, b))
            }
        }
        let simplified = (0..<n).filter { keep[$0] }.map { points[$0] }
        return simplified.count >= 3 ? simplified : points
    }
}
