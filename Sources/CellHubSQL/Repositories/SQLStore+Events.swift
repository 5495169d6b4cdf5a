package import CellHub
extension SQLStore {
    /// Up to `limit` events after `revision`, oldest first: the replay for a resuming stream
    /// and the EventHub's catch-up after each commit.
    package func events(after revision: Int64, limit: Int) throws(StoreError) -> [StoredEvent] {
        try read { db in
            try db.query(
                """
                SELECT revision, committed_at_ms, kind, project_id, actor_user_id, payload
                FROM event_log WHERE revision > ? ORDER BY revision LIMIT ?
                """, revision, limit, row: Self.storedEvent)
        }
    }

    static func storedEvent(_ row: any SQLRow) -> StoredEvent {
        StoredEvent(
            revision: row.int64(0), committedAtMs: row.int64(1), rawKind: row.int64(2),
            projectID: row.optionalString(3), actorUserID: row.optionalString(4), payload: row.blob(5))
    }

    static func projectEvents(_ db: any SQLDatabase, after revision: Int64, through last: Int64, projectID: String, limit: Int) throws -> [StoredEvent] {
        try db.query(
            """
            SELECT revision, committed_at_ms, kind, project_id, actor_user_id, payload
            FROM event_log WHERE revision > ? AND revision <= ? AND (project_id = ? OR project_id IS NULL)
            ORDER BY revision LIMIT ?
            """, revision, last, projectID, limit, row: storedEvent)
    }

    /// Up to `limit` changes in (`revision`, `last`] of one project or of none (operations
    /// spanning projects name theirs in the payload), oldest first: a resuming stream's replay.
    package func events(after revision: Int64, through last: Int64, projectID: String, limit: Int) throws(StoreError) -> [StoredEvent] {
        try read { db in try Self.projectEvents(db, after: revision, through: last, projectID: projectID, limit: limit) }
    }

    /// The revision of the last committed change (0 before the first), also after pruning.
    package func currentRevision() throws(StoreError) -> Int64 {
        try read { db in try Self.currentRevision(db) }
    }

    /// The revision range a stream can resume from: a client at revision r resumes without a
    /// gap iff `prunedThrough <= r <= current`; otherwise it needs a RESYNC.
    package func eventLogBounds() throws(StoreError) -> EventLogBounds {
        try read { db in
            EventLogBounds(prunedThrough: try Self.prunedThrough(db), current: try Self.currentRevision(db))
        }
    }

    /// Deletes events committed before `beforeMs` (the retention window) and, beyond those,
    /// all but the newest `keep`; records the highest revision deleted; returns how many were
    /// deleted. The current revision survives (see `currentRevision`).
    package func pruneEvents(committedBefore beforeMs: Int64, keepingNewest keep: Int = .max) throws(StoreError) -> Int {
        try write { tx in
            let byAge = try tx.db.queryOne(
                "SELECT max(revision) FROM event_log WHERE committed_at_ms < ?", beforeMs, row: { $0.optionalInt64(0) }) ?? nil
            let byCount = keep == .max ? nil : try tx.db.queryOne(
                "SELECT revision FROM event_log ORDER BY revision DESC LIMIT 1 OFFSET ?", Int64(min(keep, Int(Int64.max))),
                row: { $0.optionalInt64(0) }) ?? nil
            guard let last = [byAge, byCount].compactMap({ $0 }).max() else { return 0 }
            let deleted = try tx.db.run("DELETE FROM event_log WHERE revision <= ?", last)
            try tx.db.run(
                "INSERT INTO store_meta (key, value) VALUES ('events_pruned_through', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                String(last))
            return deleted
        }
    }

    /// The highest revision ever committed, which survives deleting the newest rows
    /// (`SQLDialect.currentRevision`).
    static func currentRevision(_ db: any SQLDatabase) throws -> Int64 {
        try db.queryOne(db.dialect.currentRevision) { $0.int64(0) } ?? 0
    }

    static func prunedThrough(_ db: any SQLDatabase) throws -> Int64 {
        try db.queryOne("SELECT value FROM store_meta WHERE key = 'events_pruned_through'") { Int64($0.string(0)) ?? 0 } ?? 0
    }
}
