/// One member of a project (the owner included).
package struct MemberRecord: Sendable, Hashable {
    package var projectID: String
    package var user: UserRef
    package var role: MemberRole
    /// When the share was granted or its role last changed (owner: project creation).
    package var sharedAtMs: Int64
    /// Who granted it (owner: the owner).
    package var sharedBy: UserRef

    package init(
        projectID: String, user: UserRef, role: MemberRole, sharedAtMs: Int64, sharedBy: UserRef
    ) {
        self.projectID = projectID
        self.user = user
        self.role = role
        self.sharedAtMs = sharedAtMs
        self.sharedBy = sharedBy
    }
}

/// `share`'s result.
package struct ShareGranted: Sendable, Hashable {
    /// The member as it is now.
    package var member: MemberRecord
    /// True when the user was not a member before.
    package var created: Bool
    /// The role before; nil when `created`.
    package var previousRole: MemberRole?
    /// Every member after the change, owner first, then in grant order.
    package var members: [MemberRecord]
    /// nil when the user already had this role (nothing changed, no event).
    package var revision: Int64?

    package init(
        member: MemberRecord, created: Bool, previousRole: MemberRole? = nil, members: [MemberRecord], revision: Int64? = nil
    ) {
        self.member = member
        self.created = created
        self.previousRole = previousRole
        self.members = members
        self.revision = revision
    }
}

/// `revokeShare`'s result.
package struct ShareRevoked: Sendable, Hashable {
    /// The removed member, with the role they had.
    package var revoked: MemberRecord
    /// True when the member removed themselves (actor == member).
    package var left: Bool
    /// Every member after the change.
    package var members: [MemberRecord]
    package var revision: Int64

    package init(
        revoked: MemberRecord, left: Bool, members: [MemberRecord], revision: Int64
    ) {
        self.revoked = revoked
        self.left = left
        self.members = members
        self.revision = revision
    }
}

/// One (project, user, role) triple.
package struct Membership: Sendable, Hashable {
    package var projectID: String
    package var userID: String
    package var role: MemberRole

    package init(
        projectID: String, userID: String, role: MemberRole
    ) {
        self.projectID = projectID
        self.userID = userID
        self.role = role
    }
}
