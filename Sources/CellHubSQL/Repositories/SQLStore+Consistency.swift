package import CellHub
extension SQLStore {
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
                    SELECT count(*), coalesce(sum(CASE WHEN m.user_id = p.owner_id THEN 1 ELSE 0 END), 0) FROM project_members m
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
                """
                SELECT coalesce(sum(CASE WHEN status = 1 THEN 1 ELSE 0 END), 0),
                       coalesce(sum(CASE WHEN status = 2 THEN 1 ELSE 0 END), 0)
                FROM segmentation_jobs
                """
            ) { ($0.int64(0), $0.int64(1)) } ?? (0, 0)
            found += Self.compare("queue", [("queued", queued, openQueued), ("processing", processing, openProcessing)])
            found += try Self.recountUsers(db)
            found += try Self.recountQueueBlocks(db)
            found += try Self.recountCompletionMinutes(db)
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

    private static func recount(_ counters: ProjectCounters, _ db: any SQLDatabase) throws -> [Inconsistency] {
        let projectID = counters.projectID
        let scope = "project \(projectID)"
        let images = try db.queryOne(
            """
            SELECT count(*), coalesce(sum(CASE WHEN status = 1 THEN 1 ELSE 0 END), 0),
                   coalesce(sum(CASE WHEN status = 2 THEN 1 ELSE 0 END), 0),
                   coalesce(sum(CASE WHEN status = 3 THEN 1 ELSE 0 END), 0),
                   coalesce(sum(CASE WHEN status = 4 THEN 1 ELSE 0 END), 0),
                   coalesce(sum(CASE WHEN status = 5 THEN 1 ELSE 0 END), 0), coalesce(sum(size_bytes), 0),
                   coalesce(max(uploaded_at_ms), 0)
            FROM images WHERE project_id = ?
            """, projectID
        ) { row in (0..<8).map { row.int64($0) } }!
        let jobs = try db.queryOne(
            """
            SELECT coalesce(sum(CASE WHEN status = 1 THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN status = 2 THEN 1 ELSE 0 END), 0),
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
                SELECT finished_at_ms / ?2, 0, 0, 0, 1 FROM segmentation_jobs WHERE project_id = ?1 AND status = 3) AS counted
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

    /// Each user's counters and activity buckets against the sums over their memberships,
    /// and each member row's copies of its project's queued count and last completion.
    private static func recountUsers(_ db: any SQLDatabase) throws -> [Inconsistency] {
        var found: [Inconsistency] = []
        let fields = ["projects_owned", "projects_shared", "image_count", "no_segmentation", "queued", "processing",
                      "segmented", "failed", "total_bytes"]
        let users = try db.query(
            """
            SELECT u.id, coalesce(s.projects_owned, -1), coalesce(s.projects_shared, -1), coalesce(s.image_count, -1),
                   coalesce(s.no_segmentation, -1), coalesce(s.queued, -1), coalesce(s.processing, -1),
                   coalesce(s.segmented, -1), coalesce(s.failed, -1), coalesce(s.total_bytes, -1),
                   (SELECT count(*) FROM project_members m WHERE m.user_id = u.id AND m.role = 'owner'),
                   (SELECT count(*) FROM project_members m WHERE m.user_id = u.id AND m.role <> 'owner'),
                   r.image_count, r.no_segmentation, r.queued, r.processing, r.segmented, r.failed, r.total_bytes
            FROM users u
            LEFT JOIN user_counters s ON s.user_id = u.id
            JOIN (SELECT u2.id AS user_id, coalesce(sum(c.image_count), 0) AS image_count,
                         coalesce(sum(c.no_segmentation), 0) AS no_segmentation, coalesce(sum(c.queued), 0) AS queued,
                         coalesce(sum(c.processing), 0) AS processing, coalesce(sum(c.segmented), 0) AS segmented,
                         coalesce(sum(c.failed), 0) AS failed, coalesce(sum(c.total_bytes), 0) AS total_bytes
                  FROM users u2 LEFT JOIN project_members m ON m.user_id = u2.id
                  LEFT JOIN project_counters c ON c.project_id = m.project_id GROUP BY u2.id) r ON r.user_id = u.id
            ORDER BY u.id
            """
        ) { row in (row.string(0), (1...18).map { row.int64($0) }) }
        for (userID, values) in users {
            found += compare("user \(userID)", fields.indices.map { (fields[$0], values[$0], values[$0 + 9]) })
        }
        let buckets = try db.query(
            """
            SELECT user_id, quarter_hour, sum(su), sum(sc), sum(sp), sum(u), sum(c), sum(p) FROM (
                SELECT user_id, quarter_hour, uploaded AS su, completed AS sc, projects_created AS sp, 0 AS u, 0 AS c, 0 AS p
                FROM user_activity_counters
                UNION ALL
                SELECT m.user_id, a.quarter_hour, 0, 0, 0, a.uploaded, a.completed, 0
                FROM project_members m JOIN project_activity_counters a ON a.project_id = m.project_id
                UNION ALL
                SELECT m.user_id, p.created_at_ms / ?1, 0, 0, 0, 0, 0, 1
                FROM project_members m JOIN projects p ON p.id = m.project_id) AS counted
            GROUP BY user_id, quarter_hour ORDER BY user_id, quarter_hour
            """, ActivityBucket.widthMs
        ) { row in (row.string(0), row.int64(1), (2...7).map { row.int64($0) }) }
        for (userID, quarter, values) in buckets {
            found += compare("user \(userID)", [
                ("uploaded@quarter_hour \(quarter)", values[0], values[3]),
                ("completed@quarter_hour \(quarter)", values[1], values[4]),
                ("projects_created@quarter_hour \(quarter)", values[2], values[5]),
            ])
        }
        let members = try db.query(
            """
            SELECT m.project_id, m.user_id, m.queued, c.queued, m.last_completed_at_ms, c.last_segmentation_completed_at_ms
            FROM project_members m JOIN project_counters c ON c.project_id = m.project_id
            WHERE m.queued <> c.queued OR m.last_completed_at_ms <> c.last_segmentation_completed_at_ms
            ORDER BY m.project_id, m.user_id
            """
        ) { row in (row.string(0), row.string(1), (2...5).map { row.int64($0) }) }
        for (projectID, userID, values) in members {
            found += compare("member \(userID) of project \(projectID)", [
                ("queued", values[0], values[1]), ("last_completed_at_ms", values[2], values[3]),
            ])
        }
        return found
    }

    /// Each project's completion minutes against its completed jobs: every stored row, and
    /// every minute with completions within the retention behind the project's latest row.
    private static func recountCompletionMinutes(_ db: any SQLDatabase) throws -> [Inconsistency] {
        let rows = try db.query(
            """
            WITH latest AS (SELECT project_id, max(minute) AS top FROM project_completion_minutes GROUP BY project_id),
                 actual AS (SELECT project_id, finished_at_ms / ?1 AS minute, count(*) AS n FROM segmentation_jobs
                            WHERE status = 3 GROUP BY project_id, finished_at_ms / ?1)
            SELECT project_id, minute, sum(stored), sum(n) FROM (
                SELECT project_id, minute, completed AS stored, 0 AS n FROM project_completion_minutes
                UNION ALL
                SELECT a.project_id, a.minute, 0, a.n FROM actual a LEFT JOIN latest l ON l.project_id = a.project_id
                WHERE l.top IS NULL OR a.minute >= l.top - ?2
                   OR EXISTS (SELECT 1 FROM project_completion_minutes b WHERE b.project_id = a.project_id AND b.minute = a.minute)) AS counted
            GROUP BY project_id, minute HAVING sum(stored) <> sum(n) ORDER BY project_id, minute
            """, CompletionMinute.widthMs, CompletionMinute.retention
        ) { row in (row.string(0), row.int64(1), row.int64(2), row.int64(3)) }
        return rows.map { Inconsistency(scope: "project \($0.0)", field: "completed@minute \($0.1)", stored: $0.2, actual: $0.3) }
    }

    /// The queue blocks against the queued jobs they count.
    private static func recountQueueBlocks(_ db: any SQLDatabase) throws -> [Inconsistency] {
        let blocks = try db.query(
            """
            SELECT priority, block, sum(stored), sum(actual) FROM (
                SELECT priority, block, queued AS stored, 0 AS actual FROM queue_buckets
                UNION ALL
                SELECT priority, seq >> 10, 0, 1 FROM segmentation_jobs WHERE status = 1) AS counted
            GROUP BY priority, block HAVING sum(stored) <> sum(actual) ORDER BY priority, block
            """
        ) { row in (row.int64(0), row.int64(1), row.int64(2), row.int64(3)) }
        return blocks.map { Inconsistency(scope: "queue", field: "queued@priority \($0.0) block \($0.1)", stored: $0.2, actual: $0.3) }
    }

    private static func compare(_ scope: String, _ fields: [(String, Int64, Int64)]) -> [Inconsistency] {
        fields.filter { $0.1 != $0.2 }.map { Inconsistency(scope: scope, field: $0.0, stored: $0.1, actual: $0.2) }
    }
}
