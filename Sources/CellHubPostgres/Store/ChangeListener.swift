import CellHub
import CellHubSQL
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What a node learns of other nodes' commits: one dedicated libpq connection that LISTENs on
/// `cellhub_log` (and `cellhub_presence`), plus a safety poll — the part both of its drivers
/// share (`ListenerThread`, `ListenerLoopDriver`).
///
/// A notification carries no data (the log is the data): on one, the log's head and the
/// shared access generations are read (the thread reads them on the LISTEN connection, the
/// loop driver through the pool, off the loop) and handed to `observe`, which wakes the commit
/// listeners (the EventHub then reads "the log after R") and moves the local generations.
/// Every `safetyIntervalMs` they are also read through `poolRead` (the store's pool, not the
/// LISTEN connection): a LISTEN connection that died silently, or a notification lost while
/// reconnecting, costs at most one interval. A broken LISTEN connection is reopened with
/// exponential backoff (`Backoff`: 50 ms doubling to 5 s); each opening reads once, for what
/// was committed while nobody listened. Failures go to `report` (the store has no logger):
/// the first at once, then at most one per `reportIntervalMs` with how many were not
/// reported — a database that is down fails at every retry and every poll.
///
/// A notification on `cellhub_presence` (a node's watchers changed; no payload either) only
/// calls `presenceChanged`: the presence board reads the rows on its own thread. Each opening
/// of the connection calls it too (changes while nobody listened); the board's own periodic
/// read covers a connection that died silently.
///
/// Who waits on the socket is the driver's business: a thread of its own blocked in `poll`
/// (`ListenerThread`: a store opens with it, since every `cellhubd` command but `serve` and
/// most tests run no event loop), or an event loop of the server (`ListenerLoopDriver`, once
/// `serve` calls `PostgresStore.listen(on:)`: no thread of the listener's own, blocking
/// libpq calls — connecting, reads — on two serial queues off the loop). This type does the
/// work both need, each method saying whether it blocks. Its methods may run on several
/// threads at once (the loop driver reads through the pool on one queue while it opens a
/// connection on another): its own state is atomic or locked; a connection it is handed is
/// used by one thread at a time, its driver's.
final class ChangeListener: Sendable {
    /// The log's head and the access generations, as one read saw them.
    struct Snapshot: Equatable, Sendable {
        var revision: Int64
        var credentials: Int64
        var memberships: Int64
    }

    static let snapshotSQL = """
        SELECT l.revision, g.credentials, g.memberships FROM log_head l CROSS JOIN access_generations g
        """

    private let url: String
    let safetyIntervalMs: Int64
    private let poolRead: @Sendable () throws -> Snapshot
    private let observe: @Sendable (Snapshot) -> Void
    private let presenceChanged: @Sendable () -> Void
    /// The backend pid of the LISTEN connection (0 while there is none): for tests.
    private let backendPID = Atomic<Int32>(0)
    /// Failed connects, reads and safety reads so far (diagnostics; a failure here only
    /// delays wake-ups).
    private let failureCount = Atomic<Int>(0)
    /// Where failures are reported, and at most how often.
    private let report: @Sendable (String) -> Void
    private let reportIntervalMs: Int64
    /// The last failure's text, when one was last reported and how many since were not. A
    /// lock, not confinement: with an event loop driving, failures happen on the loop and on
    /// the driver's queues.
    private let reporting = Mutex<Reporting>(Reporting())
    /// Notifications received so far (tests, diagnostics).
    private let notificationCount = Atomic<Int>(0)

    private struct Reporting {
        var last: String?
        var reportedAtMs: Int64?
        var unreported = 0
    }

    init(
        url: String, safetyIntervalMs: Int64, poolRead: @escaping @Sendable () throws -> Snapshot,
        observe: @escaping @Sendable (Snapshot) -> Void, presenceChanged: @escaping @Sendable () -> Void,
        report: @escaping @Sendable (String) -> Void, reportIntervalMs: Int64
    ) {
        self.url = url
        self.report = report
        self.reportIntervalMs = reportIntervalMs
        self.safetyIntervalMs = safetyIntervalMs
        self.poolRead = poolRead
        self.observe = observe
        self.presenceChanged = presenceChanged
    }

    var listenerBackendPID: Int32? {
        let pid = backendPID.load(ordering: .acquiring)
        return pid == 0 ? nil : pid
    }

    var failures: (count: Int, last: String?) { (failureCount.load(ordering: .relaxed), reporting.withLock { $0.last }) }

    var notifications: Int { notificationCount.load(ordering: .relaxed) }

    /// The LISTEN connection's `application_name`: "cellhub listener (pid N)", N this process.
    static var applicationName: String { "cellhub listener (pid \(getpid()))" }

    /// The channel on which a node announces that its watchers changed (`PostgresPresenceBoard`).
    static let presenceChannel = "cellhub_presence"

    // MARK: The connection

    /// Opens the LISTEN connection and reads once on it (what was committed while none was
    /// open); after a failure the next attempt is in `retryInMs`. Blocks (`PQconnectdb`, two
    /// round trips).
    func open(retryInMs: Int64) -> PGConnection? {
        do {
            let connection = try PGConnection(url: url)
            // Named, so that an operator (or a test) finds a node's listener in pg_stat_activity.
            try connection.execute("SET application_name = '\(Self.applicationName)'; LISTEN cellhub_log; LISTEN \(Self.presenceChannel)")
            backendPID.store(connection.backendPID, ordering: .releasing)
            try catchUp(connection)
            presenceChanged()
            return connection
        } catch {
            backendPID.store(0, ordering: .releasing)
            failed("cannot open the LISTEN connection (retrying in \(retryInMs) ms): \(error)")
            return nil
        }
    }

