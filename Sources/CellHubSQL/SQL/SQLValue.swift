/// One value as bound to a statement parameter: the five storage classes SQLite has, which
/// PostgreSQL's parameters take as `int8`, `float8`, `text`, `bytea` and NULL.
///
/// The SQLite schema declares its tables STRICT, so a column holds only its declared class (or
/// NULL where allowed); the PostgreSQL schema uses the matching types.
package enum SQLValue: Sendable, Equatable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case null
}

/// A Swift value that can be bound to a statement parameter.
package protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension SQLValue: SQLBindable {
    package var sqlValue: SQLValue { self }
}

extension Int64: SQLBindable {
    package var sqlValue: SQLValue { .integer(self) }
}

extension Int: SQLBindable {
    package var sqlValue: SQLValue { .integer(Int64(self)) }
}

extension Int32: SQLBindable {
    package var sqlValue: SQLValue { .integer(Int64(self)) }
}

/// Booleans are stored as the integers 0 and 1 (SQLite has no boolean class; the PostgreSQL
/// schema follows it so that both engines run the same statements).
extension Bool: SQLBindable {
    package var sqlValue: SQLValue { .integer(self ? 1 : 0) }
}

extension Double: SQLBindable {
    package var sqlValue: SQLValue { .real(self) }
}

extension String: SQLBindable {
    package var sqlValue: SQLValue { .text(self) }
}

extension Array: SQLBindable where Element == UInt8 {
    package var sqlValue: SQLValue { .blob(self) }
}

/// `nil` binds NULL.
extension Optional: SQLBindable where Wrapped: SQLBindable {
    package var sqlValue: SQLValue { self?.sqlValue ?? .null }
}
