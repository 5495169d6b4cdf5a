package import CellHub
package import CellHubSQL
#if canImport(Glibc)
import Glibc
#endif

/// CellHub's storage: users, projects, shares, images, segmentation jobs, their counters and
/// the event log, in one SQLite database.
///
/// The repositories themselves — every operation and its SQL — are CellHubSQL's (`SQLStore`),
/// shared with the PostgreSQL store; this type provides what is SQLite's: opening and
/// migrations, the connections, group commit, the commit signal and the access generations.
///
/// Every write operation is one `BEGIN IMMEDIATE` transaction that changes the rows, moves
/// the counters incrementally (never recounts) and appends exactly one row to `event_log`
/// (the transactional outbox), whose revision it returns. Operations that turn out to change
/// nothing append nothing and return a nil revision. The event payload is encoded by the
/// caller from the operation's result, inside the transaction (the `payload` closures), so
/// the log holds exactly what was committed; fan-out happens after the call returns.
///
/// Threading: writes are serialised on one connection behind a lock, so revisions commit in
/// order; reads use a few read-only connections, each taken by one read at a time (WAL: they
/// never wait for a write and see only committed data). Calls block the calling thread for the length of one transaction —
/// call them off latency-sensitive threads. `payload` closures run under the write lock and
/// must not call back into the store.
package final class Store: Sendable {
    /// How to open the store; the clock and id generator are injectable for tests.
    package struct Options: Sendable {
        /// `synchronous=FULL` (every commit is fsynced) instead of NORMAL.
        package var durable = false
        /// How long a connection waits for a lock held by another process (e.g. an admin
        /// command running while the server is).
        package var busyTimeoutMs: Int32 = 5_000
        /// How long an upload's idempotency key is honoured.
        package var idempotencyWindowMs: Int64 = 24 * 3_600_000
        /// Milliseconds since the Unix epoch, UTC; read once per transaction.
        package var clock: @Sendable () -> Int64 = Store.systemClock
        /// New ids (users, projects, images, jobs, batches, leases, the epoch).
        package var makeID: @Sendable () -> String = Store.randomUUID
        /// The schema history to apply on open (tests append to it).
        package var migrations: [Migration] = Migrations.all
        /// Read-only connections: concurrent reads (stats, lists, authentication) each take
        /// a free one instead of queueing on a single connection.
        package var readerCount = 4
        /// WAL size (frames) past which the writer restarts the WAL after a background pass.
        package var walRestartFrames = Checkpointer.restartFrames

        package init() {}
    }

    /// The database file.
    package let path: String
    /// Names the lifetime of this database's event log: created once, randomly, with the
    /// database; revisions of different epochs are not comparable.
    package let epoch: String
    /// Migrations applied by this open (empty when the database was up to date).
    package let appliedMigrations: [String]
    let options: Options
    /// The only connection that writes; used only by `group`'s leaders.
    private let writer: LockedConnection
    /// Every write goes through it (`write`).
    private let group: GroupCommit<SQLiteConnection>
    /// Read-only connections, used only inside `read`.
    private let readers: LendingPool<LockedConnection>
    /// Runs the WAL checkpoints off the commit path.
    let checkpointer: Checkpointer
    /// Called after every commit (`CommitSignal`): the EventHub's wake-up.
    private let commitListeners: CommitListeners
    /// Changed after every revocation and membership change, by any process
    /// (`UserRepository.credentialsGeneration`, `ProjectRepository.membershipGeneration`).
    let access: AccessGenerations

    /// Opens (creating if needed) the database at `path`, applies pending migrations and
    /// creates the epoch on first open.
    package init(path: String, options: Options = Options()) throws(StoreError) {
        let opened: (writer: SQLiteConnection, readers: [SQLiteConnection], checkpointer: SQLiteConnection, epoch: String, applied: [String])
        do {
            opened = try Self.open(path: path, options: options)
        } catch {
            throw StoreError.wrapping(error)
        }
        self.path = path
        self.options = options
        access = AccessGenerations(databasePath: path)
        self.epoch = opened.epoch
        self.appliedMigrations = opened.applied
        let writer = LockedConnection(opened.writer)
        self.writer = writer
        // After each commit (a transaction that changed nothing wakes for nothing harmful).
        let listeners = CommitListeners()
        commitListeners = listeners
        group = GroupCommit(withWriter: { body in try writer.withConnection { body($0) } }) { listeners.wakeAll() }
        self.readers = LendingPool(opened.readers.map(LockedConnection.init))
        let checkpointer = Checkpointer(connection: opened.checkpointer, restartFrames: options.walRestartFrames)
        self.checkpointer = checkpointer
        do {
            try opened.writer.delegateCheckpoints(
                { frames in checkpointer.committed(walFrames: frames) }, restarted: { checkpointer.restarted() })
        } catch {
            checkpointer.stop()
            throw StoreError.wrapping(error)
        }
    }

    deinit {
        checkpointer.stop()
    }

    private static func open(
        path: String, options: Options
    ) throws -> (writer: SQLiteConnection, readers: [SQLiteConnection], checkpointer: SQLiteConnection, epoch: String, applied: [String]) {
        let writer = try SQLiteConnection(path: path, mode: .readWrite, durable: options.durable, busyTimeoutMs: options.busyTimeoutMs)
        let applied = try Migrations.apply(options.migrations, to: writer, now: options.clock())
        try writer.run("INSERT OR IGNORE INTO store_meta (key, value) VALUES ('epoch', ?)", randomUUID())
        let epoch = try writer.queryOne("SELECT value FROM store_meta WHERE key = 'epoch'") { $0.string(0) } ?? ""
        // Opened after the writer so the WAL and shared-memory files exist (a read-only
        // connection cannot create them).
        let readers = try (0..<max(1, options.readerCount)).map { _ in
            try SQLiteConnection(path: path, mode: .readOnly, busyTimeoutMs: options.busyTimeoutMs)
        }
        let checkpointer = try SQLiteConnection(
            path: path, mode: .readWrite, durable: options.durable, busyTimeoutMs: options.busyTimeoutMs)
        return (writer, readers, checkpointer, epoch, applied)
    }

    /// Runs `body` as one write transaction at one instant (`Transaction.now`) — or, when
    /// other writes wait at the same time, as one savepoint of a shared transaction (group
    /// commit: one fsync for all) — and returns once it is committed. Anything it throws
    /// rolls back its own changes only.
    package func write<T: Sendable>(_ body: (Transaction) throws -> T) throws(StoreError) -> T {
        var result: T?
        do {
            try group.write { db in
                result = try body(Transaction(db: db, now: options.clock(), makeID: options.makeID))
            }
        } catch {
            throw StoreError.wrapping(error)
        }
        return result!
    }

    /// Write transactions run by this store: fewer than the writes when concurrent writes
    /// shared one (group commit).
    package var writeTransactions: Int { group.transactions }

    /// `CommitSignal`: `wake` runs after every commit of this store.
    /// One `serve` per database file (`serve.lock`); admin commands move no counters.
    package var hasOtherWriters: Bool { false }

    /// One `serve` per database file: its hub's watchers are all there are.
    package var presence: (any PresenceBoard)? { nil }

    package func onCommit(_ wake: @escaping @Sendable () -> Void) {
        commitListeners.add(wake)
    }

    /// Runs `body` in one read transaction on a free reader, so all its queries see the same
    /// snapshot.
    package func read<T: Sendable>(_ body: (any SQLDatabase) throws -> T) throws(StoreError) -> T {
        do {
            return try readers.withResource { reader in try reader.withConnection { db in try db.readTransaction { try body(db) } } }
        } catch {
            throw StoreError.wrapping(error)
        }
    }

    package var idempotencyWindowMs: Int64 { options.idempotencyWindowMs }

    package func generation(_ generation: AccessGeneration) -> UInt64 { access.current(generation) }

    package func bumpGeneration(_ generation: AccessGeneration) { access.bump(generation) }

    /// The current time in milliseconds since the Unix epoch (the domain's clock).
    package static func systemClock() -> Int64 { SystemValues.milliseconds() }

    /// A random (version 4) UUID (the domain's ids).
    package static func randomUUID() -> String { SystemValues.randomUUID() }
}
