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

    /// Runs the query `sql(list)` once per chunk of `values` (at most `perStatement` each),
    /// `list` being the chunk's placeholders, `(?, ?, …)`: `WHERE id IN \(list)` for many ids
    /// in a few statements (on PostgreSQL, round trips) instead of one each. Every row read.
    package func query<T>(
        in values: [String], perStatement: Int = 50, _ sql: (_ list: String) -> String, row: (any SQLRow) -> T
    ) throws -> [T] {
        var rows: [T] = []
        for chunk in Self.chunks(of: values, perStatement) {
            rows += try query(sql(Self.list(chunk.count)), arguments: Array(chunk), row: row)
        }
        return rows
    }

    /// Runs the statement `sql(list)` once per chunk of `values`, as `query(in:_:row:)`
    /// does; the rows changed in all.
    @discardableResult
    package func run(in values: [String], perStatement: Int = 50, _ sql: (_ list: String) -> String) throws -> Int {
        var changed = 0
        for chunk in Self.chunks(of: values, perStatement) {
            changed += try run(sql(Self.list(chunk.count)), arguments: Array(chunk))
        }
        return changed
    }

    /// Inserts `rows` with multi-row INSERTs: `head` (the statement up to and including
    /// VALUES), then `row` (one row's placeholders, `(?, ?, 1)`) once per row, then `tail`
    /// (an ON CONFLICT clause). On PostgreSQL each statement is a round trip made while the
    /// write holds the revision lock, so 100 rows cost one instead of 100; at most
    /// `rowsPerStatement` a statement keeps the texts a statement cache holds few.
    package func insert(
        _ head: String, row: String, _ rows: [[any SQLBindable]], tail: String = "", rowsPerStatement: Int = 50
    ) throws {
        for chunk in Self.chunks(of: rows, rowsPerStatement) {
            try run("\(head) \(Self.repeated(row, chunk.count)) \(tail)", arguments: chunk.flatMap { $0 })
        }
    }

    /// `values` in consecutive slices of at most `size`.
    private static func chunks<Element>(of values: [Element], _ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: values.count, by: max(1, size)).map { values[$0..<min($0 + size, values.count)] }
    }

    /// `text, text, …`, `count` times.
    private static func repeated(_ text: String, _ count: Int) -> String {
        Array(repeating: text, count: count).joined(separator: ", ")
    }

    /// `(?, ?, …)`, a list of `count` placeholders.
    private static func list(_ count: Int) -> String { "(\(repeated("?", count)))" }
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
