internal import ImageDecoding
internal import Segmenter

/// `--bench N`: the files are read into memory once, then segmented (decode included) N times
/// over; prints images per second for decode + segment and for the decode alone, and one
/// machine-readable line for Tests/Scripts/bench-segmenter.sh.
enum Bench {
    static func run(_ options: Options) -> Int32 {
        let passes = options.bench ?? 1
        var files: [InputFile] = []
        for path in options.files {
            do { files.append(try InputFile.read(path)) } catch {
                standardError("\(error.description)\n")
                return 1
            }
        }
        // One untimed pass: warms caches and checks every file segments.
        var cells = 0
        for file in files {
            do {
                cells += try BuiltinSegmenter.segment(imageBytes: file.bytes, contentType: file.contentType).cells.count
            } catch {
                standardError("\(file.path): \(error.message)\n")
                return 1
            }
        }
        let clock = ContinuousClock()
        let total = clock.measure {
            for _ in 0..<passes {
                for file in files { _ = try? BuiltinSegmenter.segment(imageBytes: file.bytes, contentType: file.contentType) }
            }
        }
        let decode = clock.measure {
            for _ in 0..<passes {
                for file in files {
                    _ = try? ImageDecoder.decode(file.bytes, as: ImageFormat(contentType: file.contentType) ?? .png)
                }
            }
        }
        let images = Double(passes * files.count)
        let rate = images / seconds(total), decodeRate = images / seconds(decode)
        print("cellhub-segment bench: \(files.count) files x \(passes) passes, \(cells) cells per pass")
        print("  decode + segment: \(fixed(rate)) images/s (\(fixed(1000 / rate)) ms/image)")
        print("  decode only:      \(fixed(decodeRate)) images/s (\(fixed(1000 / decodeRate)) ms/image)")
        print("BENCH images_per_s=\(rate) decode_images_per_s=\(decodeRate) cells_per_pass=\(cells)")
        return 0
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
