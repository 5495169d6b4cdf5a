internal import CellHubStore

/// The outcome of a role check, before it is phrased as an area's error.
enum AccessError: Error, Equatable {
    case invalidArgument(String)
    case notFound(String)
    case permissionDenied(required: MemberRole)
    case `internal`(InternalFault)
}
