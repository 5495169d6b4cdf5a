#if canImport(Glibc)
import Glibc
#endif

/// A run that cannot produce its figures: the message says what went wrong.
package struct BenchmarkFailure: Error, CustomStringConvertible {
    package let description: String

    package init(_ description: String) { self.description = description }
}

package func milliseconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e6 }

/// A number with a fixed count of decimals, without Foundation.
package func fixed(_ value: Double, _ decimals: Int = 2) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    let fraction = Int(scaled - Double(whole) * scale)
    let sign = value < 0 && scaled > 0 ? "-" : ""
    guard decimals > 0 else { return "\(sign)\(whole)" }
    let digits = String(fraction)
    return "\(sign)\(whole).\(String(repeating: "0", count: decimals - digits.count))\(digits)"
}

/// One machine-readable figure for the bench script: `result KEY VALUE`.
package func result(_ key: String, _ value: Double, decimals: Int = 3) {
    say("result \(key) \(fixed(value, decimals))")
}

/// One line on stdout, unbuffered (the script reads it while the run goes on).
package func say(_ line: String) { writeAll(line + "\n", to: STDOUT_FILENO) }

package func writeError(_ text: String) { writeAll(text, to: STDERR_FILENO) }

private func writeAll(_ text: String, to fd: Int32) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return }
        offset += n
    }
}

/// A whole file as text.
package func readTextFile(_ path: String) throws(BenchmarkFailure) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw BenchmarkFailure("cannot open \(path): errno \(errno)") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw BenchmarkFailure("cannot read \(path): errno \(errno)")
        }
        if n == 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Non-empty lines of a text file, without surrounding blanks.
package func readLines(_ path: String) throws(BenchmarkFailure) -> [String] {
    try readTextFile(path).split(separator: "\n").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
}

/// Writes `lines` to a new file at `path` (replacing it).
package func writeLines(_ lines: [String], to path: String) throws(BenchmarkFailure) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw BenchmarkFailure("cannot create \(path): errno \(errno)") }
    defer { close(fd) }
    writeAll(lines.map { $0 + "\n" }.joined(), to: fd)
}

extension String {
    package var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" || first == "\r" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text.removeLast() }
        return String(text)
    }
}

/// Percentiles (nearest rank) of integer samples, nanoseconds in practice.
package struct Distribution<Sample: FixedWidthInteger & Sendable>: Sendable {
    package let sorted: [Sample]

    package init(_ samples: [Sample]) { sorted = samples.sorted() }

    package var count: Int { sorted.count }

    /// 0 when there are no samples.
    package func percentile(_ p: Double) -> Sample {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(sorted.count - 1, Swift.max(0, rank - 1))]
    }

    package var p50: Sample { percentile(0.5) }
    package var p99: Sample { percentile(0.99) }
    package var max: Sample { sorted.last ?? 0 }
    package var min: Sample { sorted.first ?? 0 }
}
