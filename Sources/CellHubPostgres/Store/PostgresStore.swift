package import CellHub
package import CellHubSQL
package import EventLoop
import Synchronization

/// CellHub's storage in PostgreSQL: the same tables, counters, event log and semantics as the
/// SQLite store (CellHubStore), for several nodes sharing one database.
///
/// The repositories themselves — every operation and its SQL — are CellHubSQL's (`SQLStore`),
/// shared with the SQLite store; this type provides what is PostgreSQL's: the connection
/// pool, migrations under an advisory lock, the `log_head` lock that serialises writers, the
/// commit signal and the access generations.
///
/// Every write operation is one transaction that changes the rows, moves the counters
/// incrementally and appends exactly one row to `event_log` (the transactional outbox), whose
/// revision it returns; operations that change nothing append nothing and return a nil
/// revision. Each write transaction starts by locking the single row of `log_head` and, when
/// it records a change, takes its revision there (`UPDATE log_head SET revision = revision +
/// 1`): writes are serialised across every node exactly as SQLite's one writer serialises
/// them, so revisions are gap-free in commit order (see `SQLDialect.postgres`'s
/// `appendEvent`), and every check a write makes (a name taken, an idempotency key used) sees
/// the writes before it.
/// Each write transaction that records a change also sends `NOTIFY cellhub_log` (no payload:
/// the log is the data), and every store LISTENs (`ChangeListener`): another node's commit
/// wakes this store's commit listeners (the EventHub reads "the log after R"), and another
/// node's revocation moves this store's access generations, within a notification's round
/// trip — or, should the LISTEN connection drop, within the safety poll's interval. The
/// listener starts on a thread of its own; a server moves it onto one of its event loops
/// (`listen(on:)`).
///
/// A serving node also publishes who watches which project through it (`presence`, a
/// `PostgresPresenceBoard`: the `nodes` and `presence` tables and `NOTIFY cellhub_presence`),
/// so that every node's streams list the watchers of all nodes.
///
/// Reads run in REPEATABLE READ, READ ONLY transactions: every query of one call sees one
/// snapshot, as with SQLite's WAL readers.
///
/// Threading: calls are synchronous and block the calling thread for one transaction's round
/// trips over a connection of a small pool — as the SQLite store blocks for its transaction.
/// The domain already calls the store from its blocking pool, never from an event loop.
/// `payload` closures run inside the write transaction and must not call back into the store.
package final class PostgresStore: Sendable {
    package struct Options: Sendable {
        /// How long an upload's idempotency key is honoured.
        package var idempotencyWindowMs: Int64 = 24 * 3_600_000
        /// Milliseconds since the Unix epoch, UTC; read once per transaction.
        package var clock: @Sendable () -> Int64 = PostgresStore.systemClock
        /// New ids (users, projects, images, jobs, batches, leases, the epoch).
        package var makeID: @Sendable () -> String = PostgresStore.randomUUID
        /// The schema history to apply on open.
        package var migrations: [Migration] = PostgresMigrations.all
        /// Connections in the pool: concurrent calls each take a free one.
        package var connections = 4
        /// Whether to hear other nodes' commits and revocations (`ChangeListener`: one more
        /// connection, and one thread until `listen(on:)` moves it onto an event loop).
        package var listens = true
        /// How often the listener reads the log's head and the access generations without a
        /// notification: the longest another node's change can go unseen when the LISTEN
        /// connection dropped.
        package var safetyPollIntervalMs: Int64 = 1_000
        /// Where the listener's failures go (a lost or unopenable LISTEN connection, a failed
        /// safety poll): the store has no logger. The first is reported at once, then at most
        /// one per `faultReportIntervalMs`, with how many were left out.
        package var reportFault: @Sendable (String) -> Void = { _ in }
        package var faultReportIntervalMs: Int64 = 60_000
        /// How often a serving node's presence board proves it alive (and reads the other
        /// nodes' watchers without a notification).
        package var presenceHeartbeatIntervalMs: Int64 = 1_000
        /// How long a node may go without a heartbeat before the others take it for dead and
        /// drop its watchers: they leave within this plus one heartbeat interval.
        package var presenceExpiryMs: Int64 = 5_000

        package init() {}
    }

    /// Names the lifetime of this database's event log: created once, randomly, with the
    /// database; revisions of different epochs are not comparable.
    package let epoch: String
    /// Migrations applied by this open (empty when the database was up to date).
    package let appliedMigrations: [String]
    let options: Options
    /// The database's libpq URI: the listener's and the orphan-sweep lock's own connections.
    let url: String
    private let pool: ConnectionPool
    /// Concurrent writes of this node share a transaction: one `log_head` lock, one commit.
    private let group: GroupCommit<PGConnection>
    /// Called after every commit of this store (`CommitSignal`): the EventHub's wake-up.
    private let commitListeners: CommitListeners
    /// Changed after every revocation and membership change made through this store, and
    /// when the listener finds that another node made one (`access_generations` moved).
    let access: AccessGenerations
    /// Hears other nodes' commits; nil when `Options.listens` is off.
    private let listener: ChangeListener?
    /// What waits on the listener's socket: a thread from the open, an event loop after
    /// `listen(on:)`; nil when not listening. Stopped in deinit.
    private let driver = Mutex<(any ChangeListenerDriver)?>(nil)
    /// Woken by `NOTIFY cellhub_presence` (the listener): the presence board.
    private let presenceListeners = CommitListeners()
    /// Made on first use (`presence`): only a serving node publishes watchers. Stopped in deinit.
    private let board = Mutex<PostgresPresenceBoard?>(nil)

    /// Connects to `url` (a libpq URI, `postgres://…` or `postgresql://…`), applies pending
    /// migrations under an advisory lock and creates the epoch on first open.
    package init(url: String, options: Options = Options()) throws(StoreError) {
        self.options = options
        self.url = url
        let commitListeners = CommitListeners(), access = AccessGenerations()
        self.commitListeners = commitListeners
        self.access = access
        let pool: ConnectionPool
        let initial: ChangeListener.Snapshot
        do {
            pool = try ConnectionPool(url: url, size: options.connections)
            let opened = try pool.withConnection { db in
                try PostgresMigrations.apply(options.migrations, to: db, now: options.clock(), epoch: Self.randomUUID())
            }
            epoch = opened.epoch
            appliedMigrations = opened.applied
            initial = try pool.withConnection { db in try ChangeListener.snapshot(db) }
        } catch {
            throw StoreError.wrapping(error)
        }
        self.pool = pool
        group = GroupCommit(withWriter: { body in try pool.withConnection { body($0) } }) { commitListeners.wakeAll() }
        guard options.listens else {
            listener = nil
            return
        }
        let changes = ObservedChanges(initial, commitListeners: commitListeners, access: access)
        let presenceListeners = presenceListeners
        let listener = ChangeListener(
            url: url, safetyIntervalMs: options.safetyPollIntervalMs,
            poolRead: { try pool.withConnection { db in try ChangeListener.snapshot(db) } },
            observe: { changes.observe($0) }, presenceChanged: { presenceListeners.wakeAll() },
            report: options.reportFault, reportIntervalMs: options.faultReportIntervalMs)
        self.listener = listener
        driver.withLock { $0 = ListenerThread(listener) }
    }

    deinit {
        board.withLock { $0 }?.stop()
        stopListening()
    }

    /// Moves the listener onto `loop`: its thread ends (closing its LISTEN connection), and
    /// the loop watches a new one (opened, read once for what the move missed, off the loop).
    /// For a server, once its loops run; call `stopListening()` before `loop` stops — the
    /// loop deregisters the socket. Nothing when the store does not listen; not on `loop`.
    package func listen(on loop: EventLoop) {
        guard let listener else { return }
        driver.withLock { driver in
            driver?.stop()
            driver = ListenerLoopDriver(listener, loop: loop)
        }
    }

    /// Stops hearing other nodes' commits: closes the LISTEN connection, ends the thread or
    /// leaves the loop; returns once that is done. Idempotent; the deinit calls it.
    package func stopListening() {
        driver.withLock { driver in
            driver?.stop()
            driver = nil
        }
    }

    /// `CommitSignal`: this node's presence board (`PostgresPresenceBoard`), made on first use;
    /// the event hub starts and stops it.
    package var presence: (any PresenceBoard)? {
        board.withLock { board in
            if let board { return board }
            let made = PostgresPresenceBoard(
                pool: pool, heartbeatIntervalMs: options.presenceHeartbeatIntervalMs, expiryMs: options.presenceExpiryMs)
            presenceListeners.add { [weak made] in made?.othersChanged() }
            board = made
            return made
        }
    }

    /// The server process of the LISTEN connection; nil while it is not connected (tests).
    package var listenerBackendPID: Int32? { listener?.listenerBackendPID }

    /// Runs `body` as one write transaction at one instant (`Transaction.now`) and returns
    /// once it is committed; anything it throws rolls it back.
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

    /// Runs `body` in one REPEATABLE READ, READ ONLY transaction: one snapshot.
    package func read<T: Sendable>(_ body: (any SQLDatabase) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.withConnection { db in try db.readTransaction { try body(db) } }
        } catch {
            throw StoreError.wrapping(error)
        }
    }

    /// `CommitSignal`: `wake` runs after every commit of this store.
    /// Every node of a cluster writes to the same database.
    package var hasOtherWriters: Bool { true }

    package func onCommit(_ wake: @escaping @Sendable () -> Void) {
        commitListeners.add(wake)
    }

    package var idempotencyWindowMs: Int64 { options.idempotencyWindowMs }

    package func generation(_ generation: AccessGeneration) -> UInt64 { access.current(generation) }

    package func bumpGeneration(_ generation: AccessGeneration) { access.bump(generation) }

    /// The current time in milliseconds since the Unix epoch (the domain's clock).
    package static func systemClock() -> Int64 { SystemValues.milliseconds() }

    /// A random (version 4) UUID (the domain's ids).
    package static func randomUUID() -> String { SystemValues.randomUUID() }

    /// True when a connection to `url` can be opened now (for waiting on a server to start).
    package static func canConnect(url: String) -> Bool {
        (try? PGConnection(url: url)) != nil
    }

    /// Runs `sql` (no parameters, no results) on a connection of its own to `url`: for
    /// setting up servers and databases (tests, scripts), not for the store's data.
    package static func execute(_ sql: String, url: String) throws(StoreError) {
        do {
            try PGConnection(url: url).execute(sql)
        } catch {
            throw StoreError.wrapping(error)
        }
    }
}

