package import CellHub

/// One connection of an SQL engine, as the shared repositories use it: statements written
/// with SQLite's placeholders (`?` takes one more than the largest number so far, `?N` is
/// number N and may repeat), values bound from `SQLBindable`s, rows read by column index, and
/// the few spellings the engines do not share in `dialect`.
///
/// `SQLiteConnection` (CellHubStore) and `PGConnection` (CellHubPostgres) implement it; the
/// repositories hold it as an existential, which costs a witness-table call per statement and
/// per column read and no allocation — SQLite's `step` or PostgreSQL's round trip dominates.
/// What a statement throws is the engine's own error, which conforms to `SQLDatabaseError`.
/// Not thread-safe: a store lends a connection to one caller at a time.
package protocol SQLDatabase: AnyObject {
    /// How this engine spells what the two engines do not share.
    var dialect: SQLDialect { get }
    /// Runs one statement and returns the number of rows it inserted, updated or deleted.
    @discardableResult
    func run(_ sql: String, arguments: [any SQLBindable]) throws -> Int
    /// Runs one query and maps every result row with `row`.
    func query<T>(_ sql: String, arguments: [any SQLBindable], row: (any SQLRow) -> T) throws -> [T]
    /// The first result row mapped with `row`, or nil when there is none.
    func queryOne<T>(_ sql: String, arguments: [any SQLBindable], row: (any SQLRow) -> T) throws -> T?
}

extension SQLDatabase {
    @discardableResult
    package func run(_ sql: String, _ arguments: any SQLBindable...) throws -> Int {
        try run(sql, arguments: arguments)
    }

    package func query<T>(_ sql: String, _ arguments: any SQLBindable..., row: (any SQLRow) -> T) throws -> [T] {
        try query(sql, arguments: arguments, row: row)
    }

    package func queryOne<T>(_ sql: String, _ arguments: any SQLBindable..., row: (any SQLRow) -> T) throws -> T? {
        try queryOne(sql, arguments: arguments, row: row)
    }

    /// Runs the query `sql` once per chunk of `values` (at most `perStatement` each), its
    /// `(?)` widened to `(?, ?, …)` for the chunk: `WHERE id IN (?)` for many ids in a few
    /// statements (on PostgreSQL, round trips) instead of one each. Every row read, in turn.
    package func query<T>(
        _ sql: String, in values: [String], perStatement: Int = 50, row: (any SQLRow) -> T
    ) throws -> [T] {
        var rows: [T] = []
        for (statement, chunk) in Self.chunked(sql, values, perStatement) {
            rows += try query(statement, arguments: chunk, row: row)
        }
        return rows
    }

    /// Runs the statement `sql` once per chunk of `values`, as `query(_:in:row:)` does; the
    /// rows changed in all.
    @discardableResult
    package func run(_ sql: String, in values: [String], perStatement: Int = 50) throws -> Int {
        var changed = 0
        for (statement, chunk) in Self.chunked(sql, values, perStatement) {
            changed += try run(statement, arguments: chunk)
        }
        return changed
    }

    private static func chunked(_ sql: String, _ values: [String], _ perStatement: Int) -> [(String, [String])] {
        stride(from: 0, to: values.count, by: max(1, perStatement)).map { start in
            let chunk = Array(values[start..<min(start + perStatement, values.count)])
            let list = "(" + Array(repeating: "?", count: chunk.count).joined(separator: ", ") + ")"
            return (sql.replacing("(?)", with: list), chunk)
        }
    }

    /// Inserts `rows` with multi-row INSERTs: `head` (the statement up to and including
    /// VALUES), then `row` (one row's placeholders, `(?, ?, 1)`) once per row, then `tail`
    /// (an ON CONFLICT clause). On PostgreSQL each statement is a round trip made while the
    /// write holds the revision lock, so 100 rows cost one instead of 100; at most
    /// `rowsPerStatement` a statement keeps the texts a statement cache holds few.
    package func insert(
        _ head: String, row: String, _ rows: [[any SQLBindable]], tail: String = "", rowsPerStatement: Int = 50
    ) throws {
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + rowsPerStatement, rows.count)]
            let values = Array(repeating: row, count: chunk.count).joined(separator: ", ")
            try run("\(head) \(values) \(tail)", arguments: chunk.flatMap { $0 })
            start += chunk.count
        }
    }
}

/// An engine's error: what the shared code needs to know of it.
package protocol SQLDatabaseError: Error, CustomStringConvertible {
    /// A UNIQUE or PRIMARY KEY constraint failed: the row already exists.
    var isUniqueViolation: Bool { get }
}

extension StoreError {
    /// Maps whatever a store body threw: store errors pass through, engine errors become
    /// `.database`. Nothing else is thrown inside a store.
    package static func wrapping(_ error: any Error) -> StoreError {
        switch error {
        case let error as StoreError: return error
        case let error as any SQLDatabaseError:
            return .database(DatabaseFault(description: error.description, isUniqueViolation: error.isUniqueViolation))
        default: preconditionFailure("unexpected error \(error) inside the store: a bug in CellHub")
        }
    }
}
