import CellHub
@testable import CellHubSQL
@testable import CellHubStore
import Testing

@Suite("SQLite connection: binding, errors, transactions")
struct SQLiteConnectionTests {
    /// A connection on a fresh file with one table of every storage class.
    private func withTable(_ body: (SQLiteConnection, TemporaryDirectory) throws -> Void) throws {
        try withTemporaryDirectory { directory in
            let db = try SQLiteConnection(path: directory.file("t.sqlite"))
            try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v ANY, name TEXT UNIQUE, n INTEGER NOT NULL DEFAULT 0 CHECK (n >= 0)) STRICT")
            try body(db, directory)
        }
    }

    static let values: [SQLValue] = [
        .integer(0), .integer(Int64.max), .integer(Int64.min), .integer(-1),
        .real(0.5), .real(-1e300), .real(.infinity), .real(Double.leastNonzeroMagnitude),
        .text(""), .text("plain"), .text("Zellkern 🧫 細胞 ÄÖÜ ß"), .text("nul\u{0}inside"), .text(String(repeating: "x", count: 100_000)),
        .blob([]), .blob([0]), .blob(Array(0...255)), .blob(Array(repeating: 0xFF, count: 70_000)),
        .null,
    ]

    @Test("every value round-trips through bind and column read", arguments: values)
    func roundTrip(value: SQLValue) throws {
        try withTable { db, _ in
            try db.run("INSERT INTO t (id, v) VALUES (1, ?)", value)
            let read = try db.queryOne("SELECT v FROM t WHERE id = 1") { ($0 as! SQLiteRow).value(0) }
            #expect(read == value)
            // And through the typed getters.
            switch value {
            case .integer(let v): #expect(try db.queryOne("SELECT v FROM t") { $0.int64(0) } == v)
            case .real(let v): #expect(try db.queryOne("SELECT v FROM t") { $0.double(0) } == v)
            case .text(let v): #expect(try db.queryOne("SELECT v FROM t") { $0.string(0) } == v)
            case .blob(let v): #expect(try db.queryOne("SELECT v FROM t") { $0.blob(0) } == v)
            case .null: #expect(try db.queryOne("SELECT v FROM t") { $0.isNull(0) } == true)
            }
        }
    }

    @Test("Swift types bind as their SQLite classes, nil as NULL, and empty text/blobs are not NULL")
    func swiftTypes() throws {
        try withTable { db, _ in
            let none: String? = nil
            try db.run("INSERT INTO t (id, v) VALUES (?, ?)", 1, none)
            try db.run("INSERT INTO t (id, v) VALUES (?, ?)", Int64(2), true)
            try db.run("INSERT INTO t (id, v) VALUES (?, ?)", Int32(3), "")
            try db.run("INSERT INTO t (id, v) VALUES (?, ?)", 4, [UInt8]())
            try db.run("INSERT INTO t (id, v) VALUES (?, ?)", 5, Optional("x"))
            let types = try db.query("SELECT typeof(v) FROM t ORDER BY id") { $0.string(0) }
            #expect(types == ["null", "integer", "text", "blob", "text"])
            #expect(try db.queryOne("SELECT v FROM t WHERE id = 3") { $0.optionalString(0) } == "")
            #expect(try db.queryOne("SELECT v FROM t WHERE id = 1") { $0.optionalString(0) } == .some(nil))
        }
    }

    @Test("UNIQUE, CHECK, NOT NULL and FOREIGN KEY violations are typed errors, not traps")
    func constraintErrors() throws {
        try withTable { db, _ in
            try db.run("INSERT INTO t (id, name) VALUES (1, 'a')")
            let unique = #expect(throws: SQLiteError.self) { try db.run("INSERT INTO t (id, name) VALUES (2, 'a')") }
            #expect(unique?.isUniqueViolation == true)
            #expect(unique?.extendedCode == SQLiteError.constraintUnique)
            #expect(unique?.message.contains("t.name") == true)
            #expect(unique?.sql == "INSERT INTO t (id, name) VALUES (2, 'a')")

            let primary = #expect(throws: SQLiteError.self) { try db.run("INSERT INTO t (id) VALUES (1)") }
            #expect(primary?.extendedCode == SQLiteError.constraintPrimaryKey)

            let check = #expect(throws: SQLiteError.self) { try db.run("INSERT INTO t (id, n) VALUES (3, -1)") }
            #expect(check?.extendedCode == SQLiteError.constraintCheck)

            let notNull = #expect(throws: SQLiteError.self) { try db.run("INSERT INTO t (id, n) VALUES (4, NULL)") }
            #expect(notNull?.extendedCode == SQLiteError.constraintNotNull)

            try db.execute("CREATE TABLE child (parent INTEGER NOT NULL REFERENCES t(id)) STRICT")
            let foreignKey = #expect(throws: SQLiteError.self) { try db.run("INSERT INTO child (parent) VALUES (99)") }
            #expect(foreignKey?.isForeignKeyViolation == true)

            // STRICT: a value of the wrong class is refused too.
            let strict = #expect(throws: SQLiteError.self) { try db.run("INSERT INTO t (id, n) VALUES (5, 'text')") }
            #expect(strict?.isConstraintViolation == true)

            // The connection is still usable after all of these.
            #expect(try db.queryOne("SELECT count(*) FROM t") { $0.int64(0) } == 1)
        }
    }

    @Test("a syntax error names the SQL")
    func syntaxError() throws {
        try withTable { db, _ in
            let error = #expect(throws: SQLiteError.self) { try db.run("SELEC 1") }
            #expect(error?.code == 1)
            #expect(error?.sql == "SELEC 1")
            #expect(error?.message.contains("syntax error") == true)
        }
    }

    @Test("a throwing transaction body leaves nothing behind and the error comes out unchanged")
    func rollback() throws {
        struct Abort: Error, Equatable {}
        try withTable { db, _ in
            #expect(throws: Abort.self) {
                try db.transaction {
                    try db.run("INSERT INTO t (id, name) VALUES (1, 'a')")
                    try db.run("INSERT INTO t (id, name) VALUES (2, 'b')")
                    throw Abort()
                }
            }
            #expect(!db.isInTransaction)
            #expect(try db.queryOne("SELECT count(*) FROM t") { $0.int64(0) } == 0)

            // A constraint failure mid-transaction rolls back the earlier statements too.
            #expect(throws: SQLiteError.self) {
                try db.transaction {
                    try db.run("INSERT INTO t (id, name) VALUES (1, 'a')")
                    try db.run("INSERT INTO t (id, name) VALUES (2, 'a')")
                }
            }
            #expect(try db.queryOne("SELECT count(*) FROM t") { $0.int64(0) } == 0)

            // And a successful one commits.
            let value = try db.transaction {
                try db.run("INSERT INTO t (id, name) VALUES (1, 'a')")
                return 42
            }
            #expect(value == 42)
            #expect(try db.queryOne("SELECT count(*) FROM t") { $0.int64(0) } == 1)
        }
    }

    @Test("a reader on a second connection sees only committed data (WAL)")
    func walIsolation() throws {
        try withTable { db, directory in
            let reader = try SQLiteConnection(path: directory.file("t.sqlite"), mode: .readOnly)
            #expect(try db.queryOne("PRAGMA journal_mode") { $0.string(0) } == "wal")
            #expect(try db.queryOne("PRAGMA foreign_keys") { $0.int64(0) } == 1)
            #expect(try db.queryOne("PRAGMA synchronous") { $0.int64(0) } == 1) // NORMAL
            try db.transaction {
                try db.run("INSERT INTO t (id) VALUES (1)")
                #expect(try reader.queryOne("SELECT count(*) FROM t") { $0.int64(0) } == 0)
            }
            #expect(try reader.queryOne("SELECT count(*) FROM t") { $0.int64(0) } == 1)
            let readOnly = #expect(throws: SQLiteError.self) { try reader.run("INSERT INTO t (id) VALUES (2)") }
            #expect(readOnly?.code == 8) // SQLITE_READONLY
        }
    }

    @Test("durable connections use synchronous=FULL")
    func durable() throws {
        try withTemporaryDirectory { directory in
            let db = try SQLiteConnection(path: directory.file("d.sqlite"), durable: true)
            #expect(try db.queryOne("PRAGMA synchronous") { $0.int64(0) } == 2)
        }
    }

    @Test("a query run inside another's row callback with the same SQL gets its own statement")
    func reentrantStatement() throws {
        try withTable { db, _ in
            for id in 1...3 { try db.run("INSERT INTO t (id) VALUES (?)", id) }
            let sql = "SELECT id FROM t WHERE id >= ? ORDER BY id"
            var pairs: [[Int64]] = []
            var failure: (any Error)?
            let outer = try db.query(sql, 1) { row in
                let id = row.int64(0)
                // Runs while the outer statement is mid-step.
                do {
                    pairs.append(try db.query(sql, id) { $0.int64(0) })
                } catch {
                    failure = error
                }
                return id
            }
            #expect(failure == nil)
            #expect(outer == [1, 2, 3])
            #expect(pairs == [[1, 2, 3], [2, 3], [3]])
        }
    }

    @Test("opening a path in a missing directory is a typed error")
    func openFailure() throws {
        let error = #expect(throws: SQLiteError.self) {
            _ = try SQLiteConnection(path: "/nonexistent-\(UInt64.random(in: 0...UInt64.max))/x.sqlite")
        }
        #expect(error?.code == 14) // SQLITE_CANTOPEN
    }
}
