import CellHub
/// Migration "v2-activity-feed": each user's activity feed (ListActivity, and the backlog
/// of the activity stream), fanned out on write.
///
/// Design notes:
/// - One row per recipient and operation (a lease sweep finishing two batches is one
///   operation with two entries per member), written in the operation's transaction: the
///   recipients are the members at that moment (a later share does not reveal earlier
///   entries; a revoked member keeps what they saw), and reading a page is one range scan.
///   `seq` is insertion order, hence revision order (writes are serialised): the paging key.
/// - No foreign keys to projects or users: entries outlive a deleted project (its former
///   members get PROJECT_DELETED); users are never deleted (only revoked), so names resolve
///   by a join when read.
/// - `counters` is the project's counters row after the change (Rows.encodeCounters), for
///   the entries whose payload carries the project's stats.
/// - Databases created before this migration start with empty feeds.
enum SchemaV2Activity {
    static let sql = """
        CREATE TABLE activity_entries (
            seq INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            committed_at_ms INTEGER NOT NULL,
            kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 4),
            activity INTEGER NOT NULL CHECK (activity BETWEEN 0 AND 7),
            project_id TEXT NOT NULL,
            project_name TEXT NOT NULL,
            owner_id TEXT NOT NULL,
            actor_id TEXT,
            image_count INTEGER NOT NULL,
            sample_names TEXT NOT NULL,
            failed_count INTEGER NOT NULL,
            duration_ms INTEGER NOT NULL,
            shared_with_id TEXT,
            role TEXT CHECK (role IN ('owner', 'editor', 'viewer')),
            previous_role TEXT CHECK (previous_role IN ('owner', 'editor', 'viewer')),
            left_project INTEGER NOT NULL CHECK (left_project IN (0, 1)),
            counters BLOB
        ) STRICT;
        CREATE INDEX activity_entries_by_user ON activity_entries(user_id, seq);
        CREATE INDEX activity_entries_by_project ON activity_entries(user_id, project_id, seq);
        """
}
