import CellHub
import CellHubProto
import CellHubStore
import RPC

// Shared proto ⇄ domain conversions: users, roles, statuses. Store and proto enums share
// their numbers (see ImageStatus, JobStatus), so statuses convert by raw value; roles are
// text in the store and numbered in the proto, so they convert by case.

extension CellHubProto.UserRef {
    init(_ ref: CellHub.UserRef) {
        self.init()
        userId = ref.id
        userName = ref.name
    }
}

extension Role {
    init(_ role: MemberRole) {
        switch role {
        case .owner: self = .owner
        case .editor: self = .editor
        case .viewer: self = .viewer
        }
    }

    init(_ role: MemberRole?) {
        self = role.map(Role.init) ?? .unspecified
    }

    /// The domain role; nil for ROLE_UNSPECIFIED and numbers this server does not know.
    var memberRole: MemberRole? {
        switch self {
        case .owner: .owner
        case .editor: .editor
        case .viewer: .viewer
        case .unspecified, .unrecognized: nil
        }
    }
}

extension SegmentationStatus {
    init(_ status: ImageStatus) {
        self.init(rawValue: Int32(status.rawValue))
    }

    /// The store status; nil for SEGMENTATION_STATUS_UNSPECIFIED and unknown numbers.
    var imageStatus: ImageStatus? { ImageStatus(rawValue: Int64(rawValue)) }
}

extension CellHubProto.JobStatus {
    init(_ status: CellHub.JobStatus) {
        self.init(rawValue: Int32(status.rawValue))
    }
}

/// A request field that does not convert (an enum number this server does not know).
func invalidArgument(_ message: String) -> RPCError {
    RPCError(code: .invalidArgument, message: message)
}
