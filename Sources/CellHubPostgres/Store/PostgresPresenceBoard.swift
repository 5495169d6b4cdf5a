import CellHub
import CellHubSQL
import Synchronization

/// The presence board of nodes sharing one PostgreSQL database: each node keeps its watchers
/// in `presence` rows under its own `nodes` row (see `PostgresSchemaV3Presence`) and reads
/// the other live nodes' rows.
///
/// Everything runs on the board's own thread, never on the hub's or an event loop: the hub's
/// edges (`setWatching`) only mark a (project, user) dirty, and one write transaction takes
/// every dirty mark at once (coalesced), writes the node's rows as they stand and sends
/// `NOTIFY cellhub_presence` (no payload: the rows are the data). The store's change listener
/// hears that notification and calls `othersChanged`, and the board reads every other live
/// node's rows; when they differ from its last read, the hub hears them.
///
/// Liveness: a heartbeat every `heartbeatIntervalMs` moves this node's `last_seen_at` (the
/// database's clock), deletes the nodes no one saw for `expiryMs` (their rows go with them)
/// and reads again. Reads ignore the rows of nodes past the expiry whether or not someone
/// deleted them yet. So a node that dies without withdrawing (kill -9, a lost host) has its
/// watchers leave every other node's streams within `expiryMs + heartbeatIntervalMs` of its
/// death — 6 s with the defaults: its rows are ignored from its last heartbeat plus the
/// expiry on, and every live node reads at least once an interval. A node that stops cleanly
/// (`stop`) withdraws them at once. A live node that could not heartbeat for longer than the
/// expiry (a stalled database connection) is taken for dead; its next heartbeat finds its row
/// gone and writes all its watchers again, so the others see them leave and join again.
///
/// A failing database costs presence, never the hub: writes are retried (all rows rewritten)
/// with each heartbeat, and the first failure of a streak is reported.
final class PostgresPresenceBoard: PresenceBoard {
    /// This node in `nodes`: random per board, so per process start.
    let nodeID: String
    private let pool: ConnectionPool
    private let heartbeatIntervalMs: Int64
    private let worker = SerialWorker(name: "presence-board")
    /// This node's watchers as the hub reported them, and what is not written yet. Any thread.
    private let local = Mutex(Local())
    private let readPending = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private let failureCount = Atomic<Int>(0)
    /// Confined to `worker`.
    private let confined = Confined()

    private let upsertNodeSQL = """
        INSERT INTO nodes (node_id, started_at, last_seen_at) VALUES (?, clock_timestamp(), clock_timestamp())
        ON CONFLICT (node_id) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at
        """
    private let insertSQL = """
        INSERT INTO presence (node_id, project_id, user_id, user_name, since_at) VALUES (?, ?, ?, ?, clock_timestamp())
        ON CONFLICT (node_id, project_id, user_id) DO NOTHING
        """
    /// Statements naming the expiry: built once from an integer (no user text in them).
    private let sweepSQL: String
    private let readSQL: String

    private struct Key: Hashable {
        var projectID: String
        var userID: String
    }

    private struct Local {
        var watching: [Key: UserRef] = [:]
        var dirty: Set<Key> = []
        var flushQueued = false
        /// The node's row and all its watchers must be written again: at start, after a
        /// failed write, after another node took this one for dead.
        var rewrite = true
    }

    private final class Confined: @unchecked Sendable {
        var observe: (@Sendable (RemoteWatchers) -> Void)?
        var reportFault: (@Sendable (String) -> Void)?
        var lastRead: RemoteWatchers?
        var failing = false
        var withdrawn = false
    }

    init(pool: ConnectionPool, heartbeatIntervalMs: Int64, expiryMs: Int64, nodeID: String = SystemValues.randomUUID()) {
        precondition(heartbeatIntervalMs > 0 && expiryMs > heartbeatIntervalMs, "the expiry must span several heartbeats")
        self.pool = pool
        self.nodeID = nodeID
        self.heartbeatIntervalMs = heartbeatIntervalMs
        let expired = "clock_timestamp() - interval '\(expiryMs) milliseconds'"
        sweepSQL = "DELETE FROM nodes WHERE last_seen_at < \(expired)"
        readSQL = """
            SELECT p.project_id, p.user_id, p.user_name FROM presence p JOIN nodes n ON n.node_id = p.node_id
            WHERE p.node_id <> ? AND n.last_seen_at >= \(expired)
            """
    }

    // MARK: PresenceBoard

    func start(observe: @escaping @Sendable (RemoteWatchers) -> Void, reportFault: @escaping @Sendable (String) -> Void) {
        precondition(!started.exchange(true, ordering: .acquiringAndReleasing), "a presence board starts once")
        guard !stopped.load(ordering: .acquiring) else { return }
        // The first heartbeat, write and read before returning: the hub applies that read
        // before any stream subscribes.
        worker.sync { [self] in
            confined.observe = observe
            confined.reportFault = reportFault
            heartbeat()
        }
        scheduleHeartbeat()
    }

