import CellHub

/// The write side of one store transaction: the connection, the instant it runs at, and the
/// steps every operation shares (the event row, counter moves), so each is written once.
package struct Transaction {
    /// The writer connection, borrowed for the transaction.
    let db: any SQLDatabase
    /// One timestamp for the whole operation: every row it touches agrees on the time.
    let now: Int64
    let makeID: @Sendable () -> String
    /// Set inside `deferringCounters`: counter moves are summed there and written at its end.
    private(set) var ledger: CounterLedger?

    package init(db: any SQLDatabase, now: Int64, makeID: @escaping @Sendable () -> String) {
        self.db = db
        self.now = now
        self.makeID = makeID
    }

    /// Runs `body` with counter moves summed per project in memory (`CounterLedger`) and
    /// written once at its end: for a batch of many operations on few projects.
    func deferringCounters<Result>(_ body: (Transaction) throws -> Result) throws -> Result {
        precondition(ledger == nil, "nested deferringCounters: a bug in CellHub")
        var deferring = self
        let ledger = CounterLedger()
        deferring.ledger = ledger
        let result = try body(deferring)
        for (projectID, project) in ledger.projects.sorted(by: { $0.key < $1.key }) {
            let written = try apply(project.delta, to: projectID, revision: project.current.revision)
            assert(written == project.current, "ledger \(project.current) != row \(written)")
            if project.completed > 0 { try addActivity(projectID: projectID, atMs: now, completed: project.completed) }
        }
        return result
    }

    /// A project's counters as this transaction left them so far.
    func counters(of projectID: String) throws -> ProjectCounters? {
        if let current = ledger?.current(projectID) { return current }
        return try Rows.counters(db, projectID: projectID)
    }

    /// Appends the operation's event row, runs `body` with its revision, then stores the
    /// payload encoded from `body`'s result. The row is inserted first so that counters can
    /// be stamped with the revision in the same transaction.
    func recording<Result>(
        _ kind: ChangeKind, projectID: String?, actor: String?,
        payload: (Result) -> [UInt8], _ body: (Int64) throws -> Result
    ) throws -> Result {
        // The engine's own statement (`SQLDialect.appendEvent`): how a revision is taken is
        // what keeps the log gap-free in commit order, and each engine does it differently.
        guard let revision = try db.queryOne(
            db.dialect.appendEvent, now, kind.rawValue, projectID, actor, [UInt8](), row: { $0.int64(0) })
        else {
            preconditionFailure("appending to event_log returned no revision: a bug in CellHub")
        }
        let result = try body(revision)
        try db.run("UPDATE event_log SET payload = ? WHERE revision = ?", payload(result), revision)
        return result
    }

    /// Records a change to who may do what in the database's access generations, when the
    /// engine keeps them there (`SQLDialect.storesAccessGenerations`): in this transaction, so
    /// other nodes find it with the change. The store moves its own after the commit
    /// (`SQLStore.bumpGeneration`) either way.
    func accessChanged(_ generation: AccessGeneration) throws {
        guard db.dialect.storesAccessGenerations else { return }
        switch generation {
        case .credentials: try db.run("UPDATE access_generations SET credentials = credentials + 1 WHERE id = 1")
        case .memberships: try db.run("UPDATE access_generations SET memberships = memberships + 1 WHERE id = 1")
        }
    }

    /// Runs `body` in a savepoint: when it throws, what it wrote is rolled back (the rest of
    /// the transaction stays) and the error rethrown.
    func savepoint<Result>(_ body: () throws -> Result) throws -> Result {
        try db.run("SAVEPOINT step")
        let ledgerBefore = ledger?.projects
        do {
            let result = try body()
            try db.run("RELEASE step")
            return result
        } catch {
            try db.run("ROLLBACK TO step")
            try db.run("RELEASE step")
            if let ledgerBefore { ledger?.projects = ledgerBefore }
            throw error
        }
    }

    /// Applies `delta` to a project's counters, stamps them with `revision` and the
    /// transaction's time, and returns the row after the change. One statement: the CHECK
    /// constraints see the final values, so a bug that would make a count negative or break
    /// image_count = Σ statuses aborts the transaction.
    func apply(_ delta: CounterDelta, to projectID: String, revision: Int64) throws -> ProjectCounters {
        if let ledger, let after = try ledger.apply(
            delta, to: projectID, revision: revision, now: now, loading: { try Rows.counters(db, projectID: projectID) }) {
            return after
        }
        let updated = try db.queryOne(
            """
            UPDATE project_counters SET
                image_count = image_count + ?1, no_segmentation = no_segmentation + ?2,
                queued = queued + ?3, processing = processing + ?4, segmented = segmented + ?5,
                failed = failed + ?6, total_bytes = total_bytes + ?7,
                last_image_added_at_ms = CASE WHEN last_image_added_at_ms > ?8 THEN last_image_added_at_ms ELSE ?8 END,
                last_segmentation_completed_at_ms = CASE
                    WHEN last_segmentation_completed_at_ms > ?9 THEN last_segmentation_completed_at_ms ELSE ?9 END,
                updated_at_ms = ?10, revision = ?11
            WHERE project_id = ?12
            RETURNING \(Rows.counterColumns)
            """,
            delta.imageCount, delta.count(.noSegmentation), delta.count(.queued), delta.count(.processing),
            delta.count(.segmented), delta.count(.failed), delta.bytes, delta.lastImageAddedAtMs,
            delta.lastCompletedAtMs, now, revision, projectID
        ) { Rows.counters($0, at: 0) }
        guard let updated else { preconditionFailure("project \(projectID) has no counters row: a bug in CellHub") }
        try moveQueue(queued: delta.count(.queued), processing: delta.count(.processing))
        try moveMembers(delta, after: updated)
        return updated
    }

    /// Moves every member's user counters by the project's delta, and copies the project's
    /// queued count and last completion to the member rows (for the partial indexes).
    private func moveMembers(_ delta: CounterDelta, after counters: ProjectCounters) throws {
        let statuses = ImageStatus.allCases.map { delta.count($0) }
        if delta.imageCount != 0 || delta.bytes != 0 || statuses.contains(where: { $0 != 0 }) {
            try db.run(
                """
                UPDATE user_counters SET
                    image_count = image_count + ?, no_segmentation = no_segmentation + ?, queued = queued + ?,
                    processing = processing + ?, segmented = segmented + ?, failed = failed + ?,
                    total_bytes = total_bytes + ?
                WHERE user_id IN (SELECT user_id FROM project_members WHERE project_id = ?)
                """,
                delta.imageCount, delta.count(.noSegmentation), delta.count(.queued), delta.count(.processing),
                delta.count(.segmented), delta.count(.failed), delta.bytes, counters.projectID)
        }
        if delta.count(.queued) != 0 || delta.lastCompletedAtMs != 0 {
            try db.run(
                """
                UPDATE project_members SET queued = ?1, last_completed_at_ms = ?2
                WHERE project_id = ?3 AND (queued <> ?1 OR last_completed_at_ms <> ?2)
                """, counters.queued, counters.lastSegmentationCompletedAtMs, counters.projectID)
        }
    }

    /// Adds (`sign` 1) or removes (-1) a membership's whole contribution to the user's
    /// counters and activity buckets: the project's counters, its activity buckets and its
    /// creation. Call it after inserting a member row, or before deleting one.
    func moveMembership(projectID: String, userID: String, role: MemberRole, sign: Int64) throws {
        precondition(sign == 1 || sign == -1, "membership sign \(sign): a bug in CellHub")
        try db.run(
            """
            UPDATE user_counters AS u SET
                projects_owned = u.projects_owned + ?1 * (CASE WHEN ?2 = 'owner' THEN 1 ELSE 0 END),
                projects_shared = u.projects_shared + ?1 * (CASE WHEN ?2 <> 'owner' THEN 1 ELSE 0 END),
                image_count = u.image_count + ?1 * c.image_count, no_segmentation = u.no_segmentation + ?1 * c.no_segmentation,
                queued = u.queued + ?1 * c.queued, processing = u.processing + ?1 * c.processing,
                segmented = u.segmented + ?1 * c.segmented, failed = u.failed + ?1 * c.failed,
                total_bytes = u.total_bytes + ?1 * c.total_bytes
            FROM project_counters c WHERE c.project_id = ?3 AND u.user_id = ?4
            """, sign, role.rawValue, projectID, userID)
        let created = try db.queryOne("SELECT created_at_ms FROM projects WHERE id = ?", projectID) { $0.int64(0) } ?? now
        if sign > 0 {
            try db.run(
                """
                INSERT INTO user_activity_counters AS t (user_id, quarter_hour, uploaded, completed, projects_created)
                SELECT ?1, quarter_hour, uploaded, completed, 0 FROM project_activity_counters WHERE project_id = ?2 AND true
                ON CONFLICT (user_id, quarter_hour) DO UPDATE SET
                    uploaded = t.uploaded + excluded.uploaded, completed = t.completed + excluded.completed
                """, userID, projectID)
            try db.run(
                """
                INSERT INTO user_activity_counters (user_id, quarter_hour, projects_created) VALUES (?, ?, 1)
                ON CONFLICT (user_id, quarter_hour) DO UPDATE SET projects_created = user_activity_counters.projects_created + 1
                """, userID, ActivityBucket.quarterHour(created))
        } else {
            // Every bucket being removed was added with the membership, so the rows exist.
            try db.run(
                """
                UPDATE user_activity_counters AS u SET uploaded = u.uploaded - a.uploaded, completed = u.completed - a.completed
                FROM project_activity_counters a
                WHERE a.project_id = ?2 AND u.user_id = ?1 AND u.quarter_hour = a.quarter_hour
                """, userID, projectID)
            try db.run(
                "UPDATE user_activity_counters SET projects_created = projects_created - 1 WHERE user_id = ? AND quarter_hour = ?",
                userID, ActivityBucket.quarterHour(created))
        }
    }

    /// Moves the service-wide open-job counters. Image statuses QUEUED/PROCESSING and open
    /// jobs are one-to-one, so project deltas drive these too.
    private func moveQueue(queued: Int64, processing: Int64) throws {
        guard queued != 0 || processing != 0 else { return }
        try db.run("UPDATE queue_counters SET queued = queued + ?, processing = processing + ? WHERE id = 1", queued, processing)
    }

    /// Adds to a project's 15-minute activity bucket containing `atMs`, and to its members'.
    func addActivity(projectID: String, atMs: Int64, uploaded: Int64 = 0, completed: Int64 = 0) throws {
        if let ledger, uploaded == 0, atMs == now, ledger.addCompleted(completed, projectID: projectID) { return }
        let bucket = ActivityBucket.quarterHour(atMs)
        try db.run(
            """
            INSERT INTO project_activity_counters AS t (project_id, quarter_hour, uploaded, completed) VALUES (?, ?, ?, ?)
            ON CONFLICT (project_id, quarter_hour) DO UPDATE SET
                uploaded = t.uploaded + excluded.uploaded, completed = t.completed + excluded.completed
            """,
            projectID, bucket, uploaded, completed)
        try db.run(
            """
            INSERT INTO user_activity_counters AS t (user_id, quarter_hour, uploaded, completed)
            SELECT user_id, ?2, ?3, ?4 FROM project_members WHERE project_id = ?1
            ON CONFLICT (user_id, quarter_hour) DO UPDATE SET
                uploaded = t.uploaded + excluded.uploaded, completed = t.completed + excluded.completed
            """,
            projectID, bucket, uploaded, completed)
        if completed > 0 { try addCompletions(projectID: projectID, atMs: atMs, count: completed) }
    }

    /// Counts completions in the project's minute containing `atMs`; when that minute's row is
    /// new, drops the project's minutes older than `CompletionMinute.retention` (rows only
    /// age out as new minutes start, so once per minute is enough).
    private func addCompletions(projectID: String, atMs: Int64, count: Int64) throws {
        let minute = CompletionMinute.of(atMs)
        let total = try db.queryOne(
            """
            INSERT INTO project_completion_minutes (project_id, minute, completed) VALUES (?, ?, ?)
            ON CONFLICT (project_id, minute) DO UPDATE SET completed = project_completion_minutes.completed + excluded.completed
            RETURNING completed
            """, projectID, minute, count) { $0.int64(0) }
        guard total == count else { return }
        try db.run(
            "DELETE FROM project_completion_minutes WHERE project_id = ? AND minute < ?",
            projectID, minute - CompletionMinute.retention)
    }

    /// Removes uploads from the bucket they were counted in, the project's and its members'
    /// (a deleted image stops counting as "uploaded today").
    func removeUploads(projectID: String, uploadedAtMs: Int64, count: Int64) throws {
        let bucket = ActivityBucket.quarterHour(uploadedAtMs)
        try db.run(
            "UPDATE project_activity_counters SET uploaded = uploaded - ? WHERE project_id = ? AND quarter_hour = ?",
            count, projectID, bucket)
        try db.run(
            """
            UPDATE user_activity_counters SET uploaded = uploaded - ?1
            WHERE quarter_hour = ?2 AND user_id IN (SELECT user_id FROM project_members WHERE project_id = ?3)
            """, count, bucket, projectID)
    }

    /// Drops `count` references to a blob; returns true when none remain, after deleting
    /// its row (the file is then the caller's to remove, after the commit).
    func releaseBlob(_ sha256: String, count: Int64) throws -> Bool {
        try db.run("UPDATE blobs SET ref_count = ref_count - ? WHERE sha256 = ?", count, sha256)
        return try db.run("DELETE FROM blobs WHERE sha256 = ? AND ref_count = 0", sha256) == 1
    }
}
