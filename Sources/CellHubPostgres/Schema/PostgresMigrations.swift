import CellHub
package import CellHubSQL

/// The PostgreSQL schema's history and the code that brings a database up to date.
package enum PostgresMigrations {
    /// Every migration, oldest first. Append only. (The PostgreSQL store starts from the
    /// SQLite schema's latest shape, so its history starts at one.)
    package static let all: [Migration] = [
        Migration(name: "v1-initial", sql: PostgresSchemaV1.sql),
        Migration(name: "v2-access-generations", sql: PostgresSchemaV2AccessGenerations.sql),
        Migration(name: "v3-presence", sql: PostgresSchemaV3Presence.sql),
    ]

    /// An arbitrary constant naming CellHub's migration lock among advisory locks.
    static let advisoryLockKey: Int64 = 0x4365_6C6C_4875_62  // "CellHub"

    /// Applies the migrations the database has not recorded, in order, each in its own
    /// transaction with its `schema_migrations` row, all under a session advisory lock (so
    /// nodes starting together migrate one after the other), then creates the epoch on
    /// first open. Returns the epoch and the names applied now.
    ///
    /// A database holding a migration this list does not know was written by a newer
    /// binary: opening it fails rather than guessing.
    static func apply(
        _ migrations: [Migration], to db: PGConnection, now: Int64, epoch newEpoch: String
    ) throws -> (epoch: String, applied: [String]) {
        precondition(Set(migrations.map(\.name)).count == migrations.count, "duplicate migration names: a bug in CellHub")
        try db.run("SELECT pg_advisory_lock(?)", advisoryLockKey)
        defer { _ = try? db.run("SELECT pg_advisory_unlock(?)", advisoryLockKey) }
        try db.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                name text PRIMARY KEY,
                applied_at_ms bigint NOT NULL,
                seq bigint GENERATED ALWAYS AS IDENTITY
            )
            """)
        let known = Set(migrations.map(\.name))
        let recorded = try db.query("SELECT name FROM schema_migrations ORDER BY seq") { $0.string(0) }
        if let unknown = recorded.first(where: { !known.contains($0) }) {
            throw StoreError.unknownMigration(unknown)
        }
        var applied: [String] = []
        for migration in migrations where !recorded.contains(migration.name) {
            try db.transaction {
                try db.execute(migration.sql)
                try db.run("INSERT INTO schema_migrations (name, applied_at_ms) VALUES (?, ?)", migration.name, now)
            }
            applied.append(migration.name)
        }
        try db.run("INSERT INTO store_meta (key, value) VALUES ('epoch', ?) ON CONFLICT (key) DO NOTHING", newEpoch)
        let epoch = try db.queryOne("SELECT value FROM store_meta WHERE key = 'epoch'") { $0.string(0) } ?? ""
        return (epoch, applied)
    }
}
