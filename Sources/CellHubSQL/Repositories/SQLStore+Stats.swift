package import CellHub
extension SQLStore {
    /// A project's counters: one primary-key read.
    package func counters(projectID: String) throws(StoreError) -> ProjectCounters? {
        try read { db in try Rows.counters(db, projectID: projectID) }
    }

    /// The counter-based dashboard of `userID` over every project they own or are a member
    /// of: one primary-key read of their user counters (moved with every change to those
    /// projects) and one primary-key range over their 15-minute activity buckets since the
    /// start of the week. Cost: independent of the number of projects and images.
    ///
    /// `todayStartMs` and `weekStartMs` are the caller's local midnight today and Monday
    /// 00:00 this week as UTC milliseconds (the domain converts from the IANA zone). They
    /// should fall on a 15-minute boundary — every real local midnight does; otherwise the
    /// bucket containing them is counted whole.
    package func dashboard(userID: String, todayStartMs: Int64, weekStartMs: Int64) throws(StoreError) -> DashboardAggregates {
        try read { db in try Self.dashboard(db, userID: userID, todayStartMs: todayStartMs, weekStartMs: weekStartMs) }
    }

    static func dashboard(_ db: any SQLDatabase, userID: String, todayStartMs: Int64, weekStartMs: Int64) throws -> DashboardAggregates {
        let todayBucket = ActivityBucket.quarterHour(todayStartMs)
        let weekBucket = ActivityBucket.quarterHour(weekStartMs)
        let totals = try db.queryOne(
            """
            SELECT projects_owned, projects_shared, image_count, no_segmentation, queued, processing, segmented,
                   failed, total_bytes
            FROM user_counters WHERE user_id = ?
            """, userID
        ) { row in (0..<9).map { row.int64($0) } } ?? Array(repeating: 0, count: 9)
        let activity = try db.queryOne(
            """
            SELECT coalesce(sum(CASE WHEN quarter_hour >= ?2 THEN uploaded END), 0),
                   coalesce(sum(CASE WHEN quarter_hour >= ?2 THEN completed END), 0),
                   coalesce(sum(CASE WHEN quarter_hour >= ?3 THEN projects_created END), 0)
            FROM user_activity_counters WHERE user_id = ?1 AND quarter_hour >= ?4
            """, userID, todayBucket, weekBucket, min(todayBucket, weekBucket)
        ) { row in (0..<3).map { row.int64($0) } } ?? [0, 0, 0]
        return DashboardAggregates(
            projectsOwned: totals[0], projectsSharedWithMe: totals[1], totalImages: totals[2],
            noSegmentation: totals[3], queued: totals[4], processing: totals[5], segmented: totals[6],
            failed: totals[7], storageBytes: totals[8], imagesUploadedToday: activity[0],
            segmentationsCompletedToday: activity[1], projectsCreatedThisWeek: activity[2],
            revision: try Self.currentRevision(db))
    }

    /// The service-wide queue (O(1) from its counter row) and a scope's share of it: one
    /// project, or every project `userID` can see, or (both nil) the whole service. Scope
    /// counts come from counter rows; the position of the scope's first queued job from the
    /// queue blocks (see `Rows.queuePosition`).
    package func queueStats(projectID: String? = nil, userID: String? = nil) throws(StoreError) -> QueueStats {
        try read { db in try Self.queueStats(db, projectID: projectID, userID: userID) }
    }

    static func queueStats(_ db: any SQLDatabase, projectID: String?, userID: String?) throws -> QueueStats {
        let (queued, processing) = try db.queryOne("SELECT queued, processing FROM queue_counters WHERE id = 1") {
            ($0.int64(0), $0.int64(1))
        } ?? (0, 0)
        let scope: (queued: Int64, processing: Int64)
        let head: (priority: Int64, seq: Int64)?
        if let projectID {
            scope = try db.queryOne("SELECT queued, processing FROM project_counters WHERE project_id = ?", projectID) {
                ($0.int64(0), $0.int64(1))
            } ?? (0, 0)
            head = scope.queued > 0 ? try Self.queueHead(db, projectID: projectID) : nil
        } else if let userID {
            scope = try db.queryOne("SELECT queued, processing FROM user_counters WHERE user_id = ?", userID) {
                ($0.int64(0), $0.int64(1))
            } ?? (0, 0)
            // Each project with queued jobs has its head in the partial index; the
            // scope's head is the first of those in claim order.
            head = scope.queued == 0 ? nil : try db.queryOne(
                """
                SELECT j.priority, j.seq FROM project_members m
                JOIN segmentation_jobs j ON j.seq = (
                    SELECT q.seq FROM segmentation_jobs q WHERE q.project_id = m.project_id AND q.status = 1
                    ORDER BY q.priority DESC, q.seq LIMIT 1)
                WHERE m.user_id = ? AND m.queued > 0
                ORDER BY j.priority DESC, j.seq LIMIT 1
                """, userID) { ($0.int64(0), $0.int64(1)) }
        } else {
            scope = (queued, processing)
            head = try db.queryOne(
                "SELECT priority, seq FROM segmentation_jobs WHERE status = 1 ORDER BY priority DESC, seq LIMIT 1"
            ) { ($0.int64(0), $0.int64(1)) }
        }
        let position = try head.map { head throws in
            try Rows.queuePosition(db, priority: head.priority, seq: head.seq)
        } ?? 0
        return QueueStats(
            queued: queued, processing: processing, scopeQueued: scope.queued, scopeProcessing: scope.processing,
            position: position)
    }

