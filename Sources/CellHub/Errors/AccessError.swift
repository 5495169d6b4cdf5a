
/// The outcome of a role check, before it is phrased as an area's error.
enum AccessError: Error, Equatable {
    case invalidArgument(String)
    case notFound(String)
    case permissionDenied(required: MemberRole)
    case `internal`(InternalFault)
}

/// An area error that can refuse access the way `AccessError` does: the enum's own cases
/// (`invalidArgument(_:)`, `notFound(_:)`, …) satisfy these requirements, so the role check's
/// outcome is translated in one place for every area that shares the four cases.
protocol AccessRefusal {
    static func invalidArgument(_ message: String) -> Self
    static func notFound(_ message: String) -> Self
    static func permissionDenied(required: MemberRole) -> Self
    static func `internal`(underlying: InternalFault) -> Self
}

extension AccessRefusal {
    init(_ access: AccessError) {
        switch access {
        case .invalidArgument(let message): self = .invalidArgument(message)
        case .notFound(let message): self = .notFound(message)
        case .permissionDenied(let required): self = .permissionDenied(required: required)
        case .internal(let underlying): self = .internal(underlying: underlying)
        }
    }
}
