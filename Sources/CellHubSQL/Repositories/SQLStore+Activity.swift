package import CellHub
extension SQLStore {
    /// One page of a user's activity feed, newest first: entries before `cursor` (nil = from
    /// the newest), optionally only about one project.
    package func activity(
        for userID: String, projectID: String? = nil, limit: Int, before cursor: ActivityCursor? = nil
    ) throws(StoreError) -> (entries: [ActivityEntry], next: ActivityCursor?) {
        precondition(limit >= 1, "page limit \(limit): a bug in CellHub")
        return try read { db in
            let rows = try db.query(
                """
                \(Rows.activitySelect)
                WHERE a.user_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR a.project_id = ?2)
                    AND (CAST(?3 AS BIGINT) IS NULL OR a.seq < ?3)
                ORDER BY a.seq DESC LIMIT ?4
                """, userID, projectID, cursor, limit + 1) { (entry: Rows.activityEntry($0), seq: $0.int64(21)) }
            let page = rows.prefix(limit)
            return (page.map(\.entry), rows.count > limit ? page.last?.seq : nil)
        }
    }
}

/// Who an operation's entries are about: the project as it was when the change committed.
struct ActivityProject {
    var id: String
    var name: String
    var ownerID: String

    /// Read inside the write transaction (before a delete removes the row).
    init?(_ db: any SQLDatabase, id: String) throws {
        guard let (name, ownerID) = try db.queryOne("SELECT name, owner_id FROM projects WHERE id = ?", id, row: {
            ($0.string(0), $0.string(1))
        }) else { return nil }
        self.init(id: id, name: name, ownerID: ownerID)
    }

    init(id: String, name: String, ownerID: String) {
        self.id = id
        self.name = name
        self.ownerID = ownerID
    }
}

extension Transaction {
    /// An entry about `project` at this transaction's revision and time; its recipient and
    /// kind are set when it is appended.
    func activity(
        _ activity: ActivityKind, about project: ActivityProject, actor: String?, revision: Int64
    ) -> ActivityEntry {
        ActivityEntry(
            recipientID: "", revision: revision, committedAtMs: now, kind: .ownAction, activity: activity,
            projectID: project.id, projectName: project.name, owner: UserRef(id: project.ownerID, name: ""),
            actor: actor.map { UserRef(id: $0, name: "") })
    }

    /// The usual fan-out of a change to a project: `entry` as the recipient's own action to
    /// `ownedBy` (when set), and as a shared-project update carrying `counters` to every
    /// other member — the current members, or `members` when given (a deleted project's
    /// former ones). The actor never gets a shared-project update about their own change.
    func appendProjectActivity(
        _ entry: ActivityEntry, ownedBy: String?, counters: ProjectCounters?, members: [String]? = nil
    ) throws {
        if let ownedBy {
            var own = entry
            own.recipientID = ownedBy
            own.kind = .ownAction
            try append(own)
        }
        let recipients = try members ?? db.query(
            "SELECT user_id FROM project_members WHERE project_id = ? ORDER BY user_id", entry.projectID) { $0.string(0) }
        var shared = entry
        shared.kind = .sharedProjectUpdate
        shared.counters = counters
        for recipient in recipients where recipient != ownedBy && recipient != entry.actor?.id {
            shared.recipientID = recipient
            try append(shared)
        }
    }

