import ArgumentParser
import CellHub
import CellHubPostgres
import CellHubProto
import CellHubServer
import CellHubStore
import Logging
import RPC
import RPCHTTP2
import EventLoop
import SegmentationWorkers
import TLS

#if canImport(Glibc)
import Glibc
#endif

/// `cellhubd serve`: runs the gRPC server until SIGINT or SIGTERM, then drains; SIGHUP
/// reloads the TLS certificate.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve gRPC on HOST:PORT until SIGINT/SIGTERM (SIGHUP reloads the TLS files).")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on; 0 picks a free one (printed on stdout).") var port = 50051
    @Option(help: "Event loops (threads); default one per CPU the process may use (affinity mask, cgroup quota).") var loops = 0
    @Option(help: "Directory for the database and image files (created 0700 if missing).") var dataDir = DataDirectory.defaultPath
    @Option(help: "A PostgreSQL database (postgres://… or postgresql://…, libpq's URI) instead of the SQLite file in --data-dir; image files stay in --data-dir.")
    var database: String?
    @Option(help: "Directory for the image files instead of <data-dir>/blobs: several nodes on one PostgreSQL share it, each with its own --data-dir.")
    var blobDir: String?
    @Option(help: "With --blob-dir: seconds since its last write before an unreferenced image file is swept at start (another node's upload may not have committed yet).")
    var blobOrphanGrace = 900.0
    @Flag(help: "Also serve the standard interop service grpc.testing.TestService.") var interop = false
    @Flag(help: "Do not serve server reflection (grpc.reflection.v1 and v1alpha, which grpcurl and Postman use to list and call services).")
    var noReflection = false
    @Option(help: "Serve TLS (ALPN h2) with this PEM certificate chain (the server's certificate first, then intermediates); without it the server speaks cleartext h2c.")
    var tlsCert: String?
    @Option(help: "The PEM private key of --tls-cert.") var tlsKey: String?
    @Option(help: "Require client certificates that chain to the CAs in this PEM file (mutual TLS).") var tlsClientCa: String?
    @Option(help: "Seconds a TLS handshake may take before its connection is closed.") var tlsHandshakeTimeout = 10.0
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @Option(help: "Seconds graceful shutdown waits for calls to finish.") var drainTimeout = 5.0
    @Option(help: "Seconds a connection may stay without calls before it is closed (GOAWAY); 0 = never.") var idleTimeout = 300.0
    @Option(help: "Seconds of silence after which a connection is PINGed; 0 = never.") var keepalive = 60.0
    @Option(help: "Seconds a keepalive PING may stay unanswered before the connection is closed.") var keepaliveTimeout = 20.0
    @Option(help: "Seconds a call's incomplete request may receive nothing before it ends CANCELLED.") var requestStallTimeout = 30.0
    @Option(help: "Request bytes all connections together may hold in unfinished messages (at least one maximal message).")
    var maxBufferedRequestBytes = 256 << 20
    @Option(help: "Connections served at once; past it new connections are closed (and logged).") var maxConnections = 10_000
    @Option(help: "Largest request message accepted, in bytes.") var maxReceiveMessageBytes = 64 << 20
    @Option(help: "Largest response message sent, in bytes.") var maxSendMessageBytes = 64 << 20
    @Option(help: "SETTINGS_MAX_CONCURRENT_STREAMS per connection.") var maxConcurrentStreams = 1_000
    @Option(help: "Threads for blocking domain work (SQLite, image files).") var blockingThreads = 4
    @Flag(help: "Do not fsync each commit (WAL synchronous=NORMAL): faster writes; a process crash loses nothing, an OS crash or power loss can lose the last acknowledged writes.")
    var fastCommits = false
    @Option(help: "Seconds an upload's idempotency key is honoured (a retry within it replays the first answer).")
    var idempotencyWindow = 86_400.0
    @Option(help: "Seconds between housekeeping runs (expired idempotency keys are deleted).")
    var maintenanceInterval = 600.0
    @Option(help: "Microseconds a loop keeps polling after I/O before sleeping (0 = never; lower latency, more CPU).") var busyPollUs = 50
    @Option(help: "Seconds a worker's lease on a job lasts unless renewed; an expired lease re-queues the job (an attempt).")
    var leaseDuration = 60.0
    @Option(help: "Built-in segmentation workers inside the server, one thread each (0 = none: jobs wait for `cellhubd worker` or other ClaimJobs workers).")
    var workers = 1
    @Option(help: "How long streams can resume without a resync: event-log rows older than this are pruned (e.g. 90m, 36h, 7d).")
    var eventRetention = "7d"
    @Option(help: "Event-log rows kept at most (older ones are pruned even inside the retention time).")
    var eventRetentionEvents = 1_000_000

    func run() throws {
        // Before any thread starts, so every thread inherits the mask and only sigwait sees them.
        var handledSignals = sigset_t()
        sigemptyset(&handledSignals)
        sigaddset(&handledSignals, SIGINT)
        sigaddset(&handledSignals, SIGTERM)
        sigaddset(&handledSignals, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &handledSignals, nil)
        signal(SIGPIPE, SIG_IGN)

        var logger = Logger(label: "cellhubd")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let bootstrapLevel = logger.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = bootstrapLevel
            return handler
        }
        logger = Logger(label: "cellhubd")

        // The store and the domain over it, before listening: a directory, database or blob
        // directory that cannot be used stops the start with one line on stderr.
        let store: any CellHubStorage
        let domain: Domain
        let hub: EventHub
        let dispatcher: JobDispatcher
        var domainOptions = DomainOptions()
        domainOptions.leaseDurationMs = Int64(max(1, leaseDuration) * 1_000)
        let retentionMs: Int64
        let tls: ReloadableTLSContext?
        do throws(CommandFailure) {
            // First: a TLS file that cannot be used stops the start before the data directory is touched.
            tls = try loadTLS()
            guard let retention = Self.milliseconds(eventRetention), retention > 0 else {
                throw .user("--event-retention must be a duration such as 90m, 36h or 7d, got '\(eventRetention)'")
            }
            retentionMs = retention
            let directory = try DataDirectory.prepare(dataDir, blobDirectory: blobDir)
            try directory.lockForServing()
            if let blobDir {
                domainOptions.blobDirectory = blobDir
                domainOptions.blobOrphanGraceSeconds = Int(max(0, blobOrphanGrace))
            }
            let storeLogger = logger
            store = try directory.openStore(
                database: database, durable: !fastCommits, idempotencyWindowMs: idempotencyWindowMs,
                reportFault: { storeLogger.warning("\($0)") })
            if !store.appliedMigrations.isEmpty {
                logger.info("database migrated", metadata: ["database": "\(directory.databaseName(database))", "migrations": "\(store.appliedMigrations)"])
            }
            try createFirstAdmin(store, directory, logger)
            do {
                domain = try Domain(
                    store: store, dataDirectory: directory.root, options: domainOptions, payloads: ChangeRecordPayloads())
            } catch {
                // The operator needs the fault itself, not the client-safe "internal error".
                let detail = if case .internal(let fault) = error { fault.description } else { error.message }
                throw .environment("cannot use the image directory \(directory.blobsPath): \(detail)")
            }
            try sweepOrphans(domain.blobs, logger)
            var hubOptions = EventHub.Options()
            let hubLogger = logger
            hubOptions.reportFault = { hubLogger.error("\($0)") }
            hub = EventHub(
                store: store, stats: domain.stats, decoder: ChangeRecordDecoder(), encoder: StreamEventEncoder(epoch: store.epoch),
                options: hubOptions)
            do {
                try hub.start()
            } catch {
                throw .environment("cannot start the event hub: \(error)")
            }
            var dispatcherOptions = JobDispatcher.Options()
            dispatcherOptions.reportFault = { hubLogger.error("\($0)") }
            dispatcher = JobDispatcher(workers: domain.workers, hub: hub, options: dispatcherOptions)
            guard workers >= 0 else { throw .user("--workers must be 0 or more") }
        } catch {
            report(error)
            throw ExitCode(error.exitCode)
        }

        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        let cores = EventLoopGroup.usableCores
        configuration.loopCount = loops > 0 ? loops : cores.count
        configuration.drainTimeoutNanoseconds = UInt64(max(0, drainTimeout) * 1e9)
        configuration.busyPollNanoseconds = UInt64(max(0, busyPollUs)) * 1_000
        configuration.idleTimeoutNanoseconds = idleTimeout > 0 ? UInt64(idleTimeout * 1e9) : nil
        configuration.keepaliveIntervalNanoseconds = keepalive > 0 ? UInt64(keepalive * 1e9) : nil
        configuration.maxReceiveMessageBytes = max(0, maxReceiveMessageBytes)
        configuration.maxSendMessageBytes = max(0, maxSendMessageBytes)
        configuration.maxConcurrentStreams = max(1, maxConcurrentStreams)
        configuration.keepaliveTimeoutNanoseconds = UInt64(max(0.001, keepaliveTimeout) * 1e9)
        configuration.requestStallTimeoutNanoseconds = UInt64(max(0.001, requestStallTimeout) * 1e9)
        configuration.maxBufferedRequestBytes = max(0, maxBufferedRequestBytes)
        configuration.maxConnections = max(1, maxConnections)
        configuration.tls = tls
        configuration.tlsHandshakeTimeoutNanoseconds = UInt64(max(0.001, tlsHandshakeTimeout) * 1e9)

        // Blocking domain work (SQLite, image files) runs here, never on an event loop.
        let pool = BlockingPool(threadCount: max(1, blockingThreads))
        let runner = DomainRunner(domain: domain, pool: pool, logger: logger)

        let health = HealthService()
        var services: [any RPCService] = [health]
        services += DomainServices.make(runner: runner, hub: hub, dispatcher: dispatcher, options: domainOptions)
        if interop { services.append(InteropTestService()) }
        if !noReflection { services.append(ReflectionService(describing: services)) }

        let server = try GRPCServer(configuration: configuration, services: services, logger: logger)
        // PostgreSQL: the store's LISTEN socket moves from its own thread onto a loop.
        let postgres = store as? PostgresStore
        postgres?.listen(on: server.eventLoops[0])
        let boundPort = try blockingWait { try await server.start() }
        let builtinWorkers = InProcessWorkers(count: workers, dispatcher: dispatcher, workers: domain.workers, logger: logger)
        builtinWorkers.start()
        // Tests and scripts read exactly this first line; flush it even into a pipe.
        announce("listening on \(host):\(boundPort)\n")
        logger.info("serving", metadata: ["host": "\(host)", "port": "\(boundPort)", "loops": "\(configuration.loopCount) (\(loops > 0 ? "--loops" : cores.reason))", "interop": "\(interop)", "reflection": "\(!noReflection)", "workers": "\(workers)",
            "tls": "\(tls == nil ? "off" : tls?.clientCAFile == nil ? "on" : "on, client certificates required")"])

        let maintenance = Maintenance(
            store: store, intervalSeconds: max(0.1, maintenanceInterval), idempotencyWindowMs: idempotencyWindowMs,
            eventRetentionMs: retentionMs, eventRetentionCount: max(1, eventRetentionEvents), logger: logger)

        var received: Int32 = 0
        while true {
            sigwait(&handledSignals, &received)
            guard received == SIGHUP else { break }
            reloadTLS(tls, logger)
        }
        maintenance.stop()
        logger.info("draining", metadata: ["signal": "\(received)"])
        health.setStatus(.notServing)
        // After the GOAWAYs: every stream ends UNAVAILABLE, and its client resumes elsewhere.
        // The listener leaves its loop before the loops stop; the drained hub needs no more
        // wake-ups from other nodes.
        try blockingWait {
            await server.shutdown(afterGoaway: {
                hub.drain()
                dispatcher.drain()
                postgres?.stopListening()
            })
        }
        // Built-in workers finish the image they are on (its result is stored), then stop.
        builtinWorkers.stop()
        hub.stop()
        dispatcher.stop()
        // After the drain: calls still running have had their pool work done or been cut off.
        pool.shutdown()
        withExtendedLifetime(store) {}
        logger.info("stopped")
    }

    /// The TLS context of --tls-cert/--tls-key/--tls-client-ca; nil for cleartext. A file that
    /// cannot be used stops the start.
    private func loadTLS() throws(CommandFailure) -> ReloadableTLSContext? {
        switch (tlsCert, tlsKey) {
        case (nil, nil):
            guard tlsClientCa == nil else { throw .user("--tls-client-ca needs --tls-cert and --tls-key") }
            return nil
        case (let certificate?, let key?):
            do {
                return try ReloadableTLSContext(certificateChainFile: certificate, privateKeyFile: key, clientCAFile: tlsClientCa)
            } catch {
                throw .user("cannot serve TLS: \(error)")
            }
        case (nil, _?):
            throw .user("--tls-key needs --tls-cert")
        case (_?, nil):
            throw .user("--tls-cert needs --tls-key")
        }
    }

    /// SIGHUP: new connections get the certificate, key and client CAs the files hold now;
    /// connections already made keep theirs. Files that do not make a usable context change
    /// nothing (the error is logged).
    private func reloadTLS(_ tls: ReloadableTLSContext?, _ logger: Logger) {
        guard let tls else {
            logger.notice("SIGHUP: nothing to reload (no --tls-cert)")
            return
        }
        do {
            try tls.reload()
            logger.notice("SIGHUP: TLS certificate reloaded", metadata: ["cert": "\(tls.certificateChainFile)", "key": "\(tls.privateKeyFile)"])
        } catch {
            logger.error("SIGHUP: TLS reload failed; still serving the previous certificate", metadata: ["error": "\(error)"])
        }
    }

    private var idempotencyWindowMs: Int64 { Int64(max(1, idempotencyWindow) * 1_000) }

    /// A duration such as "45s", "90m", "36h" or "7d" in milliseconds; nil when malformed.
    static func milliseconds(_ text: String) -> Int64? {
        guard let unit = text.last, let amount = Int64(text.dropLast()), amount >= 0 else { return nil }
        let scale: Int64 = switch unit {
        case "s": 1_000
        case "m": 60_000
        case "h": 3_600_000
        case "d": 86_400_000
        default: 0
        }
        guard scale > 0, amount <= Int64.max / scale else { return nil }
        return amount * scale
    }

    /// Removes image files a crash left without an image (written, then the process died
    /// before the commit), before any upload can start. On a shared blob directory one node
    /// sweeps at a time; a node that finds another sweeping skips (the store's lock).
    private func sweepOrphans(_ blobs: BlobStore, _ logger: Logger) throws(CommandFailure) {
        do {
            switch try blobs.sweep() {
            case .swept(let removed):
                if !removed.isEmpty { logger.notice("swept orphan image files", metadata: ["count": "\(removed.count)"]) }
            case .skipped:
                logger.notice("another node is sweeping the image directory; skipped the orphan sweep", metadata: ["blob-dir": "\(blobs.directory)"])
            }
        } catch {
            let detail = if case .internal(let fault) = error { fault.description } else { error.message }
            throw .environment("cannot sweep the image directory \(blobs.directory): \(detail)")
        }
    }

    /// On the first start (no users yet): creates the `admin` user, writes its token to
    /// `admin.token` (0600, never overwritten) and shows the token once on stderr. Later
    /// starts leave everything alone.
    private func createFirstAdmin(_ store: any CellHubStorage, _ directory: DataDirectory, _ logger: Logger) throws(CommandFailure) {
        let hasUsers: Bool
        do {
            hasUsers = try !store.users().isEmpty
        } catch {
            throw .environment("cannot read users from \(directory.databaseName(database)): \(error)")
        }
        guard !hasUsers else { return }
        let token = APIToken.generate()
        // The file first: if creating the user then fails, the file is removed; if the
        // process dies in between, the next start refuses the stale file rather than
        // leaving an admin whose token nobody has.
        try directory.writeAdminToken(token)
        do {
            _ = try store.createUser(name: "admin", isWorker: false, tokenHash: APIToken.hash(token), payload: { _ in [] })
        } catch {
            directory.removeAdminToken()
            throw .environment("cannot create the admin user: \(error)")
        }
        logger.notice("first start: created user 'admin'; its API token was written to \(directory.adminTokenPath) (mode 0600)")
        writeLine("admin token: \(token)", to: STDERR_FILENO)
    }
}

/// Writes a line to stdout unbuffered (one write(2)), so a pipe sees it at once.
private func announce(_ line: String) {
    var line = line
    line.withUTF8 { bytes in _ = write(STDOUT_FILENO, bytes.baseAddress, bytes.count) }
}
