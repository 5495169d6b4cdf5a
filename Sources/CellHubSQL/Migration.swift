/// One named schema change of either store. Migrations are append-only: once released, a
/// migration's name and SQL never change; a new change is a new migration at the end of the
/// list. Each store keeps its own history (`Migrations`, `PostgresMigrations`): the engines'
/// column types and DDL differ.
package struct Migration: Sendable, Hashable {
    /// Unique, recorded in `schema_migrations` when applied.
    package let name: String
    /// A script of one or more statements in the engine's SQL, run in one transaction with
    /// its record.
    package let sql: String

    package init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }
}
