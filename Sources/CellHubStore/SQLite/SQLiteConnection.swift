import CellHub
import CellHubSQL
internal import CSQLite

/// One SQLite database connection: opening with the house pragmas, a prepared-statement
/// cache, typed binding and reading, and explicit `BEGIN IMMEDIATE` transactions.
///
/// Not thread-safe by itself: it is opened with `SQLITE_OPEN_NOMUTEX` because its owner
/// (`Store`) already confines each connection behind a lock, so SQLite's own mutex would only
/// cost time. Every failure arrives as a typed `SQLiteError`; misuse of the API by this module
/// (wrong argument count, an unfinished SQL script in `prepare`) traps, because it is a bug.
final class SQLiteConnection: SQLDatabase, GroupCommitConnection {
    /// Read-write (creating the file) or read-only access.
    enum Mode: Sendable {
        case readWrite
        case readOnly
    }

    /// Owned: opened by `sqlite3_open_v2` in init, closed by `sqlite3_close_v2` in deinit after
    /// the statement cache is finalized. Never escapes this type.
    private let handle: OpaquePointer
    /// Prepared statements by SQL text, kept for the connection's life (`SQLITE_PREPARE_PERSISTENT`).
    private var statements: [String: SQLiteStatement] = [:]
    /// The database file.
    let path: String
    /// SQLite's spelling of what the engines do not share.
    var dialect: SQLDialect { .sqlite }

    /// Opens (for `.readWrite`, creates) the database at `path`.
    ///
    /// Read-write connections switch to WAL (readers never block the writer and see only
    /// committed data) with `synchronous=NORMAL` — a commit is durable once the WAL is
    /// checkpointed, and a power cut can lose the last commits but never corrupt — or `FULL`
    /// when `durable` (every commit fsyncs the WAL). Every connection enforces foreign keys,
    /// reads through a memory map, and waits up to `busyTimeoutMs` for a lock held by another
    /// connection or process.
    init(path: String, mode: Mode = .readWrite, durable: Bool = false, busyTimeoutMs: Int32 = 5_000) throws(SQLiteError) {
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readWrite: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        var opened: OpaquePointer?
        let result = sqlite3_open_v2(path, &opened, flags, nil)
        guard result == SQLITE_OK, let opened else {
            // sqlite3_open_v2 may allocate a handle even when it fails; it must be closed.
            let error = SQLiteError.capture(result, connection: opened, sql: "")
            sqlite3_close_v2(opened)
            throw SQLiteError(code: error.code, extendedCode: error.extendedCode, message: "\(error.message) (\(path))", sql: "")
        }
        self.handle = opened
        self.path = path
        self.busyTimeoutMs = busyTimeoutMs
        sqlite3_busy_timeout(handle, busyTimeoutMs)
        try execute("PRAGMA foreign_keys = ON")
        // Pages are read through a memory map (no pread copy per page) and up to 64 MiB of
        // them stay decoded in the connection's cache: with a million images the B-trees
        // outgrow SQLite's 2 MiB default, and every insert would otherwise re-read its path.
        try execute("PRAGMA mmap_size = 1073741824")
        try execute("PRAGMA cache_size = -65536")
        if mode == .readWrite {
            // The writer's statement journals (each savepoint of a group commit, each
            // multi-row statement inside a transaction) stay in memory: as a temporary file
            // they were written page by page, more writes per queue job than the WAL itself.
            try execute("PRAGMA temp_store = MEMORY")
            let journal = try queryOne("PRAGMA journal_mode = WAL") { $0.string(0) }
            guard journal?.lowercased() == "wal" else {
                throw SQLiteError(code: 1, extendedCode: 1, message: "journal_mode is \(journal ?? "?"), not wal", sql: "PRAGMA journal_mode = WAL")
            }
            try execute(durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
        }
    }

    /// How long a lock held by another process is waited for (restored after a WAL restart's
    /// shorter wait).
    private let busyTimeoutMs: Int32
    /// How long a WAL restart on this connection waits for readers to leave the WAL.
    private static let restartWaitMs: Int32 = 20
    /// Keeps the WAL hook's handler alive while it is installed.
    private var walHook: WALHook?

    /// Hands checkpointing to `handler`: automatic checkpoints (which run inside the commit
    /// that crosses the threshold) are turned off, and after every commit `handler` gets the
    /// number of frames now in the WAL. It runs on the committing thread: it must be quick.
    /// When it answers true, this connection — the writer, which no other writer can keep
    /// out — runs a RESTART checkpoint right there, waiting at most `restartWaitMs` for
    /// readers to leave the WAL, so that the next commit writes from the WAL's start; `restarted`
    /// hears of each restart that succeeded.
    func delegateCheckpoints(
        _ handler: @escaping @Sendable (Int) -> Bool, restarted: @escaping @Sendable () -> Void
    ) throws(SQLiteError) {
        try execute("PRAGMA wal_autocheckpoint = 0")
        let hook = WALHook(handler, restarted: restarted, busyTimeoutMs: busyTimeoutMs)
        walHook = hook
        sqlite3_wal_hook(handle, { context, db, name, frames in
            let hook = Unmanaged<WALHook>.fromOpaque(context!).takeUnretainedValue()
            if hook.handler(Int(frames)) {
                // The writer's own wait for other processes' locks is long; this one is not.
                sqlite3_busy_timeout(db, SQLiteConnection.restartWaitMs)
                let result = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, nil, nil)
                sqlite3_busy_timeout(db, hook.busyTimeoutMs)
                if result == SQLITE_OK { hook.restarted() }
            }
            return SQLITE_OK
        }, Unmanaged.passUnretained(hook).toOpaque())
    }