    /// Stores one entry (ids only: names are joined when read).
    func append(_ entry: ActivityEntry) throws {
        precondition(!entry.recipientID.isEmpty, "activity entry without a recipient: a bug in CellHub")
        try db.run(
            """
            INSERT INTO activity_entries (user_id, revision, committed_at_ms, kind, activity, project_id, project_name,
                owner_id, actor_id, image_count, sample_names, failed_count, duration_ms, shared_with_id, role,
                previous_role, left_project, counters)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            arguments: [
                entry.recipientID, entry.revision, entry.committedAtMs, entry.kind.rawValue, entry.activity.rawValue,
                entry.projectID, entry.projectName, entry.owner.id, entry.actor?.id, entry.imageCount,
                // Image names never hold control characters (validated), so a newline separates them.
                entry.sampleImageNames.prefix(ActivityEntry.maxSampleNames).joined(separator: "\n"),
                entry.failedCount, entry.durationMs, entry.sharedWith?.id, entry.role?.rawValue,
                entry.previousRole?.rawValue, entry.left, entry.counters.map(Rows.encodeCounters),
            ])
    }
}

extension Rows {
    /// The columns `activityEntry` decodes (column 21 is the entry's `seq`, 22 its number
    /// among the recipient's entries of the same revision).
    static let activitySelect = """
        SELECT a.user_id, a.revision, a.committed_at_ms, a.kind, a.activity, a.project_id, a.project_name,
               a.owner_id, o.name, a.actor_id, x.name, a.image_count, a.sample_names, a.failed_count,
               a.duration_ms, a.shared_with_id, w.name, a.role, a.previous_role, a.left_project, a.counters,
               a.seq,
               (SELECT count(*) FROM activity_entries b WHERE b.user_id = a.user_id AND b.revision = a.revision AND b.seq <= a.seq)
        FROM activity_entries a
        JOIN users o ON o.id = a.owner_id
        LEFT JOIN users x ON x.id = a.actor_id
        LEFT JOIN users w ON w.id = a.shared_with_id
        """

    static func activityEntry(_ row: any SQLRow) -> ActivityEntry {
        func ref(_ id: Int, _ name: Int) -> UserRef? {
            row.optionalString(id).map { UserRef(id: $0, name: row.optionalString(name) ?? "") }
        }
        let projectID = row.string(5)
        let names = row.string(12)
        return ActivityEntry(
            recipientID: row.string(0), revision: row.int64(1), committedAtMs: row.int64(2),
            kind: ActivityEntryKind(rawValue: row.int64(3)) ?? .ownAction,
            activity: ActivityKind(rawValue: row.int64(4)) ?? .none, projectID: projectID,
            projectName: row.string(6), owner: UserRef(id: row.string(7), name: row.string(8)), actor: ref(9, 10),
            imageCount: row.int64(11),
            sampleImageNames: names.isEmpty ? [] : names.split(separator: "\n", omittingEmptySubsequences: false).map(String.init),
            failedCount: row.int64(13), durationMs: row.int64(14), sharedWith: ref(15, 16),
            role: row.optionalString(17).map(MemberRole.stored), previousRole: row.optionalString(18).map(MemberRole.stored),
            left: row.bool(19), counters: row.isNull(20) ? nil : Rows.decodeCounters(row.blob(20), projectID: projectID),
            sequence: UInt32(clamping: row.int64(22)))
    }

    /// A counters row as ten little-endian Int64s (the project id is the entry's own).
    static func encodeCounters(_ counters: ProjectCounters) -> [UInt8] {
        let values = [
            counters.imageCount, counters.noSegmentation, counters.queued, counters.processing, counters.segmented,
            counters.failed, counters.totalBytes, counters.lastImageAddedAtMs, counters.lastSegmentationCompletedAtMs,
            counters.updatedAtMs, counters.revision,
        ]
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 8)
        for value in values {
            withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
        }
        return bytes
    }

    /// The inverse of `encodeCounters`; nil for a blob of another length.
    static func decodeCounters(_ bytes: [UInt8], projectID: String) -> ProjectCounters? {
        guard bytes.count == 11 * 8 else { return nil }
        let values = (0..<11).map { index in
            bytes[index * 8..<index * 8 + 8].reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
        return ProjectCounters(
            projectID: projectID, imageCount: values[0], noSegmentation: values[1], queued: values[2],
            processing: values[3], segmented: values[4], failed: values[5], totalBytes: values[6],
            lastImageAddedAtMs: values[7], lastSegmentationCompletedAtMs: values[8], updatedAtMs: values[9],
            revision: values[10])
    }
}
