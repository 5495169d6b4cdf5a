import ArgumentParser
import CellHubClient
import CellHubProto
import RPC
import RPCHTTP2
import TLS

#if canImport(Glibc)
import Glibc
#endif

/// The options every command that talks to a server takes.
struct ServerOptions: ParsableArguments {
    @Option(help: "The server, HOST:PORT (else CELLHUB_SERVER, else `cellhub login`'s, else 127.0.0.1:50051).")
    var server: String?
    @Option(help: "API token (else CELLHUB_TOKEN).") var token: String?
    @Option(help: "File holding the API token (else CELLHUB_TOKEN_FILE, else `cellhub login`'s).") var tokenFile: String?
    @Flag(help: "Speak TLS, trusting the system's roots unless --ca-file says otherwise.") var tls = false
    @Option(help: "Trust the CA certificates in this PEM file (implies --tls).") var caFile: String?
    @Option(help: "Seconds a call may take (streams: no limit).") var timeout = 30.0
    @Option(name: [.short, .customLong("output")], help: "table or json.") var output: OutputFormat = .table
    @Flag(name: .shortAndLong, help: "Print each call's path, headers, trailers, status and time on stderr.")
    var verbose = false
}

enum OutputFormat: String, ExpressibleByArgument, Sendable {
    case table, json
}

/// A command's failure as the user sees it: one line on stderr and an exit status.
struct Failure: Error {
    var status: Int32
    var message: String

    static func usage(_ message: String) -> Failure { Failure(status: 64, message: message) }
    static func other(_ message: String) -> Failure { Failure(status: 1, message: message) }

    /// The exit status of a gRPC status: callers can tell usage, authentication, not found /
    /// permission and unavailable apart without parsing text.
    static func exitStatus(of code: StatusCode) -> Int32 {
        switch code {
        case .invalidArgument, .outOfRange, .failedPrecondition, .alreadyExists: 65
        case .notFound, .permissionDenied: 66
        case .unavailable: 69
        case .deadlineExceeded, .resourceExhausted: 75
        case .unauthenticated: 77
        default: 1
        }
    }
}

/// A connection to the server for one command, and the output it writes.
struct Session: Sendable {
    let hub: CellHubConnection
    let out: Output
    let verbose: Bool
    let server: String

    /// Connects as the options, environment and `cellhub login` say, runs `body`, and turns
    /// any failure into one line on stderr and the documented exit status.
    static func run(_ options: ServerOptions, _ body: (Session) async throws -> Void) async throws {
        let out = Output(format: options.output)
        do {
            let config = Config.load()
            let server = options.server ?? Config.environment("CELLHUB_SERVER") ?? config.server ?? "127.0.0.1:50051"
            guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]),
                  (1...65_535).contains(port) else {
                throw Failure.usage("--server must be HOST:PORT, got '\(server)'")
            }
            let token = try options.token ?? Config.environment("CELLHUB_TOKEN")
                ?? (options.tokenFile ?? Config.environment("CELLHUB_TOKEN_FILE") ?? config.tokenFile).map(Config.readToken)
            guard options.timeout > 0 else { throw Failure.usage("--timeout must be positive") }
            var configuration = ClientConfiguration()
            if options.tls || options.caFile != nil {
                do {
                    configuration.tls = try TLSClientConfiguration(caFile: options.caFile)
                } catch {
                    throw Failure.usage("cannot use TLS: \(error)")
                }
            }
            let hub = try CellHubConnection(host: String(server[..<colon]), port: port, token: token,
                                            timeout: .milliseconds(Int64(options.timeout * 1000)), configuration: configuration)
            let session = Session(hub: hub, out: out, verbose: options.verbose, server: server)
            do {
                try await body(session)
            } catch {
                await hub.close()
                throw error
            }
            await hub.close()
        } catch let failure as Failure {
            out.error(failure.message)
            throw ExitCode(failure.status)
        } catch let error as RPCError {
            out.error("\(error.code): \(error.message)")
            throw ExitCode(Failure.exitStatus(of: error.code))
        } catch is CancellationError {
            throw ExitCode(130)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            out.error("\(error)")
            throw ExitCode(1)
        }
    }

    /// One unary call through the connection's client, printed on stderr with `-v`.
    func unary<Request, Response>(_ method: TypedMethodDescriptor<Request, Response>, _ request: Request) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await hub.client.unary(method, request, options: hub.unaryOptions)
            if verbose {
                trace(method.descriptor, started: started, headers: response.initialMetadata,
                      trailers: response.trailingMetadata, status: "OK")
            }
            return response.message
        } catch let error as RPCError {
            if verbose { trace(method.descriptor, started: started, headers: nil, trailers: error.metadata, status: "\(error.code): \(error.message)") }
            throw error
        }
    }

    func trace(_ method: MethodDescriptor, started: ContinuousClock.Instant, headers: Metadata?, trailers: Metadata?, status: String) {
        let elapsed = ContinuousClock.now - started
        var lines = ["> \(method.path) (\(server))"]
        for entry in hub.unaryOptions.metadata {
            lines.append("> \(entry.key): \(entry.key == "authorization" ? "Bearer …" : Output.text(entry.value))")
        }
        for entry in headers ?? Metadata() { lines.append("< \(entry.key): \(Output.text(entry.value))") }
        for entry in trailers ?? Metadata() { lines.append("< (trailer) \(entry.key): \(Output.text(entry.value))") }
        lines.append("< status \(status) in \(Output.milliseconds(elapsed))")
        out.diagnostic(lines.joined(separator: "\n"))
    }
}
