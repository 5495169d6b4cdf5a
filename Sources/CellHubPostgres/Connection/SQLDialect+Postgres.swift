package import CellHubSQL

extension SQLDialect {
    /// PostgreSQL's spellings (see each property).
    package static let postgres = SQLDialect(
        position: "strpos",
        leftFirstJoin: "JOIN",
        memberOrder: "seq",
        claimLocking: "FOR UPDATE SKIP LOCKED",
        // The revision is the single row of `log_head`, moved inside this transaction, not a
        // sequence (bigserial): a sequence hands out numbers at insert time, so a transaction
        // holding 7 could commit after another holding 8, and a reader that already moved past
        // 8 would never see 7. The row stays locked until commit (the transaction locked it
        // first thing, see `PostgresStore.write`), so the next writer takes 8 only after 7 is
        // committed, and a rollback returns its number: the log has no hole, in commit order.
        // One round trip: the revision, the row, and a wake-up for other nodes' listeners
        // (`pg_notify` with an empty payload is `NOTIFY cellhub_log`: delivered at commit, never
        // on rollback; several in one transaction fold into one).
        appendEvent: """
            WITH head AS (UPDATE log_head SET revision = revision + 1 RETURNING revision)
            INSERT INTO event_log (revision, committed_at_ms, kind, project_id, actor_user_id, payload)
            SELECT revision, ?, ?, ?, ?, ? FROM head
            RETURNING revision, pg_notify('cellhub_log', '')
            """,
        // `log_head` holds the highest revision ever committed.
        currentRevision: "SELECT revision FROM log_head",
        // Nodes share nothing but the database (`access_generations`, read by `ChangeListener`).
        storesAccessGenerations: true)
}
