package import CellHub

extension SQLStore {
    /// Every member of every project, owner first then grant order within a project.
    package func allMembers() throws(StoreError) -> [MemberRecord] {
        try read { db in
            try db.query(
                """
                SELECT \(Rows.memberColumns) FROM project_members m
                JOIN users u ON u.id = m.user_id JOIN users g ON g.id = m.granted_by
                ORDER BY m.project_id, m.role <> 'owner', m.created_at_ms, m.\(db.dialect.memberOrder)
                """, row: Rows.member)
        }
    }

    package func projectStreamStart(
        projectID: String, userID: String, replayAfter: Int64?, limit: Int
    ) throws(StoreError) -> ProjectStreamStart {
        try read { db in
            let bounds = EventLogBounds(prunedThrough: try Self.prunedThrough(db), current: try Self.currentRevision(db))
            guard let project = try Rows.project(db, id: projectID, callerID: userID) else {
                return ProjectStreamStart(project: nil, members: [], events: [], bounds: bounds)
            }
            let members = try Rows.members(db, projectID: projectID)
            let events = try replayAfter.map { after throws in
                try Self.projectEvents(db, after: after, through: bounds.current, projectID: projectID, limit: limit)
            } ?? []
            return ProjectStreamStart(project: project, members: members, events: events, bounds: bounds)
        }
    }

    package func activityStreamStart(
        userID: String, projectID: String?, backlog: Int, replayAfter: Int64?, limit: Int
    ) throws(StoreError) -> ActivityStreamStart {
        try read { db in
            let bounds = EventLogBounds(prunedThrough: try Self.prunedThrough(db), current: try Self.currentRevision(db))
            let entries: [ActivityEntry]
            if let replayAfter {
                entries = try db.query(
                    """
                    \(Rows.activitySelect)
                    WHERE a.user_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR a.project_id = ?2) AND a.revision > ?3
                    ORDER BY a.seq LIMIT ?4
                    """, userID, projectID, replayAfter, limit, row: Rows.activityEntry)
            } else if backlog > 0 {
                entries = try db.query(
                    """
                    \(Rows.activitySelect)
                    WHERE a.user_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR a.project_id = ?2)
                    ORDER BY a.seq DESC LIMIT ?3
                    """, userID, projectID, backlog, row: Rows.activityEntry).reversed()
            } else {
                entries = []
            }
            return ActivityStreamStart(entries: entries, bounds: bounds)
        }
    }

    package func activity(for userIDs: [String], after: Int64, through: Int64) throws(StoreError) -> [ActivityEntry] {
        guard !userIDs.isEmpty else { return [] }
        return try read { db in
            var entries: [ActivityEntry] = []
            for userID in userIDs {
                entries += try db.query(
                    """
                    \(Rows.activitySelect)
                    WHERE a.user_id = ?1 AND a.revision > ?2 AND a.revision <= ?3
                    ORDER BY a.seq
                    """, userID, after, through, row: Rows.activityEntry)
            }
            return entries.sorted { $0.revision < $1.revision }
        }
    }
}
