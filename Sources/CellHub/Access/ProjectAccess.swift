
/// The role rules, in one place: a project the caller cannot see is NOT_FOUND (exactly like
/// one that does not exist); a visible one with too low a role is PERMISSION_DENIED.
struct ProjectAccess: Sendable {
    let store: any ProjectRepository

    /// The project as `caller` sees it, if their role is at least `minimum`.
    func require(_ minimum: MemberRole, projectID: String, caller: Caller, field: String = "project_id") throws(AccessError) -> ProjectRecord {
        let id: String
        do {
            id = try Validation.id(projectID, field: field)
        } catch {
            throw .invalidArgument(error.message)
        }
        let project: ProjectRecord?
        do {
            project = try store.project(id: id, for: caller.userID)
        } catch {
            throw .internal(InternalFault(error))
        }
        guard let project, let role = project.callerRole else { throw .notFound("project \(id) not found") }
        guard role.permits(minimum) else { throw .permissionDenied(required: minimum) }
        return project
    }

    /// The caller's role on a project they can see, at least `minimum` (an O(1) key lookup,
    /// for checks that need no project row).
    func requireRole(_ minimum: MemberRole, projectID: String, caller: Caller) throws(AccessError) -> MemberRole {
        let role: MemberRole?
        do {
            role = try store.role(projectID: projectID, userID: caller.userID)
        } catch {
            throw .internal(InternalFault(error))
        }
        guard let role else { throw .notFound("project \(projectID) not found") }
        guard role.permits(minimum) else { throw .permissionDenied(required: minimum) }
        return role
    }
}

extension MemberRole {
    /// Owner > editor > viewer.
    var rank: Int {
        switch self {
        case .owner: 3
        case .editor: 2
        case .viewer: 1
        }
    }

    /// Whether this role may do what `minimum` may.
    package func permits(_ minimum: MemberRole) -> Bool { rank >= minimum.rank }
}
