import CellHub
/// The SELECT column lists and row decoders for every record, and the lookups shared by the
/// read and write sides. A column list and its decoder sit next to each other so their
/// column indexes cannot drift apart.
enum Rows {
    // MARK: Users

    static let userColumns = "u.id, u.name, u.is_worker, u.created_at_ms, u.revoked_at_ms"

    static func user(_ row: any SQLRow) -> UserRecord {
        UserRecord(
            id: row.string(0), name: row.string(1), isWorker: row.bool(2),
            createdAtMs: row.int64(3), revokedAtMs: row.optionalInt64(4))
    }

    static func user(_ db: any SQLDatabase, id: String) throws -> UserRecord? {
        try db.queryOne("SELECT \(userColumns) FROM users u WHERE u.id = ?", id, row: user)
    }

    // MARK: Counters

    /// Columns of `project_counters` (11, unqualified so RETURNING can use them too).
    static let counterColumns = """
        project_id, image_count, no_segmentation, queued, processing, segmented, failed, total_bytes,
        last_image_added_at_ms, last_segmentation_completed_at_ms, updated_at_ms, revision
        """

    static let qualifiedCounterColumns = """
        c.project_id, c.image_count, c.no_segmentation, c.queued, c.processing, c.segmented, c.failed,
        c.total_bytes, c.last_image_added_at_ms, c.last_segmentation_completed_at_ms, c.updated_at_ms, c.revision
        """

    static func counters(_ row: any SQLRow, at first: Int) -> ProjectCounters {
        ProjectCounters(
            projectID: row.string(first), imageCount: row.int64(first + 1), noSegmentation: row.int64(first + 2),
            queued: row.int64(first + 3), processing: row.int64(first + 4), segmented: row.int64(first + 5),
            failed: row.int64(first + 6), totalBytes: row.int64(first + 7),
            lastImageAddedAtMs: row.int64(first + 8), lastSegmentationCompletedAtMs: row.int64(first + 9),
            updatedAtMs: row.int64(first + 10), revision: row.int64(first + 11))
    }

    static func counters(_ db: any SQLDatabase, projectID: String) throws -> ProjectCounters? {
        try db.queryOne("SELECT \(counterColumns) FROM project_counters WHERE project_id = ?", projectID) {
            counters($0, at: 0)
        }
    }

    // MARK: Projects

    /// A project with owner, counters and share count; `role` is the caller's role column
    /// (`m.role` of a joined membership) or `NULL` when read without a caller.
    static func projectColumns(role: String = "m.role") -> String {
        """
        p.id, p.owner_id, o.name, p.name, p.description, p.created_at_ms, p.updated_at_ms, \(role),
        (SELECT count(*) FROM project_members s WHERE s.project_id = p.id) - 1,
        \(qualifiedCounterColumns)
        """
    }

    static let projectJoins = """
        JOIN users o ON o.id = p.owner_id
        JOIN project_counters c ON c.project_id = p.id
        """

    static func project(_ row: any SQLRow) -> ProjectRecord {
        ProjectRecord(
            id: row.string(0), owner: UserRef(id: row.string(1), name: row.string(2)), name: row.string(3),
            description: row.string(4), createdAtMs: row.int64(5), updatedAtMs: row.int64(6),
            callerRole: row.optionalString(7).map(MemberRole.stored), shareCount: row.int(8),
            counters: counters(row, at: 9))
    }

    /// The project as `callerID` sees it (nil when they are not a member), or without a
    /// caller role when `callerID` is nil.
    static func project(_ db: any SQLDatabase, id: String, callerID: String?) throws -> ProjectRecord? {
        if let callerID {
            return try db.queryOne(
                """
                SELECT \(projectColumns()) FROM projects p
                JOIN project_members m ON m.project_id = p.id AND m.user_id = ?
                \(projectJoins) WHERE p.id = ?
                """, callerID, id, row: project)
        }
        return try db.queryOne(
            "SELECT \(projectColumns(role: "NULL")) FROM projects p \(projectJoins) WHERE p.id = ?",
            id, row: project)
    }

    // MARK: Members

    static let memberColumns = """
        m.project_id, m.user_id, u.name, m.role, m.role_changed_at_ms, m.granted_by, g.name
        """

    static func member(_ row: any SQLRow) -> MemberRecord {
        MemberRecord(
            projectID: row.string(0), user: UserRef(id: row.string(1), name: row.string(2)),
            role: MemberRole.stored(row.string(3)), sharedAtMs: row.int64(4),
            sharedBy: UserRef(id: row.string(5), name: row.string(6)))
    }

    /// Owner first, then shares in the order they were granted (a role change keeps the
    /// place: the row and its created_at_ms stay).
    static func members(_ db: any SQLDatabase, projectID: String) throws -> [MemberRecord] {
        try db.query(
            """
            SELECT \(memberColumns) FROM project_members m
            JOIN users u ON u.id = m.user_id JOIN users g ON g.id = m.granted_by
            WHERE m.project_id = ? ORDER BY m.role <> 'owner', m.created_at_ms, m.\(db.dialect.memberOrder)
            """, projectID, row: member)
    }

