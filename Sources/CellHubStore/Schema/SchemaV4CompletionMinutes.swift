import CellHub
/// Migration "v4-completion-minutes": completions per project and minute, so the 10-minute
/// throughput reads at most ten rows per recently active project plus the jobs of one partial
/// minute, instead of every job completed in the window.
///
/// Design notes:
/// - Moved in the transaction of each completion, like the other counters; rows older than an
///   hour are dropped when the project completes again (only the last ten minutes are read).
/// - Backfilled from every completed job; `Store.checkConsistency` recounts each project's
///   last hour of rows.
enum SchemaV4CompletionMinutes {
    static let sql = """
        CREATE TABLE project_completion_minutes (
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            minute INTEGER NOT NULL,
            completed INTEGER NOT NULL CHECK (completed >= 0),
            PRIMARY KEY (project_id, minute)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX project_completion_minutes_by_minute ON project_completion_minutes(minute);
        INSERT INTO project_completion_minutes (project_id, minute, completed)
        SELECT project_id, finished_at_ms / 60000, count(*) FROM segmentation_jobs WHERE status = 3
        GROUP BY project_id, finished_at_ms / 60000;
        """
}
