import CellHub
import CellHubSQL
internal import CSQLite

/// The current row of a statement being stepped, read by column index (0-based).
///
/// It borrows the statement: values are copied out at once, and a row is handed only to
/// non-escaping closures because SQLite invalidates it on the next step or reset. Columns are
/// read with the getter matching the schema's STRICT column type; SQLite would convert any
/// other way silently, which is why the getters are explicit.
struct SQLiteRow: SQLRow {
    /// Borrowed from `SQLiteStatement`, valid only while the statement sits on this row.
    fileprivate let statement: OpaquePointer

    init(statement: OpaquePointer) {
        self.statement = statement
    }

    /// Number of result columns.
    var count: Int { Int(sqlite3_column_count(statement)) }

    /// True when the column holds SQL NULL.
    func isNull(_ column: Int) -> Bool {
        sqlite3_column_type(statement, Int32(column)) == SQLITE_NULL
    }

    func int64(_ column: Int) -> Int64 {
        sqlite3_column_int64(statement, Int32(column))
    }

    func int(_ column: Int) -> Int {
        Int(sqlite3_column_int64(statement, Int32(column)))
    }

    func bool(_ column: Int) -> Bool {
        sqlite3_column_int64(statement, Int32(column)) != 0
    }

    func double(_ column: Int) -> Double {
        sqlite3_column_double(statement, Int32(column))
    }

    /// The column as UTF-8 text ("" for NULL). Embedded NUL bytes survive: the length comes
    /// from `sqlite3_column_bytes`, called after `sqlite3_column_text` as SQLite requires.
    func string(_ column: Int) -> String {
        guard let text = sqlite3_column_text(statement, Int32(column)) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, Int32(column)))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The column as bytes ([] for NULL and for a zero-length blob, whose pointer is NULL).
    func blob(_ column: Int) -> [UInt8] {
        guard let bytes = sqlite3_column_blob(statement, Int32(column)) else { return [] }
        let count = Int(sqlite3_column_bytes(statement, Int32(column)))
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    func optionalInt64(_ column: Int) -> Int64? {
        isNull(column) ? nil : int64(column)
    }

    func optionalString(_ column: Int) -> String? {
        isNull(column) ? nil : string(column)
    }

    func optionalBlob(_ column: Int) -> [UInt8]? {
        isNull(column) ? nil : blob(column)
    }

    /// The column in its stored class, for generic code and tests.
    func value(_ column: Int) -> SQLValue {
        switch sqlite3_column_type(statement, Int32(column)) {
        case SQLITE_INTEGER: .integer(int64(column))
        case SQLITE_FLOAT: .real(double(column))
        case SQLITE_TEXT: .text(string(column))
        case SQLITE_BLOB: .blob(blob(column))
        default: .null
        }
    }
}
