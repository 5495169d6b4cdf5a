import CellHub

/// One parameter value as the store binds it.
enum PGValue: Sendable, Equatable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case bytes([UInt8])
    case null
    /// Text whose type the server infers from its use (raw reads only).
    case untyped(String)
}

/// A Swift value that can be bound to a statement parameter.
protocol PGBindable {
    var pgValue: PGValue { get }
}

extension PGValue: PGBindable {
    var pgValue: PGValue { self }
}

extension Int64: PGBindable {
    var pgValue: PGValue { .integer(self) }
}

extension Int: PGBindable {
    var pgValue: PGValue { .integer(Int64(self)) }
}

extension Int32: PGBindable {
    var pgValue: PGValue { .integer(Int64(self)) }
}

/// Booleans are stored as the integers 0 and 1, as in the SQLite schema, so the two stores'
/// statements stay alike.
extension Bool: PGBindable {
    var pgValue: PGValue { .integer(self ? 1 : 0) }
}

extension Double: PGBindable {
    var pgValue: PGValue { .real(self) }
}

extension String: PGBindable {
    var pgValue: PGValue { .text(self) }
}

extension Array: PGBindable where Element == UInt8 {
    var pgValue: PGValue { .bytes(self) }
}

/// `nil` binds NULL.
extension Optional: PGBindable where Wrapped: PGBindable {
    var pgValue: PGValue { self?.pgValue ?? .null }
}
