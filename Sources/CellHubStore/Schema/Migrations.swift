import CellHub
package import CellHubSQL

/// The SQLite schema's history and the code that brings a database up to date.
package enum Migrations {
    /// Every migration, oldest first. Append only.
    package static let all: [Migration] = [
        Migration(name: "v1-initial", sql: SchemaV1.sql),
        Migration(name: "v2-activity-feed", sql: SchemaV2Activity.sql),
        Migration(name: "v3-user-counters", sql: SchemaV3UserCounters.sql),
        Migration(name: "v4-completion-minutes", sql: SchemaV4CompletionMinutes.sql),
        Migration(name: "v5-stream-indexes", sql: SchemaV5StreamIndexes.sql),
        Migration(name: "v6-queue-indexes", sql: SchemaV6QueueIndexes.sql),
    ]

    /// Applies the migrations of `migrations` that the database has not recorded, in order,
    /// each in its own transaction together with its `schema_migrations` row, and returns
    /// the names applied now (empty when the database was up to date).
    ///
    /// Idempotent and safe against a second process migrating concurrently: each migration is
    /// re-checked inside its write transaction. A database holding a migration this list does
    /// not know was written by a newer binary: opening it fails rather than guessing.
    static func apply(_ migrations: [Migration], to db: SQLiteConnection, now: Int64) throws -> [String] {
        precondition(Set(migrations.map(\.name)).count == migrations.count, "duplicate migration names: a bug in CellHub")
        try db.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                name TEXT PRIMARY KEY,
                applied_at_ms INTEGER NOT NULL
            ) STRICT
            """)
        let known = Set(migrations.map(\.name))
        let recorded = try db.query("SELECT name FROM schema_migrations ORDER BY name") { $0.string(0) }
        if let unknown = recorded.first(where: { !known.contains($0) }) {
            throw StoreError.unknownMigration(unknown)
        }
        var applied: [String] = []
        for migration in migrations where !recorded.contains(migration.name) {
            let ran = try db.transaction {
                let already = try db.queryOne("SELECT 1 FROM schema_migrations WHERE name = ?", migration.name) { _ in true }
                guard already == nil else { return false }
                try db.execute(migration.sql)
                try db.run("INSERT INTO schema_migrations (name, applied_at_ms) VALUES (?, ?)", migration.name, now)
                return true
            }
            if ran { applied.append(migration.name) }
        }
        return applied
    }

    /// The names recorded in the database, in the order they were applied.
    static func applied(in db: SQLiteConnection) throws(SQLiteError) -> [String] {
        try db.query("SELECT name FROM schema_migrations ORDER BY applied_at_ms, rowid") { $0.string(0) }
    }
}