/// The listener's reads compared with the last one: a newer head wakes the commit listeners,
/// moved shared generations move this store's (before the wake-up, so that what it wakes
/// finds them moved).
private final class ObservedChanges: Sendable {
    private let last: Mutex<ChangeListener.Snapshot>
    private let commitListeners: CommitListeners
    private let access: AccessGenerations

    init(_ initial: ChangeListener.Snapshot, commitListeners: CommitListeners, access: AccessGenerations) {
        last = Mutex(initial)
        self.commitListeners = commitListeners
        self.access = access
    }

    func observe(_ snapshot: ChangeListener.Snapshot) {
        let (committed, credentials, memberships) = last.withLock { last -> (Bool, Bool, Bool) in
            let moved = (
                snapshot.revision > last.revision, snapshot.credentials > last.credentials,
                snapshot.memberships > last.memberships)
            last.revision = max(last.revision, snapshot.revision)
            last.credentials = max(last.credentials, snapshot.credentials)
            last.memberships = max(last.memberships, snapshot.memberships)
            return moved
        }
        if credentials { access.bump(.credentials) }
        if memberships { access.bump(.memberships) }
        if committed { commitListeners.wakeAll() }
    }
}

/// Every write transaction starts by locking `log_head`: writers are serialised across nodes
/// until commit (see `PostgresStore`); a group of this node's writes takes the lock once.
extension PGConnection: GroupCommitConnection {
    static let writeLock = "SELECT revision FROM log_head FOR UPDATE"

    func writeTransaction(_ body: () throws -> Void) throws { try transaction(first: Self.writeLock, body) }
}
