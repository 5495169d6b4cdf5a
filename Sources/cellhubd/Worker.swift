import ArgumentParser
import Logging
import RPCHTTP2
import TLS
import SegmentationWorkers

#if canImport(Glibc)
import Glibc
#endif

/// `cellhubd worker`: the built-in segmentation model as its own process, claiming jobs from
/// a server over gRPC, so segmentation can scale out to other machines.
struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the built-in segmentation model against a server (a worker token's ClaimJobs feed) until SIGINT/SIGTERM.")

    @Option(help: "The server, HOST:PORT.") var server = "127.0.0.1:50051"
    @Option(help: "File holding a worker token (`cellhubd users add NAME --worker`).") var tokenFile: String
    @Flag(help: "Speak TLS to the server, trusting the system's roots unless --ca-file says otherwise.") var tls = false
    @Option(help: "Trust the CA certificates in this PEM file (implies --tls).") var caFile: String?
    @Option(help: "Jobs run at once (threads, and leases held).") var concurrency = 1
    @Option(help: "This worker's name, shown in jobs and queue figures.") var name = Worker.defaultName
    @Option(help: "Seconds a SIGINT/SIGTERM waits for the jobs running to be reported.") var drainTimeout = 30.0
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"

    func run() throws {
        var terminationSignals = sigset_t()
        sigemptyset(&terminationSignals)
        sigaddset(&terminationSignals, SIGINT)
        sigaddset(&terminationSignals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &terminationSignals, nil)
        signal(SIGPIPE, SIG_IGN)

        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "cellhubd-worker")

        let worker: RemoteWorker
        let client: GRPCClient
        do throws(CommandFailure) {
            guard (1...64).contains(concurrency) else { throw .user("--concurrency must be 1...64") }
            guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]), (1...65_535).contains(port) else {
                throw .user("--server must be HOST:PORT, got '\(server)'")
            }
            let token = try Self.readToken(tokenFile)
            var configuration = ClientConfiguration()
            if tls || caFile != nil {
                do {
                    configuration.tls = try TLSClientConfiguration(caFile: caFile)
                } catch {
                    throw .user("cannot use TLS: \(error)")
                }
            }
            do {
                client = try GRPCClient(host: String(server[..<colon]), port: port, configuration: configuration)
            } catch {
                throw .environment("cannot start the client: \(error)")
            }
            worker = RemoteWorker(client: client, token: token, options: RemoteWorker.Options(name: name, concurrency: concurrency), logger: logger)
        } catch {
            report(error)
            throw ExitCode(error.exitCode)
        }

        logger.info("worker started", metadata: ["server": "\(server)", "name": "\(name)", "concurrency": "\(concurrency)"])
        let feed = Task {
            do {
                try await worker.run()
            } catch {
                report(.user("the server refused this worker: \(error)"))
                Glibc.exit(1)
            }
        }
        var received: Int32 = 0
        sigwait(&terminationSignals, &received)
        logger.info("stopping: no new jobs; reporting the ones running", metadata: ["signal": "\(received)"])
        feed.cancel()
        let reported = worker.waitUntilIdle(timeoutSeconds: drainTimeout)
        if !reported { logger.warning("jobs still running at the drain timeout: their leases expire and they are retried") }
        try? blockingWait { await client.close() }
    }

    static var defaultName: String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count)
        return "\(String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))-\(getpid())"
    }

    /// The token: the file's first line, trimmed.
    static func readToken(_ path: String) throws(CommandFailure) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .user("cannot open token file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while bytes.count < 65_536 {
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { break }
            bytes += buffer[..<n]
        }
        let line = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let token = line.trimmingCharacters(in: " \t\r")
        guard !token.isEmpty else { throw .user("token file \(path) is empty") }
        return token
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var cut = Substring(self)
        while let first = cut.first, set.contains(first) { cut = cut.dropFirst() }
        while let last = cut.last, set.contains(last) { cut = cut.dropLast() }
        return String(cut)
    }
}
