/// A user's role on a project, stored as the text in `project_members.role`.
///
/// The proto numbers (`cellhub.v1.Role`) are OWNER = 1, EDITOR = 2, VIEWER = 3; the domain maps
/// them. Text keeps the table readable in the sqlite3 shell and the CHECK constraint obvious.
package enum MemberRole: String, Sendable, Hashable, CaseIterable {
    /// Created the project; exactly one per project.
    case owner
    /// May upload, delete and segment images.
    case editor
    /// May read and watch.
    case viewer

    /// Decodes a stored value (CHECK-constrained, so anything else is corruption).
    package static func stored(_ value: String) -> MemberRole {
        guard let role = MemberRole(rawValue: value) else {
            preconditionFailure("project_members.role '\(value)' violates its CHECK constraint: corrupt database")
        }
        return role
    }
}
