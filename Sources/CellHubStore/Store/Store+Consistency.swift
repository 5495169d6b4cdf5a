extension Store {
    /// Recomputes one project's counters from its rows and reports every difference (empty
    /// = consistent). Read-only: it repairs nothing.
    /// - Throws: `notFound(.project)`.
    package func recount(projectID: String) throws(StoreError) -> [Inconsistency] {
        try read { db in
            guard let counters = try Rows.counters(db, projectID: projectID) else {
                throw StoreError.notFound(.project, id: projectID)
            }
            return try Self.recount(counters, db)
        }
    }

    /// Recomputes every counter in the store from the rows it summarises — each project's
    /// counters and activity buckets, the service-wide queue, blob reference counts — and
    /// checks the membership invariants, in one snapshot. Empty = consistent. For
    /// `cellhubd check` and the tests; O(rows).
    package func checkConsistency() throws(StoreError) -> [Inconsistency] {
        try read { db in
            var found: [Inconsistency] = []
            let projects = try db.query("SELECT id FROM projects ORDER BY id") { $0.string(0) }
            for projectID in projects {
                guard let counters = try Rows.counters(db, projectID: projectID) else {
                    found.append(Inconsistency(scope: "project \(projectID)", field: "counters row", stored: 0, actual: 1))
                    continue
                }
                found += try Self.recount(counters, db)
                let owners = try db.queryOne(
                    """
                    SELECT count(*), coalesce(sum(m.user_id = p.owner_id), 0) FROM project_members m
                    JOIN projects p ON p.id = m.project_id WHERE m.project_id = ? AND m.role = 'owner'
                    """, projectID) { ($0.int64(0), $0.int64(1)) } ?? (0, 0)
                if owners != (1, 1) {
                    found.append(Inconsistency(scope: "project \(projectID)", field: "owner memberships", stored: owners.0, actual: 1))
                }
            }
            let (queued, processing) = try db.queryOne("SELECT queued, processing FROM queue_counters WHERE id = 1") {
                ($0.int64(0), $0.int64(1))
            } ?? (0, 0)
            let (openQueued, openProcessing) = try db.queryOne(
                "SELECT coalesce(sum(status = 1), 0), coalesce(sum(status = 2), 0) FROM segmentation_jobs"
            ) { ($0.int64(0), $0.int64(1)) } ?? (0, 0)
            found += Self.compare("queue", [("queued", queued, openQueued), ("processing", processing, openProcessing)])
            let blobs = try db.query(
                """
                SELECT b.sha256, b.ref_count, (SELECT count(*) FROM images i WHERE i.sha256 = b.sha256) FROM blobs b
                UNION ALL
                SELECT i.sha256, 0, count(*) FROM images i WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = i.sha256)
                GROUP BY i.sha256
                ORDER BY 1
                """
            ) { (sha256: $0.string(0), stored: $0.int64(1), actual: $0.int64(2)) }
            for blob in blobs where blob.stored != blob.actual || blob.stored == 0 {
                found.append(Inconsistency(scope: "blob \(blob.sha256)", field: "ref_count", stored: blob.stored, actual: blob.actual))
            }
            return found
        }
    }

    private static func recount(_ counters: ProjectCounters, _ db: SQLiteConnection) throws -> [Inconsistency] {
        let projectID = counters.projectID
        let scope = "project \(projectID)"
        let images = try db.queryOne(
            """
            SELECT count(*), coalesce(sum(status = 1), 0), coalesce(sum(status = 2), 0), coalesce(sum(status = 3), 0),
                   coalesce(sum(status = 4), 0), coalesce(sum(status = 5), 0), coalesce(sum(size_bytes), 0),
                   coalesce(max(uploaded_at_ms), 0)
            FROM images WHERE project_id = ?
            """, projectID
        ) { row in (0..<8).map { row.int64($0) } }!
        let jobs = try db.queryOne(
            """
            SELECT coalesce(sum(status = 1), 0), coalesce(sum(status = 2), 0),
                   coalesce(max(CASE WHEN status = 3 THEN finished_at_ms END), 0)
            FROM segmentation_jobs WHERE project_id = ?
            """, projectID
        ) { row in (0..<3).map { row.int64($0) } }!
        var found = compare(scope, [
            ("image_count", counters.imageCount, images[0]),
            ("no_segmentation", counters.noSegmentation, images[1]),
            ("queued", counters.queued, images[2]),
            ("processing", counters.processing, images[3]),
            ("segmented", counters.segmented, images[4]),
            ("failed", counters.failed, images[5]),
            ("total_bytes", counters.totalBytes, images[6]),
            // Image statuses QUEUED/PROCESSING and open jobs are one-to-one.
            ("queued jobs", counters.queued, jobs[0]),
            ("processing jobs", counters.processing, jobs[1]),
            ("last_segmentation_completed_at_ms", counters.lastSegmentationCompletedAtMs, jobs[2]),
        ])
        // Not reset by deletes, so it can only be checked from below.
        if counters.lastImageAddedAtMs < images[7] {
            found.append(Inconsistency(scope: scope, field: "last_image_added_at_ms", stored: counters.lastImageAddedAtMs, actual: images[7]))
        }
        // Buckets: uploads of existing images and completed jobs, per 15 minutes.
        let width = ActivityBucket.widthMs
        let buckets = try db.query(
            """
            SELECT quarter_hour, sum(stored_uploaded), sum(stored_completed), sum(uploaded), sum(completed) FROM (
                SELECT quarter_hour, uploaded AS stored_uploaded, completed AS stored_completed, 0 AS uploaded, 0 AS completed
                FROM project_activity_counters WHERE project_id = ?1
                UNION ALL
                SELECT uploaded_at_ms / ?2, 0, 0, 1, 0 FROM images WHERE project_id = ?1
                UNION ALL
                SELECT finished_at_ms / ?2, 0, 0, 0, 1 FROM segmentation_jobs WHERE project_id = ?1 AND status = 3)
            GROUP BY quarter_hour ORDER BY quarter_hour
            """, projectID, width
        ) { row in (row.int64(0), row.int64(1), row.int64(2), row.int64(3), row.int64(4)) }
        for (quarter, storedUploaded, storedCompleted, uploaded, completed) in buckets {
            found += compare(scope, [
                ("uploaded@quarter_hour \(quarter)", storedUploaded, uploaded),
                ("completed@quarter_hour \(quarter)", storedCompleted, completed),
            ])
        }
        return found
    }

    private static func compare(_ scope: String, _ fields: [(String, Int64, Int64)]) -> [Inconsistency] {
        fields.filter { $0.1 != $0.2 }.map { Inconsistency(scope: scope, field: $0.0, stored: $0.1, actual: $0.2) }
    }
}
