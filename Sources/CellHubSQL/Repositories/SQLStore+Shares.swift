package import CellHub
extension SQLStore {
    /// Gives `userID` a role on the project, or changes their role. The same role again
    /// changes nothing (`revision` nil). Appends `shareGranted`. Role checks are the caller's.
    /// - Parameter role: `.editor` or `.viewer` (`.owner` is a bug: ownership is not shared).
    /// - Throws: `notFound(.project)`, `notFound(.user)`, `ownerMembership` (the user owns it).
    package func share(
        projectID: String, userID: String, role: MemberRole, actor: String, payload: (ShareGranted) -> [UInt8]
    ) throws(StoreError) -> ShareGranted {
        precondition(role != .owner, "ownership cannot be shared: a bug in CellHub")
        let granted = try write { tx in
            guard try Rows.counters(tx.db, projectID: projectID) != nil else {
                throw StoreError.notFound(.project, id: projectID)
            }
            guard try Rows.user(tx.db, id: userID) != nil else { throw StoreError.notFound(.user, id: userID) }
            let existing = try Rows.member(tx.db, projectID: projectID, userID: userID)
            if existing?.role == .owner { throw StoreError.ownerMembership(projectID: projectID) }
            if let existing, existing.role == role {
                return ShareGranted(
                    member: existing, created: false, previousRole: role,
                    members: try Rows.members(tx.db, projectID: projectID), revision: nil)
            }
            return try tx.recording(.shareGranted, projectID: projectID, actor: actor, payload: payload) { revision in
                try tx.accessChanged(.memberships)
                // An upsert keeps the row (and its place in grant order) on a role change.
                try tx.db.run(
                    """
                    INSERT INTO project_members (project_id, user_id, role, created_at_ms, role_changed_at_ms, granted_by)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (project_id, user_id) DO UPDATE SET
                        role = excluded.role, role_changed_at_ms = excluded.role_changed_at_ms,
                        granted_by = excluded.granted_by
                    """, projectID, userID, role.rawValue, tx.now, tx.now, actor)
                if existing == nil {
                    try tx.db.run(
                        """
                        UPDATE project_members AS m SET queued = c.queued, last_completed_at_ms = c.last_segmentation_completed_at_ms
                        FROM project_counters c WHERE c.project_id = ?1 AND m.project_id = ?1 AND m.user_id = ?2
                        """, projectID, userID)
                    try tx.moveMembership(projectID: projectID, userID: userID, role: role, sign: 1)
                }
                let member = try Rows.member(tx.db, projectID: projectID, userID: userID)!
                let project = try ActivityProject(tx.db, id: projectID)!
                var granted = tx.activity(.projectShared, about: project, actor: actor, revision: revision)
                granted.sharedWith = member.user
                granted.role = role
                granted.recipientID = actor
                try tx.append(granted)
                var received = tx.activity(.none, about: project, actor: actor, revision: revision)
                received.kind = .projectSharedWithYou
                received.recipientID = userID
                received.role = role
                received.previousRole = existing?.role
                received.counters = try Rows.counters(tx.db, projectID: projectID)
                try tx.append(received)
                return ShareGranted(
                    member: member, created: existing == nil, previousRole: existing?.role,
                    members: try Rows.members(tx.db, projectID: projectID), revision: revision)
            }
        }
        // After the commit: a role cache that reloads now must find the new role.
        if granted.revision != nil { bumpGeneration(.memberships) }
        return granted
    }

    /// Removes `userID`'s share; `left` is true when they removed themselves (`actor ==
    /// userID`). Appends `shareRevoked`. Role checks are the caller's.
    /// - Throws: `notFound(.project)`, `notFound(.member)`, `ownerMembership`.
    package func revokeShare(
        projectID: String, userID: String, actor: String, payload: (ShareRevoked) -> [UInt8]
    ) throws(StoreError) -> ShareRevoked {
        let revoked = try write { tx in
            guard try Rows.counters(tx.db, projectID: projectID) != nil else {
                throw StoreError.notFound(.project, id: projectID)
            }
            guard let member = try Rows.member(tx.db, projectID: projectID, userID: userID) else {
                throw StoreError.notFound(.member, id: userID)
            }
            if member.role == .owner { throw StoreError.ownerMembership(projectID: projectID) }
            return try tx.recording(.shareRevoked, projectID: projectID, actor: actor, payload: payload) { revision in
                try tx.accessChanged(.memberships)
                try tx.moveMembership(projectID: projectID, userID: userID, role: member.role, sign: -1)
                try tx.db.run("DELETE FROM project_members WHERE project_id = ? AND user_id = ?", projectID, userID)
                var revoked = tx.activity(.none, about: try ActivityProject(tx.db, id: projectID)!, actor: actor, revision: revision)
                revoked.kind = .shareRevoked
                revoked.recipientID = userID
                revoked.role = member.role
                revoked.left = actor == userID
                try tx.append(revoked)
                return ShareRevoked(
                    revoked: member, left: actor == userID,
                    members: try Rows.members(tx.db, projectID: projectID), revision: revision)
            }
        }
        bumpGeneration(.memberships)
        return revoked
    }

    /// The project's members: owner first, then shares in grant order. Empty when the
    /// project does not exist.
    package func members(projectID: String) throws(StoreError) -> [MemberRecord] {
        try read { db in try Rows.members(db, projectID: projectID) }
    }

    /// `userID`'s role on the project; nil when not a member (or no such project).
    package func role(projectID: String, userID: String) throws(StoreError) -> MemberRole? {
        try read { db in
            try db.queryOne(
                "SELECT role FROM project_members WHERE project_id = ? AND user_id = ?", projectID, userID
            ) { MemberRole.stored($0.string(0)) }
        }
    }

    /// Changes after every committed share, role change, revocation or project deletion, in
    /// any process using this database.
    package var membershipGeneration: UInt64 { generation(.memberships) }

    /// Every (project, user, role), for building the EventHub's in-memory access index at
    /// start; keep it current from the event log afterwards.
    package func allMemberships() throws(StoreError) -> [Membership] {
        try read { db in
            try db.query("SELECT project_id, user_id, role FROM project_members ORDER BY project_id, user_id") {
                Membership(projectID: $0.string(0), userID: $0.string(1), role: MemberRole.stored($0.string(2)))
            }
        }
    }
}
