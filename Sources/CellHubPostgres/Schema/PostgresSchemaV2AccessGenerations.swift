/// Migration "v2-access-generations" of the PostgreSQL store: the generations that caches of
/// callers and roles check, shared by every node.
///
/// One row, bumped in the same transaction as each revocation of a user and each share,
/// role change, share revocation or project deletion (`Transaction.accessChanged`). Each
/// node reads it after a notification on `cellhub_log` and in its safety poll
/// (`ChangeListener`) and moves its in-process generations when it changed, so a revocation
/// through one node empties the caches of every node. (The SQLite store shares its
/// generations between processes through a mapped file beside the database instead.)
enum PostgresSchemaV2AccessGenerations {
    static let sql = """
        CREATE TABLE access_generations (
            id integer PRIMARY KEY CHECK (id = 1),
            credentials bigint NOT NULL DEFAULT 0,
            memberships bigint NOT NULL DEFAULT 0
        );
        INSERT INTO access_generations (id) VALUES (1);
        """
}
