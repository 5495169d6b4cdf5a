package import CellHubSQL

extension SQLDialect {
    /// SQLite's spellings (see each property).
    package static let sqlite = SQLDialect(
        position: "instr",
        leftFirstJoin: "CROSS JOIN",
        memberOrder: "rowid",
        claimLocking: "",
        // One writer: the next rowid is the next revision in commit order. AUTOINCREMENT
        // never reuses a revision, even after the newest rows were pruned.
        appendEvent: """
            INSERT INTO event_log (committed_at_ms, kind, project_id, actor_user_id, payload) VALUES (?, ?, ?, ?, ?)
            RETURNING revision
            """,
        // AUTOINCREMENT keeps the highest revision ever assigned in sqlite_sequence.
        currentRevision: "SELECT seq FROM sqlite_sequence WHERE name = 'event_log'",
        // Every process using the database maps the `-auth` file (`AccessGenerations`).
        storesAccessGenerations: false)
}
