/// The write side of one store transaction: the connection, the instant it runs at, and the
/// steps every operation shares (the event row, counter moves), so each is written once.
struct Transaction {
    /// The writer connection, borrowed for the transaction.
    let db: SQLiteConnection
    /// One timestamp for the whole operation: every row it touches agrees on the time.
    let now: Int64
    let makeID: @Sendable () -> String

    /// Appends the operation's event row, runs `body` with its revision, then stores the
    /// payload encoded from `body`'s result. The row is inserted first so that counters can
    /// be stamped with the revision in the same transaction.
    func recording<Result>(
        _ kind: ChangeKind, projectID: String?, actor: String?,
        payload: (Result) -> [UInt8], _ body: (Int64) throws -> Result
    ) throws -> Result {
        try db.run(
            "INSERT INTO event_log (committed_at_ms, kind, project_id, actor_user_id, payload) VALUES (?, ?, ?, ?, ?)",
            now, kind.rawValue, projectID, actor, [UInt8]())
        let revision = db.lastInsertRowID
        let result = try body(revision)
        try db.run("UPDATE event_log SET payload = ? WHERE revision = ?", payload(result), revision)
        return result
    }

    /// Applies `delta` to a project's counters, stamps them with `revision` and the
    /// transaction's time, and returns the row after the change. One statement: the CHECK
    /// constraints see the final values, so a bug that would make a count negative or break
    /// image_count = Σ statuses aborts the transaction.
    func apply(_ delta: CounterDelta, to projectID: String, revision: Int64) throws -> ProjectCounters {
        let updated = try db.queryOne(
            """
            UPDATE project_counters SET
                image_count = image_count + ?, no_segmentation = no_segmentation + ?,
                queued = queued + ?, processing = processing + ?, segmented = segmented + ?,
                failed = failed + ?, total_bytes = total_bytes + ?,
                last_image_added_at_ms = max(last_image_added_at_ms, ?),
                last_segmentation_completed_at_ms = max(last_segmentation_completed_at_ms, ?),
                updated_at_ms = ?, revision = ?
            WHERE project_id = ?
            RETURNING \(Rows.counterColumns)
            """,
            delta.imageCount, delta.count(.noSegmentation), delta.count(.queued), delta.count(.processing),
            delta.count(.segmented), delta.count(.failed), delta.bytes, delta.lastImageAddedAtMs,
            delta.lastCompletedAtMs, now, revision, projectID
        ) { Rows.counters($0, at: 0) }
        guard let updated else { preconditionFailure("project \(projectID) has no counters row: a bug in CellHub") }
        try moveQueue(queued: delta.count(.queued), processing: delta.count(.processing))
        return updated
    }

    /// Moves the service-wide open-job counters. Image statuses QUEUED/PROCESSING and open
    /// jobs are one-to-one, so project deltas drive these too.
    private func moveQueue(queued: Int64, processing: Int64) throws {
        guard queued != 0 || processing != 0 else { return }
        try db.run("UPDATE queue_counters SET queued = queued + ?, processing = processing + ? WHERE id = 1", queued, processing)
    }

    /// Adds to a project's 15-minute activity bucket containing `atMs`.
    func addActivity(projectID: String, atMs: Int64, uploaded: Int64 = 0, completed: Int64 = 0) throws {
        try db.run(
            """
            INSERT INTO project_activity_counters (project_id, quarter_hour, uploaded, completed) VALUES (?, ?, ?, ?)
            ON CONFLICT (project_id, quarter_hour) DO UPDATE SET
                uploaded = uploaded + excluded.uploaded, completed = completed + excluded.completed
            """,
            projectID, ActivityBucket.quarterHour(atMs), uploaded, completed)
    }

    /// Removes uploads from the bucket they were counted in (a deleted image stops counting
    /// as "uploaded today").
    func removeUploads(projectID: String, uploadedAtMs: Int64, count: Int64) throws {
        try db.run(
            "UPDATE project_activity_counters SET uploaded = uploaded - ? WHERE project_id = ? AND quarter_hour = ?",
            count, projectID, ActivityBucket.quarterHour(uploadedAtMs))
    }

    /// Drops `count` references to a blob; returns true when none remain, after deleting
    /// its row (the file is then the caller's to remove, after the commit).
    func releaseBlob(_ sha256: String, count: Int64) throws -> Bool {
        try db.run("UPDATE blobs SET ref_count = ref_count - ? WHERE sha256 = ?", count, sha256)
        return try db.run("DELETE FROM blobs WHERE sha256 = ? AND ref_count = 0", sha256) == 1
    }
}
