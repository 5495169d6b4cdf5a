/// Migration "v1-initial" of the PostgreSQL store: the SQLite store's schema as it stands
/// after its migrations v1–v6 (see CellHubStore/Schema for the why of each table), spelled
/// for PostgreSQL.
///
/// Differences, and why:
/// - `log_head` holds the event log's revision: one row, moved by every recording write
///   transaction and locked until its commit, so revisions are gap-free in commit order
///   across nodes (a `bigserial` is not: a later transaction can commit a lower number
///   first). `event_log.revision` is therefore a plain bigint key.
/// - SQLite's rowids become identity columns: `project_members.seq` (grant order),
///   `segmentation_jobs.seq` and `activity_entries.seq` (insertion order, hence revision
///   order: writes are serialised by `log_head`).
/// - The queue-bucket triggers are one PL/pgSQL function.
/// - Booleans stay 0/1 integers and blobs are `bytea`, so both stores bind the same values.
enum PostgresSchemaV1 {
    static let sql = """
        CREATE TABLE store_meta (
            key text PRIMARY KEY,
            value text NOT NULL
        );

        CREATE TABLE log_head (
            id integer PRIMARY KEY CHECK (id = 1),
            revision bigint NOT NULL CHECK (revision >= 0)
        );
        INSERT INTO log_head (id, revision) VALUES (1, 0);

        CREATE TABLE users (
            id text PRIMARY KEY,
            name text NOT NULL UNIQUE,
            is_worker bigint NOT NULL CHECK (is_worker IN (0, 1)),
            created_at_ms bigint NOT NULL,
            revoked_at_ms bigint
        );

        CREATE TABLE api_tokens (
            token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
            user_id text NOT NULL REFERENCES users(id),
            created_at_ms bigint NOT NULL,
            revoked_at_ms bigint
        );
        CREATE INDEX api_tokens_by_user ON api_tokens(user_id);

        CREATE TABLE projects (
            id text PRIMARY KEY,
            owner_id text NOT NULL REFERENCES users(id),
            name text NOT NULL,
            name_folded text NOT NULL,
            description text NOT NULL,
            created_at_ms bigint NOT NULL,
            updated_at_ms bigint NOT NULL,
            UNIQUE (owner_id, name)
        );

        CREATE TABLE project_members (
            project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            user_id text NOT NULL REFERENCES users(id),
            role text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
            created_at_ms bigint NOT NULL,
            role_changed_at_ms bigint NOT NULL,
            granted_by text NOT NULL REFERENCES users(id),
            queued bigint NOT NULL DEFAULT 0,
            last_completed_at_ms bigint NOT NULL DEFAULT 0,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            PRIMARY KEY (project_id, user_id)
        );
        CREATE INDEX project_members_by_user ON project_members(user_id, role, project_id);
        CREATE UNIQUE INDEX project_members_one_owner ON project_members(project_id) WHERE role = 'owner';
        CREATE INDEX project_members_with_queue ON project_members(user_id, project_id) WHERE queued > 0;
        CREATE INDEX project_members_by_completion ON project_members(user_id, last_completed_at_ms)
            WHERE last_completed_at_ms > 0;

        CREATE TABLE blobs (
            sha256 text PRIMARY KEY CHECK (length(sha256) = 64),
            size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
            ref_count bigint NOT NULL CHECK (ref_count >= 0)
        );

        CREATE TABLE images (
            id text PRIMARY KEY,
            project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            name text NOT NULL,
            name_folded text NOT NULL,
            content_type text NOT NULL,
            size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
            sha256 text NOT NULL REFERENCES blobs(sha256),
            status bigint NOT NULL CHECK (status BETWEEN 1 AND 5),
            uploaded_at_ms bigint NOT NULL,
            uploader_id text NOT NULL REFERENCES users(id),
            status_changed_at_ms bigint NOT NULL,
            segmented_at_ms bigint NOT NULL DEFAULT 0,
            job_id text,
            cell_count bigint NOT NULL DEFAULT 0,
            failure_reason text NOT NULL DEFAULT ''
        );
        CREATE INDEX images_by_upload ON images(project_id, uploaded_at_ms DESC, id DESC);
        CREATE INDEX images_by_status ON images(project_id, status, uploaded_at_ms DESC, id DESC);
        CREATE INDEX images_by_blob ON images(sha256);

        CREATE TABLE segmentation_results (
            image_id text PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
            job_id text NOT NULL,
            model text NOT NULL,
            cell_count bigint NOT NULL,
            result bytea NOT NULL,
            completed_at_ms bigint NOT NULL,
            processing_ms bigint NOT NULL
        );

        CREATE TABLE project_counters (
            project_id text PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
            image_count bigint NOT NULL DEFAULT 0,
            no_segmentation bigint NOT NULL DEFAULT 0,
            queued bigint NOT NULL DEFAULT 0,
            processing bigint NOT NULL DEFAULT 0,
            segmented bigint NOT NULL DEFAULT 0,
            failed bigint NOT NULL DEFAULT 0,
            total_bytes bigint NOT NULL DEFAULT 0,
            last_image_added_at_ms bigint NOT NULL DEFAULT 0,
            last_segmentation_completed_at_ms bigint NOT NULL DEFAULT 0,
            updated_at_ms bigint NOT NULL,
            revision bigint NOT NULL,
            CHECK (no_segmentation >= 0 AND queued >= 0 AND processing >= 0 AND segmented >= 0
                   AND failed >= 0 AND total_bytes >= 0),
            CHECK (image_count = no_segmentation + queued + processing + segmented + failed)
        );

        CREATE TABLE project_activity_counters (
            project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            quarter_hour bigint NOT NULL,
            uploaded bigint NOT NULL DEFAULT 0 CHECK (uploaded >= 0),
            completed bigint NOT NULL DEFAULT 0 CHECK (completed >= 0),
            PRIMARY KEY (project_id, quarter_hour)
        );

        CREATE TABLE queue_counters (
            id bigint PRIMARY KEY CHECK (id = 1),
            queued bigint NOT NULL CHECK (queued >= 0),
            processing bigint NOT NULL CHECK (processing >= 0)
        );
        INSERT INTO queue_counters (id, queued, processing) VALUES (1, 0, 0);

        CREATE TABLE segmentation_jobs (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            image_id text NOT NULL,
            project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            batch_id text NOT NULL,
            status bigint NOT NULL CHECK (status BETWEEN 1 AND 5),
            priority bigint NOT NULL CHECK (priority BETWEEN 0 AND 10),
            model text NOT NULL,
            attempts bigint NOT NULL DEFAULT 0,
            max_attempts bigint NOT NULL CHECK (max_attempts >= 1),
            requested_by text NOT NULL,
            lease_id text,
            lease_owner text,
            lease_expires_at_ms bigint,
            enqueued_at_ms bigint NOT NULL,
            started_at_ms bigint NOT NULL DEFAULT 0,
            finished_at_ms bigint NOT NULL DEFAULT 0,
            processing_ms bigint NOT NULL DEFAULT 0,
            error text NOT NULL DEFAULT ''
        );
        CREATE INDEX jobs_claim ON segmentation_jobs(priority DESC, seq) WHERE status = 1;
        CREATE INDEX jobs_by_project ON segmentation_jobs(project_id, status);
        CREATE INDEX jobs_by_batch ON segmentation_jobs(batch_id, status);
        CREATE INDEX jobs_by_finish ON segmentation_jobs(finished_at_ms) WHERE status = 3;
        CREATE INDEX jobs_by_lease_expiry ON segmentation_jobs(lease_expires_at_ms) WHERE status = 2;
        CREATE INDEX jobs_queued_by_project ON segmentation_jobs(project_id, priority DESC, seq) WHERE status = 1;
        CREATE INDEX jobs_completed_by_project ON segmentation_jobs(project_id, finished_at_ms, processing_ms)
            WHERE status = 3;

        CREATE TABLE idempotency_keys (
            user_id text NOT NULL REFERENCES users(id),
            project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            key text NOT NULL,
            request_hash bytea NOT NULL,
            response bytea NOT NULL,
            created_at_ms bigint NOT NULL,
            PRIMARY KEY (user_id, project_id, key)
        );
        CREATE INDEX idempotency_keys_by_project ON idempotency_keys(project_id);
        CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at_ms);

        CREATE TABLE event_log (
            revision bigint PRIMARY KEY,
            committed_at_ms bigint NOT NULL,
            kind bigint NOT NULL,
            project_id text,
            actor_user_id text,
            payload bytea NOT NULL
        );
        CREATE INDEX event_log_by_project ON event_log(project_id, revision) WHERE project_id IS NOT NULL;
        CREATE INDEX event_log_by_actor ON event_log(actor_user_id, revision) WHERE actor_user_id IS NOT NULL;
        CREATE INDEX event_log_by_time ON event_log(committed_at_ms);

        CREATE TABLE activity_entries (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id text NOT NULL,
            revision bigint NOT NULL,
            committed_at_ms bigint NOT NULL,
            kind bigint NOT NULL CHECK (kind BETWEEN 1 AND 4),
            activity bigint NOT NULL CHECK (activity BETWEEN 0 AND 7),
            project_id text NOT NULL,
            project_name text NOT NULL,
            owner_id text NOT NULL,
            actor_id text,
            image_count bigint NOT NULL,
            sample_names text NOT NULL,
            failed_count bigint NOT NULL,
            duration_ms bigint NOT NULL,
            shared_with_id text,
            role text CHECK (role IN ('owner', 'editor', 'viewer')),
            previous_role text CHECK (previous_role IN ('owner', 'editor', 'viewer')),
            left_project bigint NOT NULL CHECK (left_project IN (0, 1)),
            counters bytea
        );
        CREATE INDEX activity_entries_by_user ON activity_entries(user_id, seq);
        CREATE INDEX activity_entries_by_project ON activity_entries(user_id, project_id, seq);
        CREATE INDEX activity_entries_by_revision ON activity_entries(user_id, revision);

        CREATE TABLE user_counters (
            user_id text PRIMARY KEY REFERENCES users(id),
            projects_owned bigint NOT NULL DEFAULT 0,
            projects_shared bigint NOT NULL DEFAULT 0,
            image_count bigint NOT NULL DEFAULT 0,
            no_segmentation bigint NOT NULL DEFAULT 0,
            queued bigint NOT NULL DEFAULT 0,
            processing bigint NOT NULL DEFAULT 0,
            segmented bigint NOT NULL DEFAULT 0,
            failed bigint NOT NULL DEFAULT 0,
            total_bytes bigint NOT NULL DEFAULT 0,
            CHECK (projects_owned >= 0 AND projects_shared >= 0 AND no_segmentation >= 0 AND queued >= 0
                   AND processing >= 0 AND segmented >= 0 AND failed >= 0 AND total_bytes >= 0),
            CHECK (image_count = no_segmentation + queued + processing + segmented + failed)
        );

        CREATE TABLE user_activity_counters (
            user_id text NOT NULL REFERENCES users(id),
            quarter_hour bigint NOT NULL,
            uploaded bigint NOT NULL DEFAULT 0 CHECK (uploaded >= 0),
            completed bigint NOT NULL DEFAULT 0 CHECK (completed >= 0),
            projects_created bigint NOT NULL DEFAULT 0 CHECK (projects_created >= 0),
            PRIMARY KEY (user_id, quarter_hour)
        );

        CREATE TABLE queue_buckets (
            priority bigint NOT NULL,
            block bigint NOT NULL,
            queued bigint NOT NULL CHECK (queued >= 0),
            PRIMARY KEY (priority, block)
        );
        -- QUEUED jobs per priority and block of 1,024 sequence numbers, moved on every status
        -- change, insert and (cascading) delete, as the SQLite store's triggers do.
        CREATE FUNCTION queue_buckets_follow() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                IF OLD.status = 1 AND (TG_OP = 'DELETE' OR NEW.status <> 1) THEN
                    UPDATE queue_buckets SET queued = queued - 1 WHERE priority = OLD.priority AND block = OLD.seq >> 10;
                END IF;
            END IF;
            IF TG_OP <> 'DELETE' THEN
                IF NEW.status = 1 AND (TG_OP = 'INSERT' OR OLD.status <> 1) THEN
                    INSERT INTO queue_buckets (priority, block, queued) VALUES (NEW.priority, NEW.seq >> 10, 1)
                    ON CONFLICT (priority, block) DO UPDATE SET queued = queue_buckets.queued + 1;
                END IF;
            END IF;
            RETURN NULL;
        END
        $$;
        CREATE TRIGGER jobs_queue_buckets AFTER INSERT OR UPDATE OF status OR DELETE ON segmentation_jobs
            FOR EACH ROW EXECUTE FUNCTION queue_buckets_follow();

        CREATE TABLE project_completion_minutes (
            project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            minute bigint NOT NULL,
            completed bigint NOT NULL CHECK (completed >= 0),
            PRIMARY KEY (project_id, minute)
        );
        CREATE INDEX project_completion_minutes_by_minute ON project_completion_minutes(minute);
        """
}
