import CellHubProto
import RPC

#if canImport(Glibc)
import Glibc
#endif

/// Where a command's results go: tables (bold headers only on a colour terminal, honouring
/// NO_COLOR) or JSON; errors and `-v` traces on stderr.
struct Output: Sendable {
    let format: OutputFormat
    let terminal: Bool
    let colour: Bool

    init(format: OutputFormat) {
        self.format = format
        terminal = isatty(STDOUT_FILENO) == 1
        colour = terminal && Config.environment("NO_COLOR") == nil && Config.environment("TERM") != "dumb"
    }

    var json: Bool { format == .json }

    /// One message as one JSON document (proto3 JSON mapping; indented on a terminal).
    func document(_ message: some ProtoJSONCodable) {
        line(message.jsonString(pretty: terminal))
    }

    /// One message of a stream: one compact JSON line.
    func record(_ message: some ProtoJSONCodable) {
        line(message.jsonString(pretty: false))
    }

    func line(_ text: String) {
        write(text + "\n", to: STDOUT_FILENO)
    }

    func error(_ message: String) {
        let oneLine = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        write("cellhub: \(oneLine)\n", to: STDERR_FILENO)
    }

    func diagnostic(_ text: String) {
        write(text + "\n", to: STDERR_FILENO)
    }

    func bold(_ text: String) -> String { colour ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
    func dim(_ text: String) -> String { colour ? "\u{1B}[2m\(text)\u{1B}[0m" : text }

    /// Columns padded to their widest cell; the header row in bold.
    func table(_ header: [String], _ rows: [[String]]) {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func render(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }
        var text = bold(render(header)) + "\n"
        for row in rows { text += render(row) + "\n" }
        write(text, to: STDOUT_FILENO)
    }

    /// Label: value lines, labels aligned.
    func fields(_ pairs: [(String, String)]) {
        let width = pairs.map(\.0.count).max() ?? 0
        write(pairs.map { "\(bold($0.0 + ":"))" + String(repeating: " ", count: width - $0.0.count + 1) + $0.1 }
            .joined(separator: "\n") + "\n", to: STDOUT_FILENO)
    }

    /// One write(2) per call, so lines from threads and a pipe reader never interleave.
    func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }

    // MARK: Formatting

    static func text(_ value: Metadata.Value) -> String {
        switch value {
        case .text(let text): text
        case .binary(let bytes): "<\(bytes.count) bytes>"
        }
    }

    static func milliseconds(_ duration: Duration) -> String {
        let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return ms < 10 ? "\(Double(Int(ms * 100)) / 100) ms" : "\(Int(ms.rounded())) ms"
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : "\(Double(Int(value * 10)) / 10) \(units[unit])"
    }

    /// "2026-12-05 12:30:01Z" (UTC), "-" for 0.
    static func time(_ unixMs: Int64) -> String {
        guard unixMs > 0 else { return "-" }
        var seconds = time_t(unixMs / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    static func percent(_ fraction: Double) -> String { "\(Int((fraction * 100).rounded()))%" }
}
