import BenchmarkSupport
import CellHubProto
import EventLoop
import Logging
import RPC
import RPCHTTP2
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `floor-server`: the gRPC runtime alone pushing one pre-encoded event to every subscriber,
/// grouped per executor (one `execute` per event loop pushing to all of its streams) — what
/// the EventHub's fan-out costs without the hub: no event log, no per-stream state, no
/// coalescing. The fan-out figures of cellhubd are read against this floor.
func runFloorServer(_ options: Options) async throws {
    exitOnTermination()
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }

    var configuration = ServerConfiguration()
    configuration.host = options.string("--host") ?? "127.0.0.1"
    configuration.port = try options.int("--port", default: 0, minimum: 0)
    configuration.loopCount = max(1, try options.int("--loops", default: 1))
    let service = FanoutService()
    let server = try GRPCServer(configuration: configuration, services: [service], logger: Logger(label: "floor-server"))
    let port = try await server.start()
    say("listening on \(configuration.host):\(port)")
    writeError("floor-server: \(configuration.loopCount) loop(s); stats-update event \(service.eventBytes) bytes\n")

    // Serve until a signal ends the process.
    while !Task.isCancelled { try? await Task.sleep(nanoseconds: 3_600_000_000_000) }
    extendLifetime(server)
}

/// SIGINT and SIGTERM end the floor server at once: it holds nothing to drain. (Not
/// `sigwait`: the concurrency runtime may have started threads, with the signals unblocked,
/// before main's first line.)
func exitOnTermination() {
    signal(SIGPIPE, SIG_IGN)
    signal(SIGINT) { _ in _exit(0) }
    signal(SIGTERM) { _ in _exit(0) }
}

/// `cellhub.bench.Fanout`: Subscribe registers the call's push stream until the client goes
/// away; Trigger pushes the one pre-encoded event to every registered stream.
final class FanoutService: RPCService {
    static let subscribe = TypedMethodDescriptor<Grpc_Testing_Empty, ProjectEvent>(
        service: "cellhub.bench.Fanout", method: "Subscribe", kind: .serverStreaming)
    static let trigger = TypedMethodDescriptor<Grpc_Testing_Empty, Grpc_Testing_Empty>(
        service: "cellhub.bench.Fanout", method: "Trigger", kind: .unary)

    private let registry = PushRegistry()
    private let event = EncodedMessage(SampleEvents.statsUpdate)
    private let marker = EncodedMessage(SampleEvents.caughtUp)
    var eventBytes: Int { event.payloadCount }

    var methods: [ServerMethod] {
        [
            .serverStreaming(Self.subscribe) { [registry, marker] _, _, writer in
                guard let push = writer.pushStream else {
                    throw RPCError(code: .internal, message: "this transport cannot push")
                }
                // Like cellhubd's streams: the call is handed over (no task waits behind it)
                // and leaves the registry when the client goes away.
                let id = registry.add(push)
                _ = push.push(marker)
                guard push.detach(onClose: { registry.remove(id, executor: push.executor) }) else {
                    registry.remove(id, executor: push.executor)
                    throw RPCError(code: .cancelled, message: "the call ended before it was registered")
                }
            },
            .unary(Self.trigger) { [registry, event] _, _ in
                registry.pushToAll(event)
                return Grpc_Testing_Empty()
            },
        ]
    }
}

/// The registered push streams, grouped by the executor (event loop) they live on.
final class PushRegistry: Sendable {
    private struct Group {
        let executor: any CallExecutor
        var streams: [UInt64: any ServerPushStream] = [:]
    }

    private let groups = Mutex<[ObjectIdentifier: Group]>([:])
    private let nextID = Atomic<UInt64>(1)

    func add(_ push: any ServerPushStream) -> UInt64 {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let key = ObjectIdentifier(push.executor)
        groups.withLock { groups in
            groups[key, default: Group(executor: push.executor)].streams[id] = push
        }
        return id
    }

    func remove(_ id: UInt64, executor: any CallExecutor) {
        _ = groups.withLock { $0[ObjectIdentifier(executor)]?.streams.removeValue(forKey: id) }
    }

    /// One `execute` per executor, pushing `message` to each of its streams there; returns
    /// at once (like the hub, the trigger does not wait for the fan-out).
    func pushToAll(_ message: EncodedMessage) {
        let snapshot = groups.withLock { Array($0.values) }
        for group in snapshot {
            let streams = Array(group.streams.values)
            group.executor.execute {
                for stream in streams { _ = stream.push(message) }
            }
        }
    }
}
