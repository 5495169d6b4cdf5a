import CellHubSQL

/// One parameter value as libpq is given it: the shared `SQLValue`s, plus text whose type the
/// server infers (raw reads only).
enum PGValue: Sendable, Equatable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case null
    /// Text whose type the server infers from its use (raw reads only).
    case untyped(String)

    init(_ value: SQLValue) {
        switch value {
        case .integer(let number): self = .integer(number)
        case .real(let number): self = .real(number)
        case .text(let text): self = .text(text)
        case .blob(let bytes): self = .blob(bytes)
        case .null: self = .null
        }
    }
}
