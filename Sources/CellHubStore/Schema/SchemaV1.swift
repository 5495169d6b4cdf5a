import CellHub
/// Migration "v1-initial": every table the API needs.
///
/// Design notes (the why behind the DDL):
/// - Tables are STRICT: a column holds only its declared type, so a Swift bug cannot store
///   text in a counter. CHECK constraints hold the invariants that must never break
///   (status ranges, non-negative counters, image_count = sum of the status counts, one owner
///   per project); a violation aborts the transaction instead of corrupting the numbers.
/// - Times are INTEGER milliseconds since the Unix epoch, UTC (0 = never), as in the protos.
/// - Statuses are INTEGERs equal to the proto enum numbers (SegmentationStatus, JobStatus).
/// - Counters (`project_counters`, `project_activity_counters`, `queue_counters`) are moved
///   incrementally in the same transaction as the rows they count; `Store.checkConsistency`
///   recounts them from the rows.
/// - "Today" for any time zone: `project_activity_counters` keeps per-project counts in
///   15-minute UTC buckets. Every real UTC offset is a multiple of 15 minutes (India +5:30,
///   Nepal +5:45, Chatham +12:45), so any local midnight is a bucket boundary and a local day
///   is the sum of at most 100 rows (96, or 92/100 on DST days) on the primary key. Hourly
///   buckets would be wrong for half- and quarter-hour zones.
/// - Every foreign key that a parent delete must follow has an index on the child column
///   (otherwise each parent delete scans the child table).
/// - `event_log.revision` is AUTOINCREMENT so a revision is never reused, even after the
///   newest rows were pruned or rolled back.
enum SchemaV1 {
    static let sql = """
        CREATE TABLE store_meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            is_worker INTEGER NOT NULL CHECK (is_worker IN (0, 1)),
            created_at_ms INTEGER NOT NULL,
            revoked_at_ms INTEGER
        ) STRICT;

        -- SHA-256 of each token; the token itself is never stored.
        CREATE TABLE api_tokens (
            token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
            user_id TEXT NOT NULL REFERENCES users(id),
            created_at_ms INTEGER NOT NULL,
            revoked_at_ms INTEGER
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX api_tokens_by_user ON api_tokens(user_id);

        CREATE TABLE projects (
            id TEXT PRIMARY KEY,
            owner_id TEXT NOT NULL REFERENCES users(id),
            name TEXT NOT NULL,
            -- Lower-cased name for case-insensitive search (SQLite's LIKE folds ASCII only).
            name_folded TEXT NOT NULL,
            description TEXT NOT NULL,
            created_at_ms INTEGER NOT NULL,
            updated_at_ms INTEGER NOT NULL,
            UNIQUE (owner_id, name)
        ) STRICT;

        -- Every member including the owner (role 'owner'), so "projects visible to a user" is
        -- one index range: project_members_by_user.
        CREATE TABLE project_members (
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users(id),
            role TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
            created_at_ms INTEGER NOT NULL,
            role_changed_at_ms INTEGER NOT NULL,
            granted_by TEXT NOT NULL REFERENCES users(id),
            PRIMARY KEY (project_id, user_id)
        ) STRICT;
        CREATE INDEX project_members_by_user ON project_members(user_id, role, project_id);
        CREATE UNIQUE INDEX project_members_one_owner ON project_members(project_id) WHERE role = 'owner';

        -- Content-addressed image files: one row per distinct content, counted by reference.
        CREATE TABLE blobs (
            sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
            size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
            ref_count INTEGER NOT NULL CHECK (ref_count >= 0)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE images (
            id TEXT PRIMARY KEY,
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            name_folded TEXT NOT NULL,
            content_type TEXT NOT NULL,
            size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
            sha256 TEXT NOT NULL REFERENCES blobs(sha256),
            status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 5),
            uploaded_at_ms INTEGER NOT NULL,
            uploader_id TEXT NOT NULL REFERENCES users(id),
            status_changed_at_ms INTEGER NOT NULL,
            segmented_at_ms INTEGER NOT NULL DEFAULT 0,
            job_id TEXT,
            cell_count INTEGER NOT NULL DEFAULT 0,
            failure_reason TEXT NOT NULL DEFAULT ''
        ) STRICT;
        -- ListImages: newest first, ties by id, optionally one status.
        CREATE INDEX images_by_upload ON images(project_id, uploaded_at_ms DESC, id DESC);
        CREATE INDEX images_by_status ON images(project_id, status, uploaded_at_ms DESC, id DESC);
        CREATE INDEX images_by_blob ON images(sha256);

        -- The most recent completed result of each image (kept while a re-run is queued).
        CREATE TABLE segmentation_results (
            image_id TEXT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
            job_id TEXT NOT NULL,
            model TEXT NOT NULL,
            cell_count INTEGER NOT NULL,
            result BLOB NOT NULL,
            completed_at_ms INTEGER NOT NULL,
            processing_ms INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE project_counters (
            project_id TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
            image_count INTEGER NOT NULL DEFAULT 0,
            no_segmentation INTEGER NOT NULL DEFAULT 0,
            queued INTEGER NOT NULL DEFAULT 0,
            processing INTEGER NOT NULL DEFAULT 0,
            segmented INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            total_bytes INTEGER NOT NULL DEFAULT 0,
            last_image_added_at_ms INTEGER NOT NULL DEFAULT 0,
            last_segmentation_completed_at_ms INTEGER NOT NULL DEFAULT 0,
            updated_at_ms INTEGER NOT NULL,
            revision INTEGER NOT NULL,
            CHECK (no_segmentation >= 0 AND queued >= 0 AND processing >= 0 AND segmented >= 0
                   AND failed >= 0 AND total_bytes >= 0),
            CHECK (image_count = no_segmentation + queued + processing + segmented + failed)
        ) STRICT, WITHOUT ROWID;

        -- Per project and 15-minute UTC bucket (quarter_hour = unix_ms / 900000): images
        -- uploaded (existing images only: a delete decrements its upload bucket) and jobs
        -- completed. Sums "today" in any time zone (see the type's doc comment).
        CREATE TABLE project_activity_counters (
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            quarter_hour INTEGER NOT NULL,
            uploaded INTEGER NOT NULL DEFAULT 0 CHECK (uploaded >= 0),
            completed INTEGER NOT NULL DEFAULT 0 CHECK (completed >= 0),
            PRIMARY KEY (project_id, quarter_hour)
        ) STRICT, WITHOUT ROWID;

        -- Service-wide open jobs, for the O(1) queue length.
        CREATE TABLE queue_counters (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            queued INTEGER NOT NULL CHECK (queued >= 0),
            processing INTEGER NOT NULL CHECK (processing >= 0)
        ) STRICT;
        INSERT INTO queue_counters (id, queued, processing) VALUES (1, 0, 0);

        -- Jobs outlive their image (history, processing-time and throughput figures), so
        -- image_id has no foreign key; they go with their project.
        CREATE TABLE segmentation_jobs (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            image_id TEXT NOT NULL,
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            batch_id TEXT NOT NULL,
            status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 5),
            priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 10),
            model TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
            requested_by TEXT NOT NULL,
            lease_id TEXT,
            lease_owner TEXT,
            lease_expires_at_ms INTEGER,
            enqueued_at_ms INTEGER NOT NULL,
            started_at_ms INTEGER NOT NULL DEFAULT 0,
            finished_at_ms INTEGER NOT NULL DEFAULT 0,
            processing_ms INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT ''
        ) STRICT;
        -- Claim order: priority first, then FIFO (seq grows with every insert, so it orders
        -- jobs enqueued in the same millisecond by request order).
        CREATE INDEX jobs_claim ON segmentation_jobs(status, priority DESC, seq);
        CREATE INDEX jobs_by_project ON segmentation_jobs(project_id, status);
        CREATE INDEX jobs_by_batch ON segmentation_jobs(batch_id, status);
        CREATE INDEX jobs_by_finish ON segmentation_jobs(status, finished_at_ms);
        CREATE INDEX jobs_by_lease_expiry ON segmentation_jobs(lease_expires_at_ms) WHERE status = 2;

        -- Upload retries: the first response per (user, project, key), replayed verbatim.
        CREATE TABLE idempotency_keys (
            user_id TEXT NOT NULL REFERENCES users(id),
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            request_hash BLOB NOT NULL,
            response BLOB NOT NULL,
            created_at_ms INTEGER NOT NULL,
            PRIMARY KEY (user_id, project_id, key)
        ) STRICT;
        CREATE INDEX idempotency_keys_by_project ON idempotency_keys(project_id);
        CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at_ms);

        -- The transactional outbox: one row per committed operation. No foreign keys: the
        -- log outlives projects and is pruned by age.
        CREATE TABLE event_log (
            revision INTEGER PRIMARY KEY AUTOINCREMENT,
            committed_at_ms INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            project_id TEXT,
            actor_user_id TEXT,
            payload BLOB NOT NULL
        ) STRICT;
        CREATE INDEX event_log_by_project ON event_log(project_id, revision) WHERE project_id IS NOT NULL;
        CREATE INDEX event_log_by_actor ON event_log(actor_user_id, revision) WHERE actor_user_id IS NOT NULL;
        """
}
