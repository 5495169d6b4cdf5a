/// The current row of a query, read by column index (0-based), whichever engine produced it.
///
/// A row borrows its engine's result (SQLite's statement, libpq's result): it is handed only
/// to non-escaping closures and its values are copied out at once. Columns are read with the
/// getter matching the schema's type; booleans are integers 0 and 1 in both schemas.
package protocol SQLRow {
    /// Number of result columns.
    var count: Int { get }
    /// True when the column holds SQL NULL.
    func isNull(_ column: Int) -> Bool
    func int64(_ column: Int) -> Int64
    func int(_ column: Int) -> Int
    func bool(_ column: Int) -> Bool
    func double(_ column: Int) -> Double
    /// The column as text ("" for NULL).
    func string(_ column: Int) -> String
    /// The column as bytes ([] for NULL).
    func blob(_ column: Int) -> [UInt8]
    func optionalInt64(_ column: Int) -> Int64?
    func optionalString(_ column: Int) -> String?
    func optionalBlob(_ column: Int) -> [UInt8]?
}

extension SQLRow {
    package func int(_ column: Int) -> Int { Int(int64(column)) }

    package func bool(_ column: Int) -> Bool { int64(column) != 0 }

    package func optionalInt64(_ column: Int) -> Int64? { isNull(column) ? nil : int64(column) }

    package func optionalString(_ column: Int) -> String? { isNull(column) ? nil : string(column) }

    package func optionalBlob(_ column: Int) -> [UInt8]? { isNull(column) ? nil : blob(column) }
}
