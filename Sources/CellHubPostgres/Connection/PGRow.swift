import CellHub
import CellHubSQL
internal import CLibPQ

/// One row of a query result, read by column index (0-based), values in text format.
///
/// It borrows the result, which lives only while `PGConnection` lends it to a row closure:
/// values are copied out at once. The getters mirror the SQLite store's row so that the
/// two stores' decoders read alike; booleans ("t"/"f") read as integers 1/0.
struct PGRow: SQLRow {
    /// Borrowed from `PGConnection.withResult`, valid only inside the row closure.
    fileprivate let result: OpaquePointer
    fileprivate let index: Int32

    init(result: OpaquePointer, index: Int32) {
        self.result = result
        self.index = index
    }

    /// Number of result columns.
    var count: Int { Int(PQnfields(result)) }

    func isNull(_ column: Int) -> Bool { PQgetisnull(result, index, Int32(column)) != 0 }

    /// The column's text (empty for NULL).
    private func text(_ column: Int) -> String {
        guard let value = PQgetvalue(result, index, Int32(column)) else { return "" }
        let count = Int(PQgetlength(result, index, Int32(column)))
        return value.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }

    func int64(_ column: Int) -> Int64 {
        let value = text(column)
        if let number = Int64(value) { return number }
        switch value {
        case "t": return 1
        case "f", "": return 0
        default:
            // numeric with a fraction (an average): truncated, as SQLite's integer read does.
            return Int64(Double(value) ?? 0)
        }
    }

    func int(_ column: Int) -> Int { Int(int64(column)) }

    func bool(_ column: Int) -> Bool { int64(column) != 0 }

    func double(_ column: Int) -> Double { Double(text(column)) ?? 0 }

    func string(_ column: Int) -> String { text(column) }

    /// A `bytea` column: text format is "\x" followed by hex digits.
    func blob(_ column: Int) -> [UInt8] {
        guard !isNull(column), let value = PQgetvalue(result, index, Int32(column)) else { return [] }
        let count = Int(PQgetlength(result, index, Int32(column)))
        return value.withMemoryRebound(to: UInt8.self, capacity: count) { start in
            let text = UnsafeBufferPointer(start: start, count: count)
            guard count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x") else { return Array(text) }
            var bytes: [UInt8] = []
            bytes.reserveCapacity((count - 2) / 2)
            var offset = 2
            while offset + 1 < count {
                bytes.append(hexValue(text[offset]) << 4 | hexValue(text[offset + 1]))
                offset += 2
            }
            return bytes
        }
    }

    func optionalInt64(_ column: Int) -> Int64? { isNull(column) ? nil : int64(column) }

    func optionalString(_ column: Int) -> String? { isNull(column) ? nil : string(column) }

    func optionalBlob(_ column: Int) -> [UInt8]? { isNull(column) ? nil : blob(column) }
}

private func hexValue(_ digit: UInt8) -> UInt8 {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: 0
    }
}