    deinit {
        if walHook != nil { sqlite3_wal_hook(handle, nil, nil) }
        statements.removeAll()
        // Every statement is finalized now, so the close succeeds at once; close_v2 would
        // otherwise defer it, never fail.
        sqlite3_close_v2(handle)
    }

    // MARK: Running SQL

    /// Runs a script of one or more statements without arguments or results (pragmas,
    /// migrations). Not cached: scripts run once.
    func execute(_ sql: String) throws(SQLiteError) {
        // sqlite3_exec's message is allocated by SQLite and must be freed with sqlite3_free;
        // the connection's own error state is captured instead (it carries the extended code).
        let result = sqlite3_exec(handle, sql, nil, nil, nil)
        if result != SQLITE_OK { throw SQLiteError.capture(result, connection: handle, sql: sql) }
    }

    /// Runs one statement and returns the number of rows it inserted, updated or deleted.
    @discardableResult
    func run(_ sql: String, _ arguments: any SQLBindable...) throws(SQLiteError) -> Int {
        try run(sql, arguments: arguments)
    }

    /// `run` with an argument array, for statements built with a variable parameter list.
    @discardableResult
    func run(_ sql: String, arguments: [any SQLBindable]) throws(SQLiteError) -> Int {
        try withStatement(sql) { statement throws(SQLiteError) in
            try statement.bind(arguments)
            while try statement.step() {}
            return Int(sqlite3_changes64(handle))
        }
    }

    /// Runs one query and maps every result row with `row`.
    func query<T>(_ sql: String, _ arguments: any SQLBindable..., row: (any SQLRow) -> T) throws(SQLiteError) -> [T] {
        try query(sql, arguments: arguments, row: row)
    }

    /// `query` with an argument array.
    func query<T>(_ sql: String, arguments: [any SQLBindable], row: (any SQLRow) -> T) throws(SQLiteError) -> [T] {
        try withStatement(sql) { statement throws(SQLiteError) in
            try statement.bind(arguments)
            var rows: [T] = []
            while try statement.step() { rows.append(row(statement.row)) }
            return rows
        }
    }

    /// The first result row mapped with `row`, or nil when there is none. The rest are not
    /// stepped.
    func queryOne<T>(_ sql: String, _ arguments: any SQLBindable..., row: (any SQLRow) -> T) throws(SQLiteError) -> T? {
        try queryOne(sql, arguments: arguments, row: row)
    }

    /// `queryOne` with an argument array.
    func queryOne<T>(_ sql: String, arguments: [any SQLBindable], row: (any SQLRow) -> T) throws(SQLiteError) -> T? {
        try withStatement(sql) { statement throws(SQLiteError) in
            try statement.bind(arguments)
            return try statement.step() ? row(statement.row) : nil
        }
    }