    /// Processing-time and throughput figures over completed jobs of the projects `userID`
    /// can see (nil: the whole service): the mean processing time of the last 100, and how
    /// many completed at or after `sinceMs` (e.g. now − 10 min for the throughput).
    ///
    /// The count since `sinceMs` sums the per-minute completion rows of the whole minutes in
    /// the window and counts jobs only in the partial minute at its start. For a user, both
    /// figures walk only projects with completions that recent: their member rows carry each
    /// project's last completion time (partial index). The last 100 completions
    /// come from the (at most) 100 projects that completed last — any other project's last
    /// completion is older than 100 more recent ones — merged newest first, stopping at the
    /// first project whose last completion cannot enter the 100.
    package func completionStats(userID: String?, sinceMs: Int64) throws(StoreError) -> CompletionStats {
        try read { db in try Self.completionStats(db, userID: userID, sinceMs: sinceMs) }
    }

    static func completionStats(_ db: any SQLDatabase, userID: String?, sinceMs: Int64) throws -> CompletionStats {
        // Whole minutes from here on come from the minute rows; before it, from the jobs.
        let firstWholeMinute = CompletionMinute.of(sinceMs + CompletionMinute.widthMs - 1)
        let edgeEndMs = firstWholeMinute * CompletionMinute.widthMs
        guard let userID else {
            let (average, samples) = try db.queryOne(
                """
                SELECT coalesce(avg(processing_ms), 0.0), count(*) FROM (
                    SELECT processing_ms FROM segmentation_jobs WHERE status = 3 ORDER BY finished_at_ms DESC LIMIT 100) AS recent
                """
            ) { ($0.double(0), $0.int(1)) } ?? (0, 0)
            let since = try db.queryOne(
                """
                SELECT coalesce((SELECT sum(completed) FROM project_completion_minutes WHERE minute >= ?3), 0)
                     + (SELECT count(*) FROM segmentation_jobs WHERE status = 3 AND finished_at_ms >= ?1 AND finished_at_ms < ?2)
                """, sinceMs, edgeEndMs, firstWholeMinute
            ) { $0.int64(0) } ?? 0
            return CompletionStats(averageProcessingMs: average, sampleCount: samples, completedSince: since)
        }
        // `leftFirstJoin` keeps the member rows first (the planner would otherwise walk every
        // recent completion of the service); "> 0" lets it use the partial index.
        let since = try db.queryOne(
            """
            SELECT coalesce((SELECT sum(b.completed) FROM project_members m
                \(db.dialect.leftFirstJoin) project_completion_minutes b ON b.project_id = m.project_id AND b.minute >= ?4
                WHERE m.user_id = ?1 AND m.last_completed_at_ms > 0 AND m.last_completed_at_ms >= ?2), 0)
                 + (SELECT count(*) FROM project_members m
                \(db.dialect.leftFirstJoin) segmentation_jobs j ON j.project_id = m.project_id AND j.status = 3
                    AND j.finished_at_ms >= ?2 AND j.finished_at_ms < ?3
                WHERE m.user_id = ?1 AND m.last_completed_at_ms > 0 AND m.last_completed_at_ms >= ?2)
            """, userID, sinceMs, edgeEndMs, firstWholeMinute
        ) { $0.int64(0) } ?? 0
        let recent = try db.query(
            """
            SELECT project_id, last_completed_at_ms FROM project_members
            WHERE user_id = ? AND last_completed_at_ms > 0 ORDER BY last_completed_at_ms DESC LIMIT 100
            """, userID
        ) { ($0.string(0), $0.int64(1)) }
        var newest: [(finishedAtMs: Int64, processingMs: Int64)] = []
        for (projectID, lastCompletedAtMs) in recent {
            // Sorted newest first: once 100 are held, a project whose newest completion is
            // older than the 100th cannot contribute (ties are kept, as SQL would).
            let floor = newest.count >= 100 ? newest[99].finishedAtMs : 0
            if lastCompletedAtMs < floor { break }
            newest += try db.query(
                """
                SELECT finished_at_ms, processing_ms FROM segmentation_jobs
                WHERE project_id = ? AND status = 3 AND finished_at_ms >= ? ORDER BY finished_at_ms DESC LIMIT 100
                """, projectID, floor
            ) { ($0.int64(0), $0.int64(1)) }
            newest.sort { $0.finishedAtMs > $1.finishedAtMs }
            if newest.count > 100 { newest.removeLast(newest.count - 100) }
        }
        let average = newest.isEmpty ? 0 : Double(newest.reduce(0) { $0 + $1.processingMs }) / Double(newest.count)
        return CompletionStats(averageProcessingMs: average, sampleCount: newest.count, completedSince: since)
    }

    /// A user's dashboard figures — aggregates, queue, completions — from one snapshot, so
    /// they agree with each other and the read costs one transaction, not three.
    package func dashboardFigures(
        userID: String, todayStartMs: Int64, weekStartMs: Int64, completedSinceMs: Int64
    ) throws(StoreError) -> DashboardFigures {
        try read { db in
            DashboardFigures(
                aggregates: try Self.dashboard(db, userID: userID, todayStartMs: todayStartMs, weekStartMs: weekStartMs),
                queue: try Self.queueStats(db, projectID: nil, userID: userID),
                completions: try Self.completionStats(db, userID: userID, sinceMs: completedSinceMs))
        }
    }

    /// The first queued job of a project in claim order.
    private static func queueHead(_ db: any SQLDatabase, projectID: String) throws -> (priority: Int64, seq: Int64)? {
        try db.queryOne(
            "SELECT priority, seq FROM segmentation_jobs WHERE project_id = ? AND status = 1 ORDER BY priority DESC, seq LIMIT 1",
            projectID) { ($0.int64(0), $0.int64(1)) }
    }
}
