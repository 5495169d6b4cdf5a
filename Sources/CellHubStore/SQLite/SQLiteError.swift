import CellHub
import CellHubSQL
/// A failed SQLite call: the primary and extended result codes, SQLite's message, and the
/// statement it concerned.
///
/// The codes and message are read from the connection right after the failing call, before
/// any other call on it can overwrite them (SQLite's error state is per connection, like
/// `errno` is per thread). Constraint violations arrive as this error, never as a trap.
package struct SQLiteError: SQLDatabaseError, Sendable, Equatable {
    /// The primary result code (`SQLITE_CONSTRAINT`, `SQLITE_BUSY`, ...).
    package let code: Int32
    /// The extended result code (`SQLITE_CONSTRAINT_UNIQUE`, ...); equals `code` when SQLite
    /// has nothing more specific to say.
    package let extendedCode: Int32
    /// SQLite's English message, e.g. "UNIQUE constraint failed: users.name".
    package let message: String
    /// The SQL being prepared or run; empty for open and connection-level failures.
    package let sql: String

    package init(code: Int32, extendedCode: Int32, message: String, sql: String) {
        self.code = code
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    package var description: String {
        let statement = sql.isEmpty ? "" : " in `\(sql)`"
        return "SQLite error \(code) (extended \(extendedCode)): \(message)\(statement)"
    }

    // Result codes from sqlite3.h (stable across releases; spelled out so callers need not
    // import the C module).
    package static let constraintCode: Int32 = 19
    package static let busyCode: Int32 = 5
    package static let constraintForeignKey: Int32 = 19 | (3 << 8)
    package static let constraintPrimaryKey: Int32 = 19 | (6 << 8)
    package static let constraintUnique: Int32 = 19 | (8 << 8)
    package static let constraintCheck: Int32 = 19 | (1 << 8)
    package static let constraintNotNull: Int32 = 19 | (5 << 8)

    /// Any constraint (UNIQUE, PRIMARY KEY, FOREIGN KEY, CHECK, NOT NULL) failed.
    package var isConstraintViolation: Bool { code == Self.constraintCode }
    /// A UNIQUE or PRIMARY KEY constraint failed: the row already exists.
    package var isUniqueViolation: Bool {
        extendedCode == Self.constraintUnique || extendedCode == Self.constraintPrimaryKey
    }
    /// A FOREIGN KEY constraint failed: a referenced row is missing.
    package var isForeignKeyViolation: Bool { extendedCode == Self.constraintForeignKey }
}
