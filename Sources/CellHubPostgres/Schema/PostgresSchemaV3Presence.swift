/// Migration "v3-presence" of the PostgreSQL store: who watches which project on which node,
/// and which nodes are alive (`PostgresPresenceBoard`).
///
/// - `nodes`: one row per running node (a random id per process start), its `last_seen_at`
///   moved by the node's heartbeat. Times are the database's clock (`clock_timestamp()`), not
///   the nodes': one clock for every heartbeat and every expiry check, so skew between hosts
///   cannot make a live node look dead. A node whose row is older than the expiry is dead: any
///   node that notices deletes it, and with it (ON DELETE CASCADE) its watchers.
/// - `presence`: a node's watchers, one row per (node, project, user) — a user with several
///   streams of a project on one node is one row. The user's name is kept in the row so
///   readers need no join (and a watcher whose user row changes stays listed as it joined).
///   No foreign keys to projects or users: a row may outlive a deleted project by one write,
///   and presence must never make a project's deletion fail.
///
/// Neither table is part of the event log or its revisions: presence is ephemeral.
enum PostgresSchemaV3Presence {
    static let sql = """
        CREATE TABLE nodes (
            node_id text PRIMARY KEY,
            started_at timestamptz NOT NULL,
            last_seen_at timestamptz NOT NULL
        );

        CREATE TABLE presence (
            node_id text NOT NULL REFERENCES nodes(node_id) ON DELETE CASCADE,
            project_id text NOT NULL,
            user_id text NOT NULL,
            user_name text NOT NULL,
            since_at timestamptz NOT NULL,
            PRIMARY KEY (node_id, project_id, user_id)
        );
        """
}