    func setWatching(_ watching: Bool, projectID: String, user: UserRef) {
        guard !stopped.load(ordering: .acquiring) else { return }
        let queue = local.withLock { local -> Bool in
            let key = Key(projectID: projectID, userID: user.id)
            local.watching[key] = watching ? user : nil
            local.dirty.insert(key)
            defer { local.flushQueued = true }
            return !local.flushQueued
        }
        if queue { worker.execute { [self] in flush() } }
    }

    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if started.load(ordering: .acquiring) { worker.sync { [self] in withdraw() } }
        worker.stop()
    }

    /// Another node's watchers may have changed (`NOTIFY cellhub_presence`, or the LISTEN
    /// connection reopened): read them on the board's thread, once however many arrive.
    func othersChanged() {
        guard started.load(ordering: .acquiring), !stopped.load(ordering: .acquiring),
              !readPending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        worker.execute { [self] in
            readPending.store(false, ordering: .releasing)
            read()
        }
    }

    /// Failed writes and reads so far (diagnostics, tests).
    var failures: Int { failureCount.load(ordering: .relaxed) }

    // MARK: On the board's thread

    private func scheduleHeartbeat() {
        worker.schedule(afterNanoseconds: UInt64(heartbeatIntervalMs) * 1_000_000) { [weak self] in
            guard let self, !self.stopped.load(ordering: .acquiring) else { return }
            self.heartbeat()
            self.scheduleHeartbeat()
        }
    }

    /// Moves this node's `last_seen_at`, deletes the dead nodes (and so their watchers), writes
    /// everything again if this node's row was gone, then reads.
    private func heartbeat() {
        guard !confined.withdrawn else { return }
        let failuresBefore = failures
        do {
            // Two statements, each its own transaction: a sweep never holds this node's row
            // locked while it waits for another's (two stalled nodes sweeping each other).
            let alive = try pool.withConnection { [self] db in
                let alive = try db.run("UPDATE nodes SET last_seen_at = clock_timestamp() WHERE node_id = ?", nodeID) == 1
                if try db.run(sweepSQL) > 0 { try db.execute("NOTIFY \(ChangeListener.presenceChannel)") }
                return alive
            }
            if !alive { local.withLock { $0.rewrite = true } }
        } catch {
            failed("the heartbeat", error)
        }
        if local.withLock({ $0.rewrite }) { flush() }
        read()
        // A whole round without a failure ends the streak: the next failure is reported.
        if failures == failuresBefore { confined.failing = false }
    }

    /// Writes what changed in this node's watchers since the last write (all of them after a
    /// failure), in one transaction with its NOTIFY.
    private func flush() {
        guard !confined.withdrawn else { return }
        let (watching, dirty, rewrite) = local.withLock { local in
            defer {
                local.dirty = []
                local.rewrite = false
                local.flushQueued = false
            }
            return (local.watching, local.dirty, local.rewrite)
        }
        guard rewrite || !dirty.isEmpty else { return }
        do {
            try pool.withConnection { [self] db in
                try db.transaction {
                    try db.run(upsertNodeSQL, nodeID)
                    if rewrite { try db.run("DELETE FROM presence WHERE node_id = ?", nodeID) }
                    for key in rewrite ? Array(watching.keys) : Array(dirty) {
                        if let user = watching[key] {
                            try db.run(insertSQL, nodeID, key.projectID, key.userID, user.name)
                        } else {
                            try db.run("DELETE FROM presence WHERE node_id = ? AND project_id = ? AND user_id = ?", nodeID, key.projectID, key.userID)
                        }
                    }
                    try db.execute("NOTIFY \(ChangeListener.presenceChannel)")
                }
            }
        } catch {
            local.withLock { $0.rewrite = true }  // the next heartbeat writes everything
            failed("writing this node's watchers", error)
        }
    }

    /// Reads every other live node's watchers and hands them to the hub when they changed.
    private func read() {
        guard !confined.withdrawn else { return }
        let rows: [(projectID: String, user: UserRef)]
        do {
            rows = try pool.withConnection { [self] db in
                try db.query(readSQL, nodeID) { ($0.string(0), UserRef(id: $0.string(1), name: $0.string(2))) }
            }
        } catch {
            failed("reading other nodes' watchers", error)
            return
        }
        var remote: RemoteWatchers = [:]
        for row in rows { remote[row.projectID, default: [:]][row.user.id] = row.user }
        guard remote != confined.lastRead else { return }
        confined.lastRead = remote
        confined.observe?(remote)
    }

    /// Deletes this node (its watchers go with it) and tells the others.
    private func withdraw() {
        confined.withdrawn = true
        do {
            try pool.withConnection { [self] db in
                try db.transaction {
                    try db.run("DELETE FROM nodes WHERE node_id = ?", nodeID)
                    try db.execute("NOTIFY \(ChangeListener.presenceChannel)")
                }
            }
        } catch {
            failed("withdrawing this node's watchers (they expire instead)", error)
        }
    }

    private func failed(_ what: String, _ error: any Error) {
        let count = failureCount.add(1, ordering: .relaxed).newValue
        guard !confined.failing else { return }
        confined.failing = true
        confined.reportFault?("presence board: \(what) failed (failure \(count); retried with each heartbeat): \(error)")
    }
}