    /// True while a transaction is open (SQLite's autocommit is off).
    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    // MARK: Transactions

    /// Runs `body` in a write transaction and commits; any error thrown by `body` or by the
    /// commit rolls everything back and is rethrown.
    ///
    /// `BEGIN IMMEDIATE` takes the write lock up front: a deferred transaction that reads
    /// and then writes can fail with SQLITE_BUSY at the upgrade, which no busy timeout can
    /// resolve. Transactions do not nest (a nested call is a bug and fails at BEGIN).
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try begin("BEGIN IMMEDIATE")
        return try finish(body)
    }

    /// `GroupCommitConnection`: a write transaction for one body.
    func writeTransaction(_ body: () throws -> Void) throws { try transaction(body) }

    /// Runs `body` in a read transaction, so every query in it sees one snapshot of the
    /// database (in WAL mode a reader never waits for the writer).
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try begin("BEGIN DEFERRED")
        return try finish(body)
    }

    private func begin(_ sql: String) throws(SQLiteError) {
        assert(!isInTransaction, "nested transaction: a bug in CellHub")
        try run(sql)
    }

    private func finish<T>(_ body: () throws -> T) throws -> T {
        do {
            let result = try body()
            try run("COMMIT")
            return result
        } catch {
            rollback()
            throw error
        }
    }

    /// Rolls back the open transaction, if SQLite has not already done so itself (it does
    /// for some errors, e.g. SQLITE_FULL, and ROLLBACK would then fail).
    private func rollback() {
        guard isInTransaction else { return }
        do {
            try run("ROLLBACK")
        } catch {
            // A failed ROLLBACK leaves the transaction open; the original error is the one
            // to report, and the next BEGIN reports this state as a typed error.
            assertionFailure("ROLLBACK failed: \(error)")
        }
    }

    // MARK: Statements

    /// Lends the cached statement for `sql` (preparing it on first use) and resets it
    /// afterwards, whatever happens. A statement already in use (re-entrant query) is not
    /// shared: that call gets a fresh, uncached one.
    private func withStatement<T>(_ sql: String, _ body: (SQLiteStatement) throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        let statement: SQLiteStatement
        if let cached = statements[sql], !cached.isInUse {
            statement = cached
        } else {
            let cacheable = statements[sql] == nil
            statement = try prepare(sql, persistent: cacheable)
            if cacheable { statements[sql] = statement }
        }
        statement.isInUse = true
        defer {
            statement.reset()
            statement.isInUse = false
        }
        return try body(statement)
    }

    private func prepare(_ sql: String, persistent: Bool) throws(SQLiteError) -> SQLiteStatement {
        var prepared: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        // The tail pointer points into the C string, which lives only inside withCString:
        // what follows the first statement is read there.
        let (result, rest) = sql.withCString { text in
            var tail: UnsafePointer<CChar>?
            let result = sqlite3_prepare_v3(handle, text, -1, flags, &prepared, &tail)
            return (result, tail.map { String(cString: $0) } ?? "")
        }
        guard result == SQLITE_OK else {
            throw SQLiteError.capture(result, connection: handle, sql: sql)
        }
        // Only the first statement of a text is compiled; silently dropping the rest, or
        // preparing an empty text (no statement), would be a bug in this module's SQL.
        precondition(rest.allSatisfy(\.isWhitespace), "more than one statement in `\(sql)`: a bug in CellHub")
        guard let prepared else { preconditionFailure("no statement in `\(sql)`: a bug in CellHub") }
        return SQLiteStatement(handle: prepared, sql: sql)
    }
}

/// The handler of `SQLiteConnection.delegateCheckpoints`, boxed for SQLite's context pointer.
private final class WALHook {
    let handler: @Sendable (Int) -> Bool
    let restarted: @Sendable () -> Void
    let busyTimeoutMs: Int32

    init(_ handler: @escaping @Sendable (Int) -> Bool, restarted: @escaping @Sendable () -> Void, busyTimeoutMs: Int32) {
        self.handler = handler
        self.restarted = restarted
        self.busyTimeoutMs = busyTimeoutMs
    }
}
