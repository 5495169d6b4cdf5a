import CellHubPostgres
import CellHubSQL
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One PostgreSQL server for the whole test process: a temporary cluster started on first
/// use (or the server named by `CELLHUB_TEST_POSTGRES`, a libpq URI), where every test
/// case gets a fresh database.
///
/// The cluster lives in a temporary directory: `initdb` with trust authentication, then
/// `postgres` itself as a long-lived child — stdin from /dev/null, output to a log file, never
/// a pipe (a daemon holding an inherited pipe keeps a reader waiting forever; `pg_ctl start`
/// through pipes hung that way) — listening on a Unix socket only, with `fsync=off` (tests
/// only). PostgreSQL refuses to run as root, so as root both run as the `postgres` user
/// through `runuser`. The server is stopped (SIGINT: fast shutdown) when the process exits.
package enum TemporaryPostgres {
    /// Why the server could not be used, with its log: PostgreSQL cases fail with it.
    package struct Unavailable: Error, CustomStringConvertible {
        package let description: String
    }

    private struct Server: Sendable {
        /// A URI of the server without a database name (`{database}` marks its place).
        let urlTemplate: String
        /// The cluster's directory when this process started it.
        let directory: String?
    }

    private static let server: Result<Server, Unavailable> = start()
    private static let databases = Atomic<Int>(0)

    /// A URI of a database created for the caller alone.
    package static func freshDatabase() throws -> String {
        let server = try server.get()
        let name = "cellhub_test_\(getpid())_\(databases.wrappingAdd(1, ordering: .relaxed).newValue)"
        let admin = server.urlTemplate.replacingOccurrences(of: "{database}", with: "postgres")
        do {
            try PostgresStore.execute("CREATE DATABASE \(name) TEMPLATE template0 ENCODING 'UTF8'", url: admin)
        } catch {
            throw Unavailable(description: "cannot create database \(name) on \(admin): \(error)\(logTail(server))")
        }
        return server.urlTemplate.replacingOccurrences(of: "{database}", with: name)
    }

    private static func logTail(_ server: Server) -> String {
        guard let directory = server.directory, let log = try? String(contentsOfFile: directory + "/server.log", encoding: .utf8) else { return "" }
        return "\nserver log:\n" + log.suffix(4_000)
    }

    private static func start() -> Result<Server, Unavailable> {
        if let url = ProcessInfo.processInfo.environment["CELLHUB_TEST_POSTGRES"], !url.isEmpty {
            // The database name is the URI's path: replaced by each fresh database's.
            guard var components = URLComponents(string: url) else {
                return .failure(Unavailable(description: "CELLHUB_TEST_POSTGRES is not a URI: \(url)"))
            }
            components.path = "/{database}"
            let template = (components.string ?? url).replacingOccurrences(of: "%7Bdatabase%7D", with: "{database}")
            return .success(Server(urlTemplate: template, directory: nil))
        }
        let binaries = "/usr/lib/postgresql/15/bin"
        let directory = NSTemporaryDirectory() + "cellhub-pg-\(getpid())-\(UUID().uuidString.prefix(8))"
        let data = directory + "/data"
        let socket = directory + "/sock"
        let log = directory + "/server.log"
        func failure(_ text: String) -> Result<Server, Unavailable> {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)).map { "\nserver log:\n" + $0.suffix(4_000) } ?? ""
            return .failure(Unavailable(description: "cannot start a temporary PostgreSQL in \(directory): \(text)\(output)"))
        }
        do {
            try FileManager.default.createDirectory(atPath: socket, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: log, contents: nil)
        } catch {
            return failure("\(error)")
        }
        let asRoot = getuid() == 0
        if asRoot {
            guard let account = getpwnam("postgres") else { return failure("running as root and there is no postgres user") }
            for path in [directory, socket, log] { _ = chown(path, account.pointee.pw_uid, account.pointee.pw_gid) }
        }
        guard let logFile = FileHandle(forWritingAtPath: log) else { return failure("cannot open \(log)") }
        /// A server program run in `directory` (as the postgres user when we are root), its
        /// output to the log.
        func process(_ arguments: [String]) -> Process {
            let (path, rest) = asRoot
                ? ("/usr/sbin/runuser", ["-u", "postgres", "--"] + arguments) : (arguments[0], Array(arguments.dropFirst()))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = rest
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = logFile
            process.standardError = logFile
            return process
        }
        let initdb = process([
            binaries + "/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions",
        ])
        do {
            try initdb.run()
        } catch {
            return failure("cannot run initdb: \(error)")
        }
        initdb.waitUntilExit()
        guard initdb.terminationStatus == 0 else { return failure("initdb exited with \(initdb.terminationStatus)") }
        let postgres = process([
            binaries + "/postgres", "-D", data, "-k", socket, "-c", "listen_addresses=", "-c", "fsync=off",
            "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
        ])
        do {
            try postgres.run()
        } catch {
            return failure("cannot run postgres: \(error)")
        }
        running.withLock { $0 = (postgres.processIdentifier, data, directory) }
        atexit { TemporaryPostgres.stop() }
        // A test process that crashes runs no atexit hook: a watcher outlives it, stops the
        // server once this process is gone, and removes the directory.
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: "/bin/sh")
        watcher.arguments = [
            "-c",
            """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            [ -f '\(data)/postmaster.pid' ] && kill -INT "$(head -n 1 '\(data)/postmaster.pid')" 2>/dev/null
            sleep 5; rm -rf '\(directory)'
            """,
        ]
        watcher.standardInput = FileHandle.nullDevice
        watcher.standardOutput = FileHandle.nullDevice
        watcher.standardError = FileHandle.nullDevice
        try? watcher.run()  // without it only a crash leaves the server behind
        let template = "postgresql://postgres@/{database}?host=\(socket)"
        let admin = template.replacingOccurrences(of: "{database}", with: "postgres")
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if PostgresStore.canConnect(url: admin) { return .success(Server(urlTemplate: template, directory: directory)) }
            if !postgres.isRunning { return failure("postgres exited with \(postgres.terminationStatus)") }
            usleep(50_000)
        }
        return failure("no connection to \(admin) within 15 s")
    }

    /// The started server: the child's pid, its data directory, the temporary directory.
    private static let running = Mutex<(pid: pid_t, data: String, directory: String)?>(nil)

    /// Stops the server this process started (the postmaster by its pid file, and the child
    /// that started it), waits up to 5 s for it to go, and removes its directory.
    private static func stop() {
        guard let (child, data, directory) = running.withLock({ $0 }) else { return }
        var postmaster: pid_t?
        if let text = try? String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8),
           let first = text.split(separator: "\n").first, let pid = pid_t(first) {
            postmaster = pid
        }
        if let postmaster { kill(postmaster, SIGINT) }
        kill(child, SIGINT)
        for _ in 0..<100 {
            if let postmaster, kill(postmaster, 0) != 0 { break }
            if postmaster == nil { break }
            usleep(50_000)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
