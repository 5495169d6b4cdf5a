
/// Who a share call is about.
package enum Grantee: Sendable, Hashable {
    case userID(String)
    case userName(String)
}

/// Whose share RevokeShare removes.
package enum RevokeTarget: Sendable, Hashable {
    case userID(String)
    case userName(String)
    /// The caller's own share; must be true (the proto's `leave`).
    case leave(Bool)
}

/// Shares projects, revokes shares (a member may leave), lists members.
package final class SharingService: Sendable {
    private let store: any ProjectRepository & UserRepository
    private let access: ProjectAccess
    private let payloads: any EventPayloads

    init(store: any ProjectRepository & UserRepository, payloads: any EventPayloads) {
        self.store = store
        self.payloads = payloads
        access = ProjectAccess(store: store)
    }

    /// Gives a user `role` (editor or viewer) on the project, or changes their role; owner
    /// only. The same role again changes nothing (`revision` nil).
    package func share(projectID: String, grantee: Grantee?, role: MemberRole?, caller: Caller) throws(ProjectError) -> ShareGranted {
        guard let grantee else { throw .invalidArgument("grantee (user_id or user_name) is required") }
        try Self.validate(grantee)
        // Access before the role: a caller who may not share at all hears that
        // (PERMISSION_DENIED / NOT_FOUND), not which roles exist.
        let project: ProjectRecord
        do {
            project = try access.require(.owner, projectID: projectID, caller: caller)
        } catch {
            throw ProjectError(error)
        }
        guard let role, role != .owner else { throw .invalidArgument("role must be ROLE_EDITOR or ROLE_VIEWER") }
        let user = try resolve(grantee)
        guard user.id != project.owner.id else {
            throw .invalidArgument("the grantee is the project's owner; ownership cannot be shared")
        }
        return try run { () throws(StoreError) in
            try store.share(projectID: project.id, userID: user.id, role: role, actor: caller.userID, payload: payloads.shareGranted)
        }
    }

    /// Removes a share: the owner may remove anyone's, a member only their own (leave).
    package func revoke(projectID: String, target: RevokeTarget?, caller: Caller) throws(ProjectError) -> ShareRevoked {
        guard let target else { throw .invalidArgument("grantee (user_id, user_name or leave) is required") }
        switch target {
        case .leave(false): throw .invalidArgument("leave must be true")
        case .userID(let id): try Self.validate(.userID(id))
        case .userName(let name): try Self.validate(.userName(name))
        case .leave(true): break
        }
        let project: ProjectRecord
        do {
            project = try access.require(.viewer, projectID: projectID, caller: caller)
        } catch {
            throw ProjectError(error)
        }
        let userID: String
        switch target {
        case .leave: userID = caller.userID
        case .userID(let id): userID = try resolve(.userID(id)).id
        case .userName(let name): userID = try resolve(.userName(name)).id
        }
        if userID == project.owner.id {
            throw .invalidArgument("the owner cannot leave or be removed; delete the project instead")
        }
        if project.callerRole != .owner && userID != caller.userID { throw .permissionDenied(required: .owner) }
        return try run { () throws(StoreError) in
            try store.revokeShare(projectID: project.id, userID: userID, actor: caller.userID, payload: payloads.shareRevoked)
        }
    }

    /// The members, owner first, then shares in grant order; any member may list them.
    package func members(projectID: String, caller: Caller) throws(ProjectError) -> [MemberRecord] {
        let project: ProjectRecord
        do {
            project = try access.require(.viewer, projectID: projectID, caller: caller)
        } catch {
            throw ProjectError(error)
        }
        return try run { () throws(StoreError) in try store.members(projectID: project.id) }
    }

    // MARK: Helpers

    private static func validate(_ grantee: Grantee) throws(ProjectError) {
        switch grantee {
        case .userID(let id):
            do {
                _ = try Validation.id(id, field: "user_id")
            } catch {
                throw .invalidArgument(error.message)
            }
        case .userName(let name):
            guard !name.isEmpty else { throw .invalidArgument("user_name must not be empty") }
            do {
                try Validation.text(name, field: "user_name", limit: .userName)
            } catch {
                throw .invalidArgument(error.message)
            }
        }
    }

    /// An active user; unknown and revoked users are both "no such user".
    private func resolve(_ grantee: Grantee) throws(ProjectError) -> UserRecord {
        let user = try run { () throws(StoreError) -> UserRecord? in
            switch grantee {
            case .userID(let id): try store.user(id: id)
            case .userName(let name): try store.user(named: name)
            }
        }
        guard let user, user.revokedAtMs == nil else {
            switch grantee {
            case .userID(let id): throw .notFound("user \(id) not found")
            case .userName(let name): throw .notFound("user \(Validation.quoted(name)) not found")
            }
        }
        return user
    }

    private func run<T>(_ body: () throws(StoreError) -> T) throws(ProjectError) -> T {
        do {
            return try body()
        } catch {
            throw ProjectError(error)
        }
    }
}
