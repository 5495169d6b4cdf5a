import ImageDecoding
import Segmenter
import Testing

@Suite("builtin-otsu finds synthetic cells: count, area, outline")
struct SegmentationAccuracyTests {
    struct Scene: CustomTestStringConvertible, Sendable {
        var name: String
        var noise: Double
        var gradient: Double
        var elongation: Double
        var seed: UInt64
        var testDescription: String { name }
    }

    static let scenes = [
        Scene(name: "clean disks", noise: 0, gradient: 0, elongation: 1, seed: 1),
        Scene(name: "ellipses with noise", noise: 8, gradient: 0, elongation: 1.8, seed: 2),
        Scene(name: "disks under an illumination gradient", noise: 4, gradient: 110, elongation: 1, seed: 3),
        Scene(name: "noisy ellipses under a gradient", noise: 8, gradient: 80, elongation: 1.6, seed: 4),
    ]

    @Test("separated objects: exact count, area within 3 %, IoU >= 0.9", arguments: scenes)
    func separated(_ scene: Scene) throws {
        let ellipses = SyntheticImage.scattered(
            width: 512, height: 512, count: 40, radius: 7...16, elongation: scene.elongation, seed: scene.seed)
        #expect(ellipses.count == 40)
        // Background 20, cells 120 above it, the gradient on top: nothing saturates at 255 (a
        // clipped cell is dimmer, so its outline would move for reasons of the test, not the code).
        let image = SyntheticImage(
            width: 512, height: 512, ellipses: ellipses, background: 20, foreground: 140, gradient: scene.gradient,
            noise: scene.noise, seed: scene.seed
        ).render()
        let analysis = BuiltinSegmenter.analyze(image)
        #expect(analysis.backgroundCorrected == (scene.gradient > 0))
        #expect(analysis.brightObjects)
        let cells = analysis.outcome.cells
        #expect(cells.count == ellipses.count)
        for (ellipse, cell) in zip(ellipses, Matching.match(cells, to: ellipses)) {
            let cell = try #require(cell, "no cell at (\(ellipse.cx), \(ellipse.cy))")
            #expect(abs(cell.areaPx - ellipse.area) / ellipse.area < 0.03, "area \(cell.areaPx) vs \(ellipse.area)")
            #expect(Matching.iou(cell.polygon, ellipse) >= 0.9)
            #expect(cell.polygon.count >= 3 && cell.polygon.first != cell.polygon.last)
            #expect(Matching.isSimple(cell.polygon))
            // The outline's area tracks the pixel count (corners are cut by 1/8 px each).
            #expect(abs(Matching.area(cell.polygon) - cell.areaPx) / cell.areaPx < 0.05)
        }
    }

    @Test("dark objects on a bright background are found by the minority rule")
    func darkObjects() {
        let ellipses = SyntheticImage.scattered(width: 384, height: 384, count: 20, radius: 8...14, seed: 7)
        let image = SyntheticImage(
            width: 384, height: 384, ellipses: ellipses, background: 200, foreground: 60, noise: 5, seed: 7
        ).render()
        let analysis = BuiltinSegmenter.analyze(image)
        #expect(!analysis.brightObjects)
        #expect(analysis.outcome.cells.count == 20)
    }

    @Test("touching pairs are split into two cells of about their own size")
    func touchingPairs() throws {
        var ellipses: [Ellipse] = []
        for row in 0..<3 {
            for column in 0..<3 {
                let r = 10.0 + Double(row + column)
                let cx = 40 + Double(column) * 110, cy = 50 + Double(row) * 100
                // Centre distance 1.85 r: the disks overlap by 15 % of the diameter.
                ellipses.append(Ellipse(cx: cx, cy: cy, a: r, b: r))
                ellipses.append(Ellipse(cx: cx + 1.85 * r, cy: cy + Double(column), a: r, b: r))
            }
        }
        let image = SyntheticImage(width: 360, height: 320, ellipses: ellipses, noise: 4).render()
        let analysis = BuiltinSegmenter.analyze(image)
        #expect(analysis.components == 9)
        let cells = analysis.outcome.cells
        #expect(cells.count == 18)
        for (ellipse, cell) in zip(ellipses, Matching.match(cells, to: ellipses)) {
            let cell = try #require(cell)
            // Each half loses its part of the lens the two disks share.
            #expect(abs(cell.areaPx - ellipse.area) / ellipse.area < 0.08, "area \(cell.areaPx) vs \(ellipse.area)")
        }
        let unsplit = BuiltinSegmenter.analyze(
            image, parameters: .init(minimumArea: 16, outlineTolerance: 0.5, illuminationTolerance: 0.1, splitTouching: false))
        #expect(unsplit.outcome.cells.count == 9)
    }

    @Test("elongated single cells are not cut", arguments: [1.0, 2.0, 3.0])
    func elongatedNotSplit(_ elongation: Double) {
        let ellipses = (0..<6).map { i in
            Ellipse(cx: 60 + Double(i % 3) * 120, cy: 70 + Double(i / 3) * 130, a: 12 * elongation, b: 12, angle: Double(i) * 0.5)
        }
        let image = SyntheticImage(width: 400, height: 280, ellipses: ellipses, noise: 6, seed: 11).render()
        #expect(BuiltinSegmenter.analyze(image).outcome.cells.count == 6)
    }

    @Test("objects under the minimum area are dropped; a uniform image has no cells")
    func smallAndEmpty() {
        let ellipses = [Ellipse(cx: 30, cy: 30, a: 1.5, b: 1.5), Ellipse(cx: 80, cy: 80, a: 10, b: 10)]
        let image = SyntheticImage(width: 128, height: 128, ellipses: ellipses).render()
        #expect(BuiltinSegmenter.analyze(image).outcome.cells.count == 1)
        let flat = GrayImage(width: 64, height: 64, maxLevel: 255, levels: [UInt16](repeating: 77, count: 64 * 64))
        #expect(BuiltinSegmenter.analyze(flat).outcome.cells.isEmpty)
        let tiny = GrayImage(width: 1, height: 1, maxLevel: 255, levels: [9])
        #expect(BuiltinSegmenter.analyze(tiny).outcome.cells.isEmpty)
    }
}
