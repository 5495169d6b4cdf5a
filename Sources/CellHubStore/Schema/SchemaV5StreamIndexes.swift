/// Migration "v5-stream-indexes": what the live streams read.
///
/// - Activity streams read a feed's entries by revision (live delivery after each change,
///   and a resume's replay): (user_id, revision) finds them without walking the whole feed.
/// - Event-log rows are pruned by commit time (the retention window).
enum SchemaV5StreamIndexes {
    static let sql = """
        CREATE INDEX IF NOT EXISTS activity_entries_by_revision ON activity_entries(user_id, revision);
        CREATE INDEX IF NOT EXISTS event_log_by_time ON event_log(committed_at_ms);
        """
}
