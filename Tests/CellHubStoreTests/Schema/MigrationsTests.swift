import CellHub
@testable import CellHubSQL
@testable import CellHubStore
import Testing

@Suite("Migrations: named, append-only, idempotent")
struct MigrationsTests {
    @Test("a new database gets every migration once; re-opening applies nothing")
    func reopen() throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("m.sqlite")
            let first = try Store(path: path)
            #expect(first.appliedMigrations == Migrations.all.map(\.name))
            let epoch = first.epoch
            #expect(!epoch.isEmpty)

            let second = try Store(path: path)
            #expect(second.appliedMigrations == [])
            #expect(second.epoch == epoch, "the epoch is created once, with the database")

            let db = try SQLiteConnection(path: path, mode: .readOnly)
            #expect(try Migrations.applied(in: db) == Migrations.all.map(\.name))
        }
    }

    @Test("a migration appended later applies exactly once, after the earlier ones")
    func appended() throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("m.sqlite")
            _ = try Store(path: path)
            var options = Store.Options()
            options.migrations = Migrations.all + [
                Migration(name: "v99-test-notes", sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL) STRICT;"),
            ]
            let upgraded = try Store(path: path, options: options)
            #expect(upgraded.appliedMigrations == ["v99-test-notes"])
            let again = try Store(path: path, options: options)
            #expect(again.appliedMigrations == [])

            let db = try SQLiteConnection(path: path, mode: .readOnly)
            #expect(try Migrations.applied(in: db) == Migrations.all.map(\.name) + ["v99-test-notes"])
            #expect(try db.queryOne("SELECT count(*) FROM sqlite_schema WHERE name = 'notes'") { $0.int64(0) } == 1)
        }
    }

    @Test("a failing migration leaves neither its changes nor its record")
    func failingMigration() throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("m.sqlite")
            var options = Store.Options()
            options.migrations = Migrations.all + [
                Migration(name: "v99-broken", sql: "CREATE TABLE half (id INTEGER) STRICT; INSERT INTO nowhere VALUES (1);"),
            ]
            let error = #expect(throws: StoreError.self) { _ = try Store(path: path, options: options) }
            guard case .database(let sqlite) = error else {
                Issue.record("expected a database error, got \(String(describing: error))")
                return
            }
            #expect(sqlite.description.contains("nowhere"))
            let db = try SQLiteConnection(path: path, mode: .readOnly)
            #expect(try Migrations.applied(in: db) == Migrations.all.map(\.name))
            #expect(try db.queryOne("SELECT count(*) FROM sqlite_schema WHERE name = 'half'") { $0.int64(0) } == 0)
        }
    }

    @Test("a database with a migration this binary does not know is refused")
    func unknownMigration() throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("m.sqlite")
            var newer = Store.Options()
            newer.migrations = Migrations.all + [Migration(name: "v9-from-the-future", sql: "SELECT 1;")]
            _ = try Store(path: path, options: newer)
            #expect(throws: StoreError.unknownMigration("v9-from-the-future")) { _ = try Store(path: path) }
        }
    }
}
