import CellHub
import CellHubPostgres
@testable import CellHubSQL
@testable import CellHubStore
import StoreTestSupport

/// A test's own connection to the raw tables of either store, for brute-force recounts that
/// share no code with the store: statements in the SQL both databases speak (no boolean
/// sums: `CASE WHEN … THEN 1 ELSE 0 END`; subqueries in FROM named), values read as text.
final class RawSQL {
    private enum Connection {
        case sqlite(SQLiteConnection)
        case postgres(PostgresRawConnection)
    }

    private let connection: Connection

    init(kind: StoreKind, location: String) throws {
        switch kind {
        case .sqlite: connection = .sqlite(try SQLiteConnection(path: location, mode: .readOnly))
        case .postgres: connection = .postgres(try PostgresRawConnection(url: location))
        }
    }

    func query<T>(_ sql: String, _ arguments: any RawBindable..., row: (RawRow) -> T) throws -> [T] {
        try query(sql, arguments: arguments, row: row)
    }

    func query<T>(_ sql: String, arguments: [any RawBindable], row: (RawRow) -> T) throws -> [T] {
        switch connection {
        case .sqlite(let db):
            return try db.query(sql, arguments: arguments.map { $0.sqlValue as any SQLBindable }) { sqliteRow in
                row(RawRow(values: (0..<sqliteRow.count).map { column in
                    switch (sqliteRow as! SQLiteRow).value(column) {
                    case .integer(let value): String(value)
                    case .real(let value): String(value)
                    case .text(let value): value
                    case .blob(let value): String(decoding: value, as: UTF8.self)
                    case .null: nil
                    }
                }))
            }
        case .postgres(let db):
            return try db.rows(sql, arguments.map(\.rawText)).map { row(RawRow(values: $0)) }
        }
    }

    func queryOne<T>(_ sql: String, _ arguments: any RawBindable..., row: (RawRow) -> T) throws -> T? {
        try query(sql, arguments: arguments, row: row).first
    }

    func queryOne<T>(_ sql: String, arguments: [any RawBindable], row: (RawRow) -> T) throws -> T? {
        try query(sql, arguments: arguments, row: row).first
    }
}

/// One row of a raw query, by column index.
struct RawRow {
    let values: [String?]

    func string(_ column: Int) -> String { values[column] ?? "" }
    func int64(_ column: Int) -> Int64 { values[column].flatMap { Int64($0) ?? Double($0).map { Int64($0) } } ?? 0 }
    func int(_ column: Int) -> Int { Int(int64(column)) }
    func double(_ column: Int) -> Double { values[column].flatMap(Double.init) ?? 0 }
    func isNull(_ column: Int) -> Bool { values[column] == nil }
}

/// A value a raw query binds: integers and text.
protocol RawBindable {
    var sqlValue: SQLValue { get }
    var rawText: String? { get }
}

extension Int64: RawBindable {
    var rawText: String? { String(self) }
}

extension Int: RawBindable {
    var rawText: String? { String(self) }
}

extension String: RawBindable {
    var rawText: String? { self }
}
