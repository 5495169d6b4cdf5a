import Foundation
import ImageDecoding
import TestSupport

/// An ellipse drawn into a synthetic image: centre, semi-axes, rotation (radians).
struct Ellipse: Sendable {
    var cx: Double
    var cy: Double
    var a: Double
    var b: Double
    var angle: Double = 0

    var area: Double { Double.pi * a * b }

    /// Signed distance to the outline in pixels, approximately (positive inside).
    func depth(_ x: Double, _ y: Double) -> Double {
        let dx = x - cx, dy = y - cy
        let c = cos(angle), s = sin(angle)
        let u = dx * c + dy * s, v = -dx * s + dy * c
        let r = ((u / a) * (u / a) + (v / b) * (v / b)).squareRoot()
        if r == 0 { return min(a, b) }
        return (1 - r) * (u * u + v * v).squareRoot() / r
    }

    func contains(_ x: Double, _ y: Double) -> Bool { depth(x, y) > 0 }
}

/// Synthetic fluorescence-like images: anti-aliased ellipses on a background, optional
/// illumination gradient and Gaussian noise, at 8 or 16 bits.
struct SyntheticImage {
    var width: Int
    var height: Int
    var ellipses: [Ellipse]
    var background = 30.0
    var foreground = 170.0
    /// Added to the background from 0 at the left edge to this at the right edge.
    var gradient = 0.0
    var noise = 0.0
    var seed: UInt64 = 1
    var maxLevel = 255

    func render() -> GrayImage {
        var random = SeededRandom(seed: seed)
        var levels = [UInt16](repeating: 0, count: width * height)
        var coverage = [Double](repeating: 0, count: width * height)
        for e in ellipses {
            let reach = max(e.a, e.b) + 2
            for y in max(0, Int(e.cy - reach))..<min(height, Int(e.cy + reach) + 1) {
                for x in max(0, Int(e.cx - reach))..<min(width, Int(e.cx + reach) + 1) {
                    let c = min(1, max(0, e.depth(Double(x) + 0.5, Double(y) + 0.5) + 0.5))
                    coverage[y * width + x] = max(coverage[y * width + x], c)
                }
            }
        }
        for y in 0..<height {
            for x in 0..<width {
                var value = background + gradient * Double(x) / Double(width)
                value += (foreground - background) * coverage[y * width + x]
                if noise > 0 { value += noise * random.gaussian() }
                levels[y * width + x] = UInt16(max(0, min(Double(maxLevel), value.rounded())))
            }
        }
        return GrayImage(width: width, height: height, maxLevel: maxLevel, levels: levels)
    }

    /// `count` non-overlapping ellipses with semi-axes in `radius` (elongation up to `elongation`).
    static func scattered(
        width: Int, height: Int, count: Int, radius: ClosedRange<Double>, elongation: Double = 1.5, seed: UInt64
    ) -> [Ellipse] {
        var random = SeededRandom(seed: seed)
        var placed: [Ellipse] = []
        var attempts = 0
        while placed.count < count && attempts < count * 500 {
            attempts += 1
            let b = Double.random(in: radius, using: &random)
            let a = b * Double.random(in: 1...elongation, using: &random)
            let cx = Double.random(in: (a + 3)...(Double(width) - a - 3), using: &random)
            let cy = Double.random(in: (a + 3)...(Double(height) - a - 3), using: &random)
            let clear = placed.allSatisfy { other in
                let dx = other.cx - cx, dy = other.cy - cy
                return (dx * dx + dy * dy).squareRoot() > a + other.a + 4
            }
            if clear {
                placed.append(Ellipse(cx: cx, cy: cy, a: a, b: b, angle: Double.random(in: 0..<Double.pi, using: &random)))
            }
        }
        return placed
    }
}

extension SeededRandom {
    /// A standard normal sample (Box-Muller).
    mutating func gaussian() -> Double {
        let u = Double.random(in: Double.ulpOfOne..<1, using: &self), v = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
