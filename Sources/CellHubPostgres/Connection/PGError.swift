import CellHub
import CellHubSQL

/// A failed libpq call or statement: PostgreSQL's SQLSTATE, its message, and the statement.
struct PGError: SQLDatabaseError, Sendable, Equatable {
    /// The five-character SQLSTATE ("23505" unique violation, "08006" connection failure, ...).
    let sqlState: String
    let message: String
    /// The SQL being run; empty for connection-level failures.
    let sql: String

    var description: String {
        let statement = sql.isEmpty ? "" : " in `\(sql)`"
        return "PostgreSQL error \(sqlState): \(message)\(statement)"
    }

    static let uniqueViolation = "23505"
    static let checkViolation = "23514"

    /// A UNIQUE or PRIMARY KEY constraint failed: the row already exists.
    var isUniqueViolation: Bool { sqlState == Self.uniqueViolation }
}
