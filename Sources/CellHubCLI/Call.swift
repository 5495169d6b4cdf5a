import ArgumentParser
import CellHubClient
import CellHubProto
import RPC
import RPCHTTP2

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call any method of the API with a JSON request; print the response as JSON.",
        discussion: """
            The request is proto3 JSON (field names in lowerCamelCase or as in the proto, \
            64-bit integers as strings, enums by name); `-d @FILE` reads it from a file, \
            `-d @-` from stdin; no -d sends an empty request. A unary call prints one JSON \
            document; a server stream prints one JSON line per message until it ends (Ctrl-C ends it).

            Examples:
              cellhub call ProjectService/CreateProject -d '{"name": "demo"}'
              cellhub call cellhub.v1.StatsService/WatchDashboard -d '{"minUpdateIntervalMs": 0}'
            """)
    @OptionGroup var options: ServerOptions
    @Argument(help: "SERVICE/METHOD, e.g. ProjectService/ListProjects (see `cellhub describe`).") var method: String
    @Option(name: .shortAndLong, help: "The request as JSON, or @FILE, or @- for stdin.") var data = "{}"

    func run() async throws {
        try await Session.run(options) { session in
            guard let found = AnyMethod.named(method) else {
                throw Failure.usage("no method '\(method)' (see `cellhub describe`)")
            }
            guard let request = found.request as? any ProtoJSONCodable.Type,
                  let response = found.response as? any ProtoJSONCodable.Type else {
                throw Failure.other("\(found.descriptor.path) has no JSON mapping")
            }
            let text: String
            if data == "@-" {
                text = String(decoding: try File.read("/dev/stdin"), as: UTF8.self)
            } else if data.hasPrefix("@") {
                do { text = String(decoding: try File.read(String(data.dropFirst())), as: UTF8.self) } catch { throw Failure.usage("\(error)") }
            } else {
                text = data
            }
            switch found.descriptor.kind {
            case .unary: try await session.callUnary(request, response, found, text)
            case .serverStreaming: try await session.callStream(request, response, found, text)
            default: throw Failure.usage("\(found.descriptor.path) is \(found.descriptor.kind): not callable from the command line yet")
            }
        }
    }
}

extension Session {
    func decode<Request: ProtoJSONCodable>(_ type: Request.Type, _ text: String) throws -> Request {
        do {
            return try Request(jsonString: text)
        } catch {
            throw Failure(status: 65, message: "the request is not a \(Request.protoName): \(error)")
        }
    }

    func callUnary<Request: ProtoJSONCodable, Response: ProtoJSONCodable>(
        _ request: Request.Type, _ response: Response.Type, _ method: AnyMethod, _ text: String
    ) async throws {
        let typed = TypedMethodDescriptor<Request, Response>(service: method.descriptor.service, method: method.descriptor.method, kind: .unary)
        out.document(try await unary(typed, try decode(request, text)))
    }

    func callStream<Request: ProtoJSONCodable, Response: ProtoJSONCodable>(
        _ request: Request.Type, _ response: Response.Type, _ method: AnyMethod, _ text: String
    ) async throws {
        let typed = TypedMethodDescriptor<Request, Response>(service: method.descriptor.service, method: method.descriptor.method, kind: .serverStreaming)
        let started = ContinuousClock.now
        let stream = hub.client.serverStreaming(typed, try decode(request, text), options: hub.streamOptions)
        do {
            for try await message in stream { out.record(message) }
            if verbose { trace(method.descriptor, started: started, headers: stream.initialMetadata, trailers: stream.trailingMetadata, status: "OK") }
        } catch let error as RPCError {
            if verbose { trace(method.descriptor, started: started, headers: stream.initialMetadata, trailers: error.metadata, status: "\(error.code): \(error.message)") }
            throw error
        }
    }
}

struct Describe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the services and methods this client knows, or describe one (from the compiled-in protos).",
        discussion: "Examples:\n  cellhub describe\n  cellhub describe ProjectService\n  cellhub describe StatsService/WatchProject")
    @Argument(help: "SERVICE or SERVICE/METHOD.") var name: String?
    @Option(name: [.short, .customLong("output")], help: "table or json.") var output: OutputFormat = .table

    func run() async throws {
        let out = Output(format: output)
        let methods = CellHubMethods.all.filter { method in
            guard let name else { return true }
            let service = method.descriptor.service
            let path = "\(service)/\(method.descriptor.method)"
            return service == name || service.hasSuffix(".\(name)") || path == name || path.hasSuffix(".\(name)")
        }
        guard !methods.isEmpty else {
            out.error("no service or method '\(name ?? "")'")
            throw ExitCode(64)
        }
        if out.json {
            for method in methods {
                out.line(JSONValue.object([
                    .init("method", .string(method.descriptor.path)), .init("kind", .string("\(method.descriptor.kind)")),
                    .init("request", .string(method.requestName)), .init("response", .string(method.responseName)),
                    .init("requestFields", .array(method.requestFields.map(JSONValue.string))),
                    .init("comment", .string(method.comment)),
                ]).serialized())
            }
            return
        }
        let detailed = methods.count == 1
        var service = ""
        for method in methods {
            if method.descriptor.service != service {
                service = method.descriptor.service
                out.line(out.bold(service))
            }
            let kind = method.descriptor.kind
            let requests = kind == .clientStreaming || kind == .bidirectionalStreaming ? "stream " : ""
            let responses = kind == .serverStreaming || kind == .bidirectionalStreaming ? "stream " : ""
            out.line("  \(method.descriptor.method)(\(requests)\(method.requestName)) returns (\(responses)\(method.responseName))")
            if detailed {
                out.line("")
                for line in method.comment.split(separator: "\n", omittingEmptySubsequences: false) { out.line("    // \(line)") }
                out.line("")
                out.line("    message \(method.requestName) {")
                for field in method.requestFields { out.line("      \(field)") }
                out.line("    }")
            }
        }
    }
}
