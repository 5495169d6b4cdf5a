/// Who may see each project, in memory: project → members (owner first, then in grant
/// order) and user → projects. Loaded from the store when the hub starts, then kept exact by
/// the changes themselves, in revision order — so at the hub's position it says exactly who
/// the recipients of a change are, and who may subscribe.
package struct MemberIndex: Sendable {
    private(set) var members: [String: [MemberRecord]] = [:]
    private(set) var projects: [String: Set<String>] = [:]
    /// User names seen in memberships (and changes): actors' names for events.
    private(set) var names: [String: String] = [:]

    package init() {}

    /// Every member of every project, owner first then grant order within a project.
    package init(_ all: [MemberRecord]) {
        for member in all {
            members[member.projectID, default: []].append(member)
            projects[member.user.id, default: []].insert(member.projectID)
            remember(member.user)
            remember(member.sharedBy)
        }
    }

    package func members(of projectID: String) -> [MemberRecord] { members[projectID] ?? [] }

    package func projects(of userID: String) -> Set<String> { projects[userID] ?? [] }

    package func role(of userID: String, in projectID: String) -> MemberRole? {
        members[projectID]?.first { $0.user.id == userID }?.role
    }

    /// The user with this id as a reference, when the index knows the name.
    package func user(_ id: String) -> UserRef? { names[id].map { UserRef(id: id, name: $0) } }

    package var projectCount: Int { members.count }

    /// Applies a change's effect on memberships (creations, shares, revocations, deletions).
    package mutating func apply(_ change: Change) {
        for user in change.users { remember(user) }
        switch change.kind {
        case .projectCreated:
            guard let projectID = change.projectID, let ownerID = change.actorID else { return }
            let owner = user(ownerID) ?? UserRef(id: ownerID, name: "")
            setMembers([MemberRecord(projectID: projectID, user: owner, role: .owner, sharedAtMs: change.committedAtMs, sharedBy: owner)], of: projectID)
        case .shareGranted, .shareRevoked:
            guard let projectID = change.projectID, !change.members.isEmpty else { return }
            setMembers(change.members, of: projectID)
        case .projectDeleted:
            guard let projectID = change.projectID else { return }
            setMembers([], of: projectID)
        default:
            return
        }
    }

    private mutating func setMembers(_ list: [MemberRecord], of projectID: String) {
        for old in members[projectID] ?? [] {
            projects[old.user.id]?.remove(projectID)
            if projects[old.user.id]?.isEmpty == true { projects[old.user.id] = nil }
        }
        if list.isEmpty {
            members[projectID] = nil
            return
        }
        members[projectID] = list
        for member in list {
            projects[member.user.id, default: []].insert(projectID)
            remember(member.user)
        }
    }

    package mutating func remember(_ user: UserRef) {
        if !user.name.isEmpty { names[user.id] = user.name }
    }
}
