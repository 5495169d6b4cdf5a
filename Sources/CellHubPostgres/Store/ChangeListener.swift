import CellHub
import CellHubSQL
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What a node learns of other nodes' commits: one dedicated libpq connection that LISTENs on
/// `cellhub_log` (and `cellhub_presence`), watched by one thread blocked in `poll(2)`, plus a
/// safety poll.
///
/// A notification carries no data (the log is the data): on one, the thread reads the log's
/// head and the shared access generations on its own connection and hands them to `observe`,
/// which wakes the commit listeners (the EventHub then reads "the log after R") and moves the
/// local generations. Every `safetyIntervalMs` it also reads them through `safetyRead` (the
/// store's pool, not the LISTEN connection): a LISTEN connection that died silently, or a
/// notification lost while reconnecting, costs at most one interval. A broken LISTEN
/// connection is reopened with exponential backoff (50 ms doubling to 5 s); each reopening
/// reads once, for what was committed while nobody listened. Failures go to `report` (the
/// store has no logger): the first at once, then at most one per `reportIntervalMs` with how
/// many were not reported — a database that is down fails at every retry and every poll.
///
/// A notification on `cellhub_presence` (a node's watchers changed; no payload either) only
/// calls `presenceChanged`: the presence board reads the rows on its own thread. Each opening
/// of the connection calls it too (changes while nobody listened); the board's own periodic
/// read covers a connection that died silently.
///
/// Why a thread and not an event loop: the store is opened by every `cellhubd` command and by
/// the tests, most of which run no event loop, and CellHubPostgres does not depend on
/// EventLoop (it would be the store's only reason to); the thread sleeps in `poll` on two
/// descriptors and costs nothing while the database is quiet. libpq's connecting
/// (`PQconnectdb`) blocks, which would be a second reason to keep it off a loop.
final class ChangeListener: @unchecked Sendable {
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
    private let safetyIntervalMs: Int64
    private let safetyRead: @Sendable () throws -> Snapshot
    private let observe: @Sendable (Snapshot) -> Void
    private let presenceChanged: @Sendable () -> Void
    /// Written once by `stop` to end the thread's `poll`; both ends owned by this object,
    /// closed in deinit after the thread exited.
    private let stopPipe: (read: Int32, write: Int32)
    private let exited = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)
    /// The backend pid of the LISTEN connection (0 while there is none): for tests.
    private let backendPID = Atomic<Int32>(0)
    /// Failed connects, reads and safety reads so far, and the last one's text (diagnostics;
    /// a failure here only delays wake-ups).
    private let failureCount = Atomic<Int>(0)
    private let lastFailure = Mutex<String?>(nil)
    /// Where failures are reported, and at most how often.
    private let report: @Sendable (String) -> Void
    private let reportIntervalMs: Int64
    /// When a failure was last reported, and how many since were not. Confined to the thread
    /// (every failure happens in `run`).
    private var reportedAtMs: Int64?
    private var unreported = 0
    /// Notifications received so far (tests, diagnostics).
    private let notificationCount = Atomic<Int>(0)

    init(
        url: String, safetyIntervalMs: Int64, safetyRead: @escaping @Sendable () throws -> Snapshot,
        observe: @escaping @Sendable (Snapshot) -> Void, presenceChanged: @escaping @Sendable () -> Void,
        report: @escaping @Sendable (String) -> Void, reportIntervalMs: Int64
    ) {
        self.url = url
        self.report = report
        self.reportIntervalMs = reportIntervalMs
        self.safetyIntervalMs = safetyIntervalMs
        self.safetyRead = safetyRead
        self.observe = observe
        self.presenceChanged = presenceChanged
        var ends: [Int32] = [0, 0]
        let status = pipe(&ends)
        precondition(status == 0, "pipe failed: errno \(errno)")
        // Not inherited by processes the server starts.
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        stopPipe = (ends[0], ends[1])
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            Unmanaged<ChangeListener>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, box.toOpaque())
        precondition(created == 0, "pthread_create failed: \(created)")
        pthread_detach(thread)
    }

    deinit {
        close(stopPipe.read)
        close(stopPipe.write)
    }

    /// Ends the thread and closes its connection; returns once it is gone. Idempotent.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(stopPipe.write, &byte, 1)
        exited.wait()
    }

    var listenerBackendPID: Int32? {
        let pid = backendPID.load(ordering: .acquiring)
        return pid == 0 ? nil : pid
    }

    var failures: (count: Int, last: String?) { (failureCount.load(ordering: .relaxed), lastFailure.withLock { $0 }) }

    var notifications: Int { notificationCount.load(ordering: .relaxed) }

    // MARK: The thread

    private func run() {
        var connection: PGConnection?
        var backoffMs: Int64 = Self.firstBackoffMs
        var retryAt: Int64 = 0
        var safetyAt = Self.now() + safetyIntervalMs
        while true {
            let now = Self.now()
            if connection == nil, now >= retryAt {
                connection = connect(retryInMs: backoffMs)
                if connection == nil {
                    retryAt = now + backoffMs
                    backoffMs = min(backoffMs * 2, Self.maxBackoffMs)
                } else {
                    backoffMs = Self.firstBackoffMs
                }
            }
            let deadline = connection == nil ? min(safetyAt, retryAt) : safetyAt
            let event = wait(on: connection, untilMs: deadline)
            if event == .stop { break }
            if event == .readable, let open = connection, !read(open) {
                connection = nil
                backoffMs = Self.firstBackoffMs
                retryAt = Self.now()  // reconnect at once: a single drop is the common case
            }
            if Self.now() >= safetyAt {
                safetyAt = Self.now() + safetyIntervalMs
                do {
                    observe(try safetyRead())
                } catch {
                    failed("the safety read failed (the next in \(safetyIntervalMs) ms): \(error)")
                }
            }
        }
        backendPID.store(0, ordering: .releasing)
        connection = nil  // PQfinish
        exited.signal()
    }

    /// The LISTEN connection's `application_name`: "cellhub listener (pid N)", N this process.
    static var applicationName: String { "cellhub listener (pid \(getpid()))" }

    private static let firstBackoffMs: Int64 = 50
    private static let maxBackoffMs: Int64 = 5_000

    /// Opens the LISTEN connection and reads once (what was committed while none was open);
    /// after a failure the next attempt is in `retryInMs`.
    private func connect(retryInMs: Int64) -> PGConnection? {
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

    /// Takes the input that arrived and, when it held notifications, reads the snapshot on the
    /// same connection. False when the connection broke.
    private func read(_ connection: PGConnection) -> Bool {
        guard connection.consumeInput() else {
            failed("the LISTEN connection broke (reconnecting now): \(connection.lastErrorMessage)")
            backendPID.store(0, ordering: .releasing)
            return false
        }
        guard heard(connection.takeNotifications()) else { return true }
        do {
            try catchUp(connection)
            return true
        } catch {
            failed("reading the log's head after a notification failed: \(error)")
            backendPID.store(0, ordering: .releasing)
            return !connection.isBroken
        }
    }

    /// Reads and observes the snapshot until no notification arrived during the read: libpq
    /// queues those it reads along with a result, and `poll` would not report them again.
    private func catchUp(_ connection: PGConnection) throws {
        while true {
            observe(try Self.snapshot(connection))
            guard heard(connection.takeNotifications()) else { return }
        }
    }

    /// The channel on which a node announces that its watchers changed (`PostgresPresenceBoard`).
    static let presenceChannel = "cellhub_presence"

    /// Counts `channels`, passes presence notifications on; true when one was the log's.
    private func heard(_ channels: [String]) -> Bool {
        guard !channels.isEmpty else { return false }
        notificationCount.add(channels.count, ordering: .relaxed)
        if channels.contains(Self.presenceChannel) { presenceChanged() }
        return channels.contains { $0 != Self.presenceChannel }
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

    private enum Event { case stop, readable, timeout }

    /// Sleeps in `poll` until the stop pipe or the connection's socket is readable, or the
    /// deadline (monotonic ms) passed.
    private func wait(on connection: PGConnection?, untilMs deadline: Int64) -> Event {
        var descriptors = [pollfd(fd: stopPipe.read, events: Int16(POLLIN), revents: 0)]
        if let connection { descriptors.append(pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0)) }
        while true {
            let timeout = Int32(clamping: max(0, deadline - Self.now()))
            let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if ready < 0 {
                let code = errno
                if code == EINTR { continue }
                preconditionFailure("poll failed: errno \(code): a bug in CellHub")
            }
            if descriptors[0].revents != 0 { return .stop }
            if descriptors.count > 1, descriptors[1].revents != 0 { return .readable }
            return .timeout
        }
    }

    /// Counts a failure and reports it, unless one was reported less than `reportIntervalMs`
    /// ago: then the next report says how many it left out.
    private func failed(_ description: String) {
        let count = failureCount.add(1, ordering: .relaxed).newValue
        lastFailure.withLock { $0 = description }
        let now = Self.now()
        if let last = reportedAtMs, now - last < reportIntervalMs {
            unreported += 1
            return
        }
        let left = unreported > 0 ? "; \(unreported) more since the last report" : ""
        // One log line: libpq's messages run over several ("server closed the connection
        // unexpectedly\n\tThis probably means …").
        let line = description.split(whereSeparator: \.isNewline)
            .map { $0.drop { $0.isWhitespace } }.joined(separator: " ")
        report(
            "PostgreSQL change listener: \(line) (failure \(count)\(left); until it listens again other nodes' changes "
                + "are seen by the safety poll, every \(safetyIntervalMs) ms)")
        reportedAtMs = now
        unreported = 0
    }

    /// Monotonic milliseconds.
    private static func now() -> Int64 { Int64(monotonicNow() / 1_000_000) }
}
