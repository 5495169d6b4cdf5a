import CellHub
import CellHubProto
import CellHubStore
import RPC

extension Project {
    /// A project as the caller sees it, with its stats derived from its counters.
    init(_ record: ProjectRecord) {
        self.init()
        id = record.id
        name = record.name
        projectDescription = record.description
        owner = CellHubProto.UserRef(record.owner)
        callerRole = Role(record.callerRole)
        createdAtUnixMs = record.createdAtMs
        updatedAtUnixMs = record.updatedAtMs
        stats = CellHubProto.ProjectStats(record.counters)
        shareCount = Int32(clamping: record.shareCount)
    }
}

extension ProjectMember {
    init(_ member: MemberRecord) {
        self.init()
        user = CellHubProto.UserRef(member.user)
        role = Role(member.role)
        sharedAtUnixMs = member.sharedAtMs
        sharedBy = CellHubProto.UserRef(member.sharedBy)
    }
}

extension CellHubProto.ProjectFilter {
    /// The store filter; UNSPECIFIED is ALL.
    func storeFilter() throws(RPCError) -> CellHub.ProjectFilter {
        switch self {
        case .unspecified, .all: .all
        case .owned: .owned
        case .shared: .shared
        case .unrecognized(let value): throw invalidArgument("filter \(value) is not a known ProjectFilter")
        }
    }
}

extension ShareProjectRequest.Grantee {
    var domainGrantee: CellHub.Grantee {
        switch self {
        case .userId(let id): .userID(id)
        case .userName(let name): .userName(name)
        }
    }
}

extension RevokeShareRequest.Grantee {
    var revokeTarget: RevokeTarget {
        switch self {
        case .userId(let id): .userID(id)
        case .userName(let name): .userName(name)
        case .leave(let leave): .leave(leave)
        }
    }
}

extension UpdateProjectRequest {
    /// The new name, nil = keep.
    var newName: String? {
        switch nameUpdate {
        case .name(let name): name
        case nil: nil
        }
    }

    /// The new description, nil = keep ("" clears it).
    var newDescription: String? {
        switch descriptionUpdate {
        case .projectDescription(let description): description
        case nil: nil
        }
    }
}
