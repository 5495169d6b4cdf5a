package import CellHub
extension SQLStore {
    /// Creates a project owned by `ownerID`, with its owner membership and zero counters
    /// stamped with the new revision. Appends `projectCreated`.
    /// - Throws: `notFound(.user)`, `projectNameTaken` (the owner has one with this name).
    package func createProject(
        ownerID: String, name: String, description: String, payload: (ProjectCreated) -> [UInt8]
    ) throws(StoreError) -> ProjectCreated {
        try write { tx in
            guard try Rows.user(tx.db, id: ownerID) != nil else { throw StoreError.notFound(.user, id: ownerID) }
            try Self.requireUniqueName(tx.db, ownerID: ownerID, name: name, except: nil)
            let id = tx.makeID()
            return try tx.recording(.projectCreated, projectID: id, actor: ownerID, payload: payload) { revision in
                try tx.db.run(
                    """
                    INSERT INTO projects (id, owner_id, name, name_folded, description, created_at_ms, updated_at_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, id, ownerID, name, name.lowercased(), description, tx.now, tx.now)
                try tx.db.run(
                    """
                    INSERT INTO project_members (project_id, user_id, role, created_at_ms, role_changed_at_ms, granted_by)
                    VALUES (?, ?, 'owner', ?, ?, ?)
                    """, id, ownerID, tx.now, tx.now, ownerID)
                try tx.db.run(
                    "INSERT INTO project_counters (project_id, updated_at_ms, revision) VALUES (?, ?, ?)",
                    id, tx.now, revision)
                try tx.moveMembership(projectID: id, userID: ownerID, role: .owner, sign: 1)
                let project = try Rows.project(tx.db, id: id, callerID: ownerID)!
                try tx.appendProjectActivity(
                    tx.activity(.projectCreated, about: ActivityProject(id: id, name: name, ownerID: ownerID), actor: ownerID, revision: revision),
                    ownedBy: ownerID, counters: nil)
                return ProjectCreated(project: project, revision: revision)
            }
        }
    }

    /// The project as `userID` sees it (with their role), or nil when it does not exist or
    /// they are not a member — the two are indistinguishable on purpose.
    package func project(id: String, for userID: String) throws(StoreError) -> ProjectRecord? {
        try read { db in try Rows.project(db, id: id, callerID: userID) }
    }

    /// The project without a caller (`callerRole` nil), for the domain's own use.
    package func project(id: String) throws(StoreError) -> ProjectRecord? {
        try read { db in try Rows.project(db, id: id, callerID: nil) }
    }

    /// One page of the projects `userID` owns and/or is a member of, newest first (ties by id
    /// descending), with counters. `nameContains` matches case-insensitively ("" = all);
    /// `limit` ≥ 1 (the domain clamps page sizes); `after` is the previous page's `next`.
    package func projects(
        for userID: String, filter: ProjectFilter = .all, nameContains: String = "", limit: Int,
        after cursor: ProjectCursor? = nil
    ) throws(StoreError) -> Page<ProjectRecord, ProjectCursor> {
        precondition(limit >= 1, "page limit \(limit): a bug in CellHub")
        let roleFilter: Int64 = switch filter {
        case .all: 0
        case .owned: 1
        case .shared: 2
        }
        let needle = nameContains.lowercased()
        return try read { db in
            let conditions = """
                m.user_id = ?1
                AND (?2 = 0 OR (?2 = 1 AND m.role = 'owner') OR (?2 = 2 AND m.role <> 'owner'))
                AND (?3 = '' OR \(db.dialect.position)(p.name_folded, ?3) > 0)
                """
            let rows = try db.query(
                """
                SELECT \(Rows.projectColumns()) FROM project_members m
                JOIN projects p ON p.id = m.project_id \(Rows.projectJoins)
                WHERE \(conditions)
                  AND (CAST(?4 AS BIGINT) IS NULL OR p.created_at_ms < ?4 OR (p.created_at_ms = ?4 AND p.id < ?5))
                ORDER BY p.created_at_ms DESC, p.id DESC LIMIT ?6
                """, userID, roleFilter, needle, cursor?.createdAtMs, cursor?.id ?? "", limit + 1, row: Rows.project)
            let total = try db.queryOne(
                "SELECT count(*) FROM project_members m JOIN projects p ON p.id = m.project_id WHERE \(conditions)",
                userID, roleFilter, needle) { $0.int64(0) } ?? 0
            let items = Array(rows.prefix(limit))
            let next = rows.count > limit ? items.last.map { ProjectCursor(createdAtMs: $0.createdAtMs, id: $0.id) } : nil
            return Page(items: items, next: next, totalCount: total)
        }
    }

    /// Changes name and/or description (nil = keep). Values equal to the current ones are not
    /// changes; when nothing changes, nothing is written and `revision` is nil. Appends
    /// `projectUpdated`. Role checks are the caller's.
    /// - Throws: `notFound(.project)`, `projectNameTaken`.
    package func updateProject(
        id: String, actor: String, name: String? = nil, description: String? = nil,
        payload: (ProjectUpdated) -> [UInt8]
    ) throws(StoreError) -> ProjectUpdated {
        try write { tx in
            guard let project = try Rows.project(tx.db, id: id, callerID: nil) else {
                throw StoreError.notFound(.project, id: id)
            }
            var changed: [ProjectField] = []
            if let name, name != project.name { changed.append(.name) }
            if let description, description != project.description { changed.append(.description) }
            guard !changed.isEmpty else { return ProjectUpdated(project: project, changedFields: [], revision: nil) }
            let newName = name ?? project.name
            if changed.contains(.name) {
                try Self.requireUniqueName(tx.db, ownerID: project.owner.id, name: newName, except: id)
            }
            return try tx.recording(.projectUpdated, projectID: id, actor: actor, payload: payload) { revision in
                try tx.db.run(
                    "UPDATE projects SET name = ?, name_folded = ?, description = ?, updated_at_ms = ? WHERE id = ?",
                    newName, newName.lowercased(), description ?? project.description, tx.now, id)
                let updated = try Rows.project(tx.db, id: id, callerID: nil)!
                try tx.appendProjectActivity(
                    tx.activity(
                        .projectUpdated, about: ActivityProject(id: id, name: newName, ownerID: project.owner.id), actor: actor,
                        revision: revision),
                    ownedBy: nil, counters: updated.counters)
                return ProjectUpdated(project: updated, changedFields: changed, revision: revision)
            }
        }
    }

    /// Deletes a project with its images, results, shares, counters, jobs and idempotency
    /// keys (foreign-key cascades), cancelling its open jobs and releasing its blobs. Appends
    /// `projectDeleted`. Delete the returned orphaned blobs' files after this returns.
    /// - Throws: `notFound(.project)`.
    package func deleteProject(id: String, actor: String, payload: (ProjectDeleted) -> [UInt8]) throws(StoreError) -> ProjectDeleted {
        let deleted = try write { tx in
            guard let project = try Rows.project(tx.db, id: id, callerID: nil) else {
                throw StoreError.notFound(.project, id: id)
            }
            let members = try Rows.members(tx.db, projectID: id)
            let openJobs = try tx.db.query(
                "SELECT \(Rows.jobColumns) FROM segmentation_jobs j WHERE j.project_id = ? AND j.status IN (1, 2) ORDER BY j.seq",
                id, row: Rows.job)
            let blobs = try tx.db.query(
                "SELECT sha256, count(*) FROM images WHERE project_id = ? GROUP BY sha256 ORDER BY sha256", id
            ) { ($0.string(0), $0.int64(1)) }
            return try tx.recording(.projectDeleted, projectID: id, actor: actor, payload: payload) { revision in
                try tx.accessChanged(.memberships)
                // The queue counters are the only counters outside the project's own rows.
                let queued = Int64(openJobs.count { $0.status == .queued })
                try tx.db.run(
                    "UPDATE queue_counters SET queued = queued - ?, processing = processing - ? WHERE id = 1",
                    queued, Int64(openJobs.count) - queued)
                for member in members {
                    try tx.moveMembership(projectID: id, userID: member.user.id, role: member.role, sign: -1)
                }
                try tx.db.run("DELETE FROM projects WHERE id = ?", id)
                var orphaned: [String] = []
                for (sha256, count) in blobs {
                    if try tx.releaseBlob(sha256, count: count) { orphaned.append(sha256) }
                }
                try tx.appendProjectActivity(
                    tx.activity(
                        .projectDeleted, about: ActivityProject(id: id, name: project.name, ownerID: project.owner.id),
                        actor: actor, revision: revision),
                    ownedBy: nil, counters: nil, members: members.map(\.user.id))
                return ProjectDeleted(
                    project: project, formerMembers: members, deletedImageCount: project.counters.imageCount,
                    cancelledJobs: openJobs.map(CancelledJob.init), orphanedBlobs: orphaned, revision: revision)
            }
        }
        bumpGeneration(.memberships)  // its members' roles are gone
        return deleted
    }

    private static func requireUniqueName(_ db: any SQLDatabase, ownerID: String, name: String, except projectID: String?) throws {
        let clash = try db.queryOne(
            "SELECT 1 FROM projects WHERE owner_id = ? AND name = ? AND id <> ?", ownerID, name, projectID ?? ""
        ) { _ in true }
        if clash != nil { throw StoreError.projectNameTaken(name) }
    }
}

extension CancelledJob {
    /// The cancellation notice for a job that was open; the lease only matters while processing.
    init(_ job: JobRecord) {
        let processing = job.status == .processing
        self.init(
            jobID: job.id, imageID: job.imageID, projectID: job.projectID,
            leaseID: processing ? job.leaseID : nil, workerName: processing ? job.workerName : nil)
    }
}
