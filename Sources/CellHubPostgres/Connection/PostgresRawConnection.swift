package import CellHub
import CellHubSQL

/// One connection that reads raw tables as text, for brute-force recounts in tests and for
/// tools; never used by the store itself. Parameters are text of no declared type (the
/// server infers each from its use, as psql's would), results are text (nil for NULL).
package final class PostgresRawConnection {
    private let connection: PGConnection

    package init(url: String) throws(StoreError) {
        do {
            connection = try PGConnection(url: url)
        } catch {
            throw StoreError.wrapping(error)
        }
    }

    /// Every row of `sql` (placeholders `?` or `?N`), each column as text or nil.
    package func rows(_ sql: String, _ arguments: [String?]) throws(StoreError) -> [[String?]] {
        do {
            return try connection.query(sql, values: arguments.map { $0.map(PGValue.untyped) ?? .null }) { row in
                (0..<row.count).map { row.isNull($0) ? nil : row.string($0) }
            }
        } catch {
            throw StoreError.wrapping(error)
        }
    }
}
