extension Store {
    /// A project's counters: one primary-key read.
    package func counters(projectID: String) throws(StoreError) -> ProjectCounters? {
        try read { db in try Rows.counters(db, projectID: projectID) }
    }

    /// The counter-based dashboard of `userID` over every project they own or are a member
    /// of, in one query: their memberships (index range) joined to each project's counters
    /// and creation time, plus two primary-key range sums over that project's 15-minute
    /// activity buckets. Cost: O(visible projects), independent of the number of images.
    ///
    /// `todayStartMs` and `weekStartMs` are the caller's local midnight today and Monday
    /// 00:00 this week as UTC milliseconds (the domain converts from the IANA zone). They
    /// should fall on a 15-minute boundary — every real local midnight does; otherwise the
    /// bucket containing them is counted whole.
    package func dashboard(userID: String, todayStartMs: Int64, weekStartMs: Int64) throws(StoreError) -> DashboardAggregates {
        let todayBucket = ActivityBucket.quarterHour(todayStartMs)
        return try read { db in
            let aggregates = try db.queryOne(
                """
                SELECT
                    coalesce(sum(m.role = 'owner'), 0), coalesce(sum(m.role <> 'owner'), 0),
                    coalesce(sum(c.image_count), 0), coalesce(sum(c.no_segmentation), 0), coalesce(sum(c.queued), 0),
                    coalesce(sum(c.processing), 0), coalesce(sum(c.segmented), 0), coalesce(sum(c.failed), 0),
                    coalesce(sum(c.total_bytes), 0),
                    coalesce(sum((SELECT sum(a.uploaded) FROM project_activity_counters a
                                  WHERE a.project_id = m.project_id AND a.quarter_hour >= ?2)), 0),
                    coalesce(sum((SELECT sum(a.completed) FROM project_activity_counters a
                                  WHERE a.project_id = m.project_id AND a.quarter_hour >= ?2)), 0),
                    coalesce(sum(p.created_at_ms >= ?3), 0)
                FROM project_members m
                JOIN project_counters c ON c.project_id = m.project_id
                JOIN projects p ON p.id = m.project_id
                WHERE m.user_id = ?1
                """, userID, todayBucket, weekStartMs
            ) { row in
                DashboardAggregates(
                    projectsOwned: row.int64(0), projectsSharedWithMe: row.int64(1), totalImages: row.int64(2),
                    noSegmentation: row.int64(3), queued: row.int64(4), processing: row.int64(5),
                    segmented: row.int64(6), failed: row.int64(7), storageBytes: row.int64(8),
                    imagesUploadedToday: row.int64(9), segmentationsCompletedToday: row.int64(10),
                    projectsCreatedThisWeek: row.int64(11), revision: 0)
            }
            guard var aggregates else { preconditionFailure("an aggregate query returned no row") }
            aggregates.revision = try Self.currentRevision(db)
            return aggregates
        }
    }

    /// The service-wide queue (O(1) from its counter row) and a scope's share of it: one
    /// project, or every project `userID` can see, or (both nil) the whole service. The
    /// position walks the claim index in queue order to the scope's first queued job.
    package func queueStats(projectID: String? = nil, userID: String? = nil) throws(StoreError) -> QueueStats {
        try read { db in
            let (queued, processing) = try db.queryOne("SELECT queued, processing FROM queue_counters WHERE id = 1") {
                ($0.int64(0), $0.int64(1))
            } ?? (0, 0)
            let scope: String
            let arguments: [any SQLiteBindable]
            if let projectID {
                scope = "j.project_id = ?"
                arguments = [projectID]
            } else if let userID {
                scope = "j.project_id IN (SELECT project_id FROM project_members WHERE user_id = ?)"
                arguments = [userID]
            } else {
                scope = "1"
                arguments = []
            }
            let (scopeQueued, scopeProcessing) = try db.queryOne(
                "SELECT coalesce(sum(j.status = 1), 0), coalesce(sum(j.status = 2), 0) FROM segmentation_jobs j WHERE j.status IN (1, 2) AND \(scope)",
                arguments: arguments
            ) { ($0.int64(0), $0.int64(1)) } ?? (0, 0)
            let first = try db.queryOne(
                "SELECT j.id FROM segmentation_jobs j WHERE j.status = 1 AND \(scope) ORDER BY j.priority DESC, j.seq LIMIT 1",
                arguments: arguments
            ) { $0.string(0) }
            let position = try first.map { jobID throws(SQLiteError) in try Rows.queuePosition(db, jobID: jobID) } ?? 0
            return QueueStats(
                queued: queued, processing: processing, scopeQueued: scopeQueued, scopeProcessing: scopeProcessing,
                position: position)
        }
    }

    /// Processing-time and throughput figures over completed jobs of the projects `userID`
    /// can see (nil: the whole service): the mean processing time of the last 100, and how
    /// many completed at or after `sinceMs` (e.g. now − 10 min for the throughput).
    package func completionStats(userID: String?, sinceMs: Int64) throws(StoreError) -> CompletionStats {
        let scope = userID == nil ? "?1 IS NULL" : "j.project_id IN (SELECT project_id FROM project_members WHERE user_id = ?1)"
        return try read { db in
            let (average, samples) = try db.queryOne(
                """
                SELECT coalesce(avg(processing_ms), 0.0), count(*) FROM (
                    SELECT j.processing_ms FROM segmentation_jobs j WHERE j.status = 3 AND \(scope)
                    ORDER BY j.finished_at_ms DESC LIMIT 100)
                """, userID
            ) { ($0.double(0), $0.int(1)) } ?? (0, 0)
            let since = try db.queryOne(
                "SELECT count(*) FROM segmentation_jobs j WHERE j.status = 3 AND j.finished_at_ms >= ?2 AND \(scope)",
                userID, sinceMs
            ) { $0.int64(0) } ?? 0
            return CompletionStats(averageProcessingMs: average, sampleCount: samples, completedSince: since)
        }
    }
}
