internal import Segmenter

/// The per-file report: a human line, or one JSON object per line with `--json`.
enum Report {
    static func run(_ options: Options) -> Int32 {
        var failed = false
        for path in options.files {
            let file: InputFile
            do {
                file = try InputFile.read(path)
            } catch {
                failed = true
                emitFailure(path: path, message: error.description, retryable: false, json: options.json)
                continue
            }
            let clock = ContinuousClock()
            let start = clock.now
            do {
                let outcome = try BuiltinSegmenter.segment(imageBytes: file.bytes, contentType: file.contentType)
                let elapsed = start.duration(to: clock.now)
                if options.json {
                    print(json(path: path, outcome: outcome, elapsed: elapsed))
                } else {
                    let area = outcome.cells.reduce(0) { $0 + $1.areaPx }
                    print("\(path): \(outcome.cells.count) cells, total area \(Int(area)) px, \(outcome.width)x\(outcome.height), \(milliseconds(elapsed)) ms")
                    if options.verbose {
                        for (index, cell) in outcome.cells.enumerated() {
                            print("  #\(index + 1) area \(Int(cell.areaPx)) px, centroid (\(fixed(cell.centroidX)), \(fixed(cell.centroidY))), \(cell.polygon.count) vertices")
                        }
                    }
                }
            } catch {
                failed = true
                emitFailure(path: path, message: error.message, retryable: error.retryable, json: options.json)
            }
        }
        return failed ? 1 : 0
    }

    private static func emitFailure(path: String, message: String, retryable: Bool, json: Bool) {
        if json {
            print("{\"file\":\(quoted(path)),\"error\":\(quoted(message)),\"retryable\":\(retryable)}")
        } else {
            standardError("\(path): \(message)\n")
        }
    }

    static func json(path: String, outcome: SegmentationOutcome, elapsed: Duration) -> String {
        var text = "{\"file\":\(quoted(path)),\"model\":\"\(BuiltinSegmenter.modelName)\",\"width\":\(outcome.width),\"height\":\(outcome.height),\"milliseconds\":\(milliseconds(elapsed)),\"cells\":["
        for (index, cell) in outcome.cells.enumerated() {
            if index > 0 { text += "," }
            text += "{\"areaPx\":\(cell.areaPx),\"centroidX\":\(cell.centroidX),\"centroidY\":\(cell.centroidY),\"polygon\":["
            text += cell.polygon.map { "[\($0.x),\($0.y)]" }.joined(separator: ",")
            text += "]}"
        }
        return text + "]}"
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

func milliseconds(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    return fixed(Double(seconds) * 1000 + Double(attoseconds) / 1e15)
}

/// Two decimals, without Foundation's formatter.
func fixed(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let sign = hundredths < 0 ? "-" : ""
    let magnitude = abs(hundredths)
    let fraction = magnitude % 100
    return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}