    static func member(_ db: any SQLDatabase, projectID: String, userID: String) throws -> MemberRecord? {
        try db.queryOne(
            """
            SELECT \(memberColumns) FROM project_members m
            JOIN users u ON u.id = m.user_id JOIN users g ON g.id = m.granted_by
            WHERE m.project_id = ? AND m.user_id = ?
            """, projectID, userID, row: member)
    }

    // MARK: Images

    static let imageColumns = """
        i.id, i.project_id, i.name, i.content_type, i.size_bytes, i.sha256, i.status, i.uploaded_at_ms,
        i.uploader_id, u.name, i.status_changed_at_ms, i.segmented_at_ms, i.job_id, i.cell_count, i.failure_reason
        """

    static let imageJoins = "JOIN users u ON u.id = i.uploader_id"

    /// `imageColumns` for the RETURNING clause of an UPDATE of `images` (no join there: the
    /// uploader's name comes from a subquery).
    static let imageReturning = """
        id, project_id, name, content_type, size_bytes, sha256, status, uploaded_at_ms,
        uploader_id, (SELECT name FROM users WHERE users.id = uploader_id), status_changed_at_ms, segmented_at_ms, job_id,
        cell_count, failure_reason
        """

    static func image(_ row: any SQLRow) -> ImageRecord {
        ImageRecord(
            id: row.string(0), projectID: row.string(1), name: row.string(2), contentType: row.string(3),
            sizeBytes: row.int64(4), sha256Hex: row.string(5), status: ImageStatus.stored(row.int64(6)),
            uploadedAtMs: row.int64(7), uploadedBy: UserRef(id: row.string(8), name: row.string(9)),
            statusChangedAtMs: row.int64(10), segmentedAtMs: row.int64(11), jobID: row.optionalString(12),
            cellCount: row.int64(13), failureReason: row.string(14))
    }

    static func image(_ db: any SQLDatabase, id: String) throws -> ImageRecord? {
        try db.queryOne("SELECT \(imageColumns) FROM images i \(imageJoins) WHERE i.id = ?", id, row: image)
    }

    // MARK: Jobs

    /// The columns `job(_:)` reads, in its order.
    private static let jobColumnNames = [
        "id", "image_id", "project_id", "batch_id", "status", "priority", "model", "attempts", "max_attempts",
        "requested_by", "lease_id", "lease_owner", "lease_expires_at_ms", "enqueued_at_ms", "started_at_ms",
        "finished_at_ms", "processing_ms", "error", "seq",
    ]
    /// For `SELECT … FROM segmentation_jobs j`.
    static let jobColumns = jobColumnNames.map { "j.\($0)" }.joined(separator: ", ")
    /// For `UPDATE segmentation_jobs … RETURNING`: the row as the update left it, without
    /// reading it again.
    static let jobReturning = jobColumnNames.joined(separator: ", ")

    static func job(_ row: any SQLRow) -> JobRecord {
        JobRecord(
            id: row.string(0), imageID: row.string(1), projectID: row.string(2), batchID: row.string(3),
            status: JobStatus.stored(row.int64(4)), priority: row.int(5), model: row.string(6),
            attempts: row.int(7), maxAttempts: row.int(8), requestedBy: row.string(9),
            leaseID: row.optionalString(10), workerName: row.optionalString(11),
            leaseExpiresAtMs: row.optionalInt64(12), enqueuedAtMs: row.int64(13), startedAtMs: row.int64(14),
            finishedAtMs: row.int64(15), processingMs: row.int64(16), error: row.string(17))
    }

    static func job(_ db: any SQLDatabase, id: String) throws -> JobRecord? {
        try db.queryOne("SELECT \(jobColumns) FROM segmentation_jobs j WHERE j.id = ?", id, row: job)
    }

    /// 1-based service-wide position of a queued job: the queued jobs that a claim would take
    /// before it (higher priority, or same priority and enqueued earlier), plus one; 0 when
    /// the job is unknown or not queued.
    static func queuePosition(_ db: any SQLDatabase, jobID: String) throws -> Int64 {
        guard let (priority, seq) = try db.queryOne(
            "SELECT priority, seq FROM segmentation_jobs WHERE id = ? AND status = 1", jobID, row: { ($0.int64(0), $0.int64(1)) }
        ) else { return 0 }
        return try queuePosition(db, priority: priority, seq: seq)
    }

    /// The position of the queued job (`priority`, `seq`): whole blocks of 1,024 sequence
    /// numbers from `queue_buckets` (every higher priority, and this priority's earlier
    /// blocks), then a count within the job's own block — O(blocks + 1,024), however long
    /// the queue.
    static func queuePosition(_ db: any SQLDatabase, priority: Int64, seq: Int64) throws -> Int64 {
        let block = seq >> 10
        return try db.queryOne(
            """
            SELECT 1
                + coalesce((SELECT sum(queued) FROM queue_buckets WHERE priority > ?1), 0)
                + coalesce((SELECT sum(queued) FROM queue_buckets WHERE priority = ?1 AND block < ?2), 0)
                + (SELECT count(*) FROM segmentation_jobs
                   WHERE status = 1 AND priority = ?1 AND seq >= ?2 << 10 AND seq < ?3)
            """, priority, block, seq) { $0.int64(0) } ?? 0
    }
}
