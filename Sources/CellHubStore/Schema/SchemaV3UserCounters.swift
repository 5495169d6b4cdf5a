import CellHub
/// Migration "v3-user-counters": dashboards and queue positions in time independent of how
/// many projects a user sees and how long the queue is.
///
/// Design notes:
/// - `user_counters` holds, per user, the sums over the projects they are a member of (the
///   dashboard's totals); `user_activity_counters` the same for the 15-minute activity
///   buckets plus project creations. Every change to a project's counters or buckets moves
///   its members' rows in the same transaction (fan-out by member count, usually a handful);
///   a new or removed membership adds or subtracts the project's whole contribution. So a
///   dashboard is one primary-key read plus one range over at most a week of buckets.
/// - `project_members.queued` and `.last_completed_at_ms` copy the project's values to each
///   member row, so the partial indexes below find a user's projects with queued jobs or
///   recent completions without visiting the others; the completed-jobs index covers the
///   processing time, so the last 100 completions are read from the index alone.
/// - `queue_buckets` counts QUEUED jobs per priority and block of 1,024 job sequence numbers,
///   moved by triggers on every status change (including cascading deletes): a queue
///   position is a sum over the blocks ahead plus a count within one block, not a walk over
///   every job ahead.
/// - Every value is backfilled from the rows it summarises; `Store.checkConsistency`
///   recounts all of them.
enum SchemaV3UserCounters {
    static let sql = """
        CREATE TABLE user_counters (
            user_id TEXT PRIMARY KEY REFERENCES users(id),
            projects_owned INTEGER NOT NULL DEFAULT 0,
            projects_shared INTEGER NOT NULL DEFAULT 0,
            image_count INTEGER NOT NULL DEFAULT 0,
            no_segmentation INTEGER NOT NULL DEFAULT 0,
            queued INTEGER NOT NULL DEFAULT 0,
            processing INTEGER NOT NULL DEFAULT 0,
            segmented INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            total_bytes INTEGER NOT NULL DEFAULT 0,
            CHECK (projects_owned >= 0 AND projects_shared >= 0 AND no_segmentation >= 0 AND queued >= 0
                   AND processing >= 0 AND segmented >= 0 AND failed >= 0 AND total_bytes >= 0),
            CHECK (image_count = no_segmentation + queued + processing + segmented + failed)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO user_counters (user_id, projects_owned, projects_shared, image_count, no_segmentation, queued,
                                   processing, segmented, failed, total_bytes)
        SELECT u.id, coalesce(sum(m.role = 'owner'), 0), coalesce(sum(m.role <> 'owner'), 0),
               coalesce(sum(c.image_count), 0), coalesce(sum(c.no_segmentation), 0), coalesce(sum(c.queued), 0),
               coalesce(sum(c.processing), 0), coalesce(sum(c.segmented), 0), coalesce(sum(c.failed), 0),
               coalesce(sum(c.total_bytes), 0)
        FROM users u
        LEFT JOIN project_members m ON m.user_id = u.id
        LEFT JOIN project_counters c ON c.project_id = m.project_id
        GROUP BY u.id;

        CREATE TABLE user_activity_counters (
            user_id TEXT NOT NULL REFERENCES users(id),
            quarter_hour INTEGER NOT NULL,
            uploaded INTEGER NOT NULL DEFAULT 0 CHECK (uploaded >= 0),
            completed INTEGER NOT NULL DEFAULT 0 CHECK (completed >= 0),
            projects_created INTEGER NOT NULL DEFAULT 0 CHECK (projects_created >= 0),
            PRIMARY KEY (user_id, quarter_hour)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO user_activity_counters (user_id, quarter_hour, uploaded, completed, projects_created)
        SELECT user_id, quarter_hour, sum(uploaded), sum(completed), sum(created) FROM (
            SELECT m.user_id, a.quarter_hour, a.uploaded, a.completed, 0 AS created
            FROM project_members m JOIN project_activity_counters a ON a.project_id = m.project_id
            UNION ALL
            SELECT m.user_id, p.created_at_ms / 900000, 0, 0, 1
            FROM project_members m JOIN projects p ON p.id = m.project_id)
        GROUP BY user_id, quarter_hour;

        ALTER TABLE project_members ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE project_members ADD COLUMN last_completed_at_ms INTEGER NOT NULL DEFAULT 0;
        UPDATE project_members SET
            queued = (SELECT c.queued FROM project_counters c WHERE c.project_id = project_members.project_id),
            last_completed_at_ms = (SELECT c.last_segmentation_completed_at_ms FROM project_counters c
                                    WHERE c.project_id = project_members.project_id);
        CREATE INDEX project_members_with_queue ON project_members(user_id, project_id) WHERE queued > 0;
        CREATE INDEX project_members_by_completion ON project_members(user_id, last_completed_at_ms)
            WHERE last_completed_at_ms > 0;

        CREATE INDEX jobs_queued_by_project ON segmentation_jobs(project_id, priority DESC, seq) WHERE status = 1;
        CREATE INDEX jobs_completed_by_project ON segmentation_jobs(project_id, finished_at_ms, processing_ms)
            WHERE status = 3;

        CREATE TABLE queue_buckets (
            priority INTEGER NOT NULL,
            block INTEGER NOT NULL,
            queued INTEGER NOT NULL CHECK (queued >= 0),
            PRIMARY KEY (priority, block)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO queue_buckets (priority, block, queued)
        SELECT priority, seq >> 10, count(*) FROM segmentation_jobs WHERE status = 1 GROUP BY priority, seq >> 10;
        CREATE TRIGGER jobs_queued_on_insert AFTER INSERT ON segmentation_jobs WHEN NEW.status = 1 BEGIN
            INSERT INTO queue_buckets (priority, block, queued) VALUES (NEW.priority, NEW.seq >> 10, 1)
            ON CONFLICT (priority, block) DO UPDATE SET queued = queued + 1;
        END;
        CREATE TRIGGER jobs_queued_on_update AFTER UPDATE OF status ON segmentation_jobs
        WHEN NEW.status = 1 AND OLD.status <> 1 BEGIN
            INSERT INTO queue_buckets (priority, block, queued) VALUES (NEW.priority, NEW.seq >> 10, 1)
            ON CONFLICT (priority, block) DO UPDATE SET queued = queued + 1;
        END;
        CREATE TRIGGER jobs_dequeued_on_update AFTER UPDATE OF status ON segmentation_jobs
        WHEN OLD.status = 1 AND NEW.status <> 1 BEGIN
            UPDATE queue_buckets SET queued = queued - 1 WHERE priority = OLD.priority AND block = OLD.seq >> 10;
        END;
        CREATE TRIGGER jobs_dequeued_on_delete AFTER DELETE ON segmentation_jobs WHEN OLD.status = 1 BEGIN
            UPDATE queue_buckets SET queued = queued - 1 WHERE priority = OLD.priority AND block = OLD.seq >> 10;
        END;
        """
}
