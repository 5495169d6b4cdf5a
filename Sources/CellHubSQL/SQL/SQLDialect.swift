/// The few spellings the SQLite and PostgreSQL stores do not share; everything else in the
/// repositories is SQL both engines accept (`CAST(? AS BIGINT)`, `CASE WHEN` for boolean sums
/// and for the larger of two values, table-qualified columns in upserts, named subqueries).
///
/// Each engine defines its own value (`SQLDialect.sqlite` in CellHubStore,
/// `SQLDialect.postgres` in CellHubPostgres) and hands it out as `SQLDatabase.dialect`. The
/// fragments are spliced into statement texts, which both engines cache by text: each yields
/// one text per engine. A class, so that reading it per statement is one reference count,
/// not one per fragment.
package final class SQLDialect: Sendable {
    /// The function that finds text in text, arguments (haystack, needle), 0 when absent:
    /// SQLite's `instr`, PostgreSQL's `strpos` (neither has the other's).
    package let position: String
    /// A join that keeps its left side as the outer loop: SQLite's planner takes `CROSS JOIN`
    /// as that hint; PostgreSQL accepts no ON clause with CROSS JOIN and plans by its own.
    package let leftFirstJoin: String
    /// The column giving the grant order of `project_members` rows (SQLite's rowid, a
    /// `bigserial` in PostgreSQL, which has no rowid).
    package let memberOrder: String
    /// Appended to the queue's claim query: PostgreSQL's row locks let one node's claim skip
    /// the jobs another is claiming; SQLite has one writer and no row locks.
    package let claimLocking: String
    /// Inserts the operation's `event_log` row from (committed_at_ms, kind, project_id,
    /// actor_user_id, payload) and returns its revision: the one statement that makes
    /// revisions gap-free in commit order, which each engine does its own way.
    package let appendEvent: String
    /// The revision of the last committed change (no row before the first), which survives
    /// pruning the newest rows (max(revision) would not).
    package let currentRevision: String
    /// True when the access generations live in the database (`access_generations`, moved in
    /// the transaction of each change to who may do what); false when the store keeps them
    /// beside it (SQLite's mapped `-auth` file, moved after the commit).
    package let storesAccessGenerations: Bool

    package init(
        position: String, leftFirstJoin: String, memberOrder: String, claimLocking: String, appendEvent: String,
        currentRevision: String, storesAccessGenerations: Bool
    ) {
        self.position = position
        self.leftFirstJoin = leftFirstJoin
        self.memberOrder = memberOrder
        self.claimLocking = claimLocking
        self.appendEvent = appendEvent
        self.currentRevision = currentRevision
        self.storesAccessGenerations = storesAccessGenerations
    }
}