    /// What the input that arrived on the LISTEN connection held.
    enum Input { case broken, quiet, logChanged }

    /// Takes the input that arrived and its notifications (presence ones are passed on here).
    /// Never blocks: `PQconsumeInput` reads only what the socket holds.
    func takeInput(_ connection: PGConnection) -> Input {
        guard connection.consumeInput() else {
            failed("the LISTEN connection broke (reconnecting now): \(connection.lastErrorMessage)")
            notListening()
            return .broken
        }
        return heard(connection.takeNotifications()) ? .logChanged : .quiet
    }

    /// Reads and observes the snapshot on the LISTEN connection after a notification; false
    /// when the connection broke. Blocks for the read's round trip.
    func catchUp(on connection: PGConnection) -> Bool {
        do {
            try catchUp(connection)
            return true
        } catch {
            failed("reading the log's head after a notification failed: \(error)")
            guard connection.isBroken else { return true }
            notListening()
            return false
        }
    }

    /// There is no LISTEN connection (any more).
    func notListening() { backendPID.store(0, ordering: .releasing) }

    /// Reads and observes the snapshot until no notification arrived during the read: libpq
    /// queues those it reads along with a result, and the socket would not report them again.
    private func catchUp(_ connection: PGConnection) throws {
        while true {
            observe(try Self.snapshot(connection))
            guard heard(connection.takeNotifications()) else { return }
        }
    }

    /// Counts `channels`, passes presence notifications on; true when one was the log's.
    private func heard(_ channels: [String]) -> Bool {
        guard !channels.isEmpty else { return false }
        notificationCount.add(channels.count, ordering: .relaxed)
        if channels.contains(Self.presenceChannel) { presenceChanged() }
        return channels.contains { $0 != Self.presenceChannel }
    }

    // MARK: Reads through the pool

    /// Why a read goes through the pool: the wording of its failure.
    enum PoolReadReason { case safetyPoll, notification }

    /// Reads the snapshot through the store's pool and observes it. Blocks for a pool
    /// connection and a round trip.
    func readThroughPool(_ reason: PoolReadReason) {
        do {
            observe(try poolRead())
        } catch {
            switch reason {
            case .safetyPoll: failed("the safety read failed (the next in \(safetyIntervalMs) ms): \(error)")
            case .notification: failed("reading the log's head after a notification failed: \(error)")
            }
        }
    }

    /// The log's head and the access generations, read on `db`.
    static func snapshot(_ db: PGConnection) throws -> Snapshot {
        guard let snapshot = try db.queryOne(snapshotSQL, row: {
            Snapshot(revision: $0.int64(0), credentials: $0.int64(1), memberships: $0.int64(2))
        }) else {
            preconditionFailure("log_head or access_generations has no row: a bug in CellHub")
        }
        return snapshot
    }

    // MARK: Failures

    /// Counts a failure and reports it, unless one was reported less than `reportIntervalMs`
    /// ago: then the next report says how many it left out.
    func failed(_ description: String) {
        let count = failureCount.add(1, ordering: .relaxed).newValue
        let now = Self.now()
        let left: String? = reporting.withLock { reporting in
            reporting.last = description
            if let last = reporting.reportedAtMs, now - last < reportIntervalMs {
                reporting.unreported += 1
                return nil
            }
            defer {
                reporting.reportedAtMs = now
                reporting.unreported = 0
            }
            return reporting.unreported > 0 ? "; \(reporting.unreported) more since the last report" : ""
        }
        guard let left else { return }
        // One log line: libpq's messages run over several ("server closed the connection
        // unexpectedly\n\tThis probably means …").
        let line = description.split(whereSeparator: \.isNewline)
            .map { $0.drop { $0.isWhitespace } }.joined(separator: " ")
        report(
            "PostgreSQL change listener: \(line) (failure \(count)\(left); until it listens again other nodes' changes "
                + "are seen by the safety poll, every \(safetyIntervalMs) ms)")
    }

    /// Monotonic milliseconds.
    static func now() -> Int64 { Int64(monotonicNow() / 1_000_000) }
}

extension ChangeListener {
    /// When the next attempt to open the LISTEN connection is due: 50 ms after a failure,
    /// doubling with each further one up to 5 s; after a connection broke, at once (a single
    /// drop is the common case).
    struct Backoff {
        static let firstMs: Int64 = 50
        static let maxMs: Int64 = 5_000

        /// The delay after the next failure.
        private(set) var delayMs = Self.firstMs

        /// An attempt failed: returns the delay before the next one and doubles it.
        mutating func failed() -> Int64 {
            defer { delayMs = min(delayMs * 2, Self.maxMs) }
            return delayMs
        }

        /// An attempt succeeded: the next failure waits the first delay again.
        mutating func reset() { delayMs = Self.firstMs }
    }
}

/// Waits on a `ChangeListener`'s socket and timers: a thread of its own (`ListenerThread`) or
/// an event loop (`ListenerLoopDriver`).
protocol ChangeListenerDriver: Sendable {
    /// Closes the LISTEN connection and ends every wait; returns once nothing of the driver
    /// runs any more. Idempotent.
    func stop()
}
