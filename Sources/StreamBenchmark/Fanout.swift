import BenchmarkSupport
import CellHubProto
import EventLoop
import RPCHTTP2
import Synchronization

/// `fanout`: N WatchProject streams (or floor subscribers) over C connections, then ONE
/// change at a time (an UploadImages of one tiny PNG, or Fanout/Trigger), timed per stream
/// from just before the trigger call to the receipt of the first new event. With
/// `--server-pid`, the server's RSS before and with the idle streams, per stream.
/// With `--targets A,B,…` (the nodes of a cluster on one database) the streams and the
/// connections are spread over those endpoints, round-robin, and the trigger still goes to
/// HOST:PORT: a change committed on one node, delivered by every node. The latencies are
/// also reported per target (group g: the streams on target g).
func runFanout(_ options: Options) async throws {
    try EventEnvelope.selfTest()
    let floor = options.flag("--floor")
    let streams = try options.int("--streams", default: 10_000)
    let connections = try options.int("--connections", default: 100)
    let triggers = try options.int("--triggers", default: 5)
    let spacingMs = try options.double("--spacing-ms", default: 1_000)
    let server = try serverProcess(options)
    let token = floor ? "" : try options.required("--token")
    let project = floor ? "" : try options.required("--project")
    let name = floor ? "floor" : "cellhubd"
    let targets = try options.endpoints("--targets")

    let warmUp: @Sendable (GRPCClient) async throws -> Void = { client in
        if floor {
            _ = try await client.unary(FanoutService.trigger, Grpc_Testing_Empty())
        } else {
            var request = GetProjectStatsRequest()
            request.projectId = project
            _ = try await client.unary(StatsService.getProjectStats, request, options: bearer(token))
        }
    }
    var connected: [GRPCClient] = []
    for (target, share) in zip(targets, shares(of: connections, over: targets.count)) {
        connected.append(try await connectedClient(target, connections: share, warmUp: warmUp))
    }
    let clients = connected
    let control = try await connectedClient(options, connections: 1, warmUp: warmUp)
    say("fanout \(name): \(streams) streams over \(connections) connections, \(triggers) triggers \(fixed(spacingMs, 0)) ms apart"
        + (floor ? " (floor event \(EncodedMessageSize.floorEvent) bytes)" : " (project \(project))")
        + (targets.count > 1 ? "; streams on \(targets.map(\.description).joined(separator: ", ")), triggers to \(options.endpoint)" : ""))

    await sleep(milliseconds: 500)
    let rssBefore = try server?.residentKiB()
    let anonBefore = try server?.anonymousKiB()
    var rssStreams: Int?
    var anonStreams: Int?
    let watch = bearer(token)
    let run = FanoutRun(
        name: name, streams: streams, triggers: triggers, spacingMs: spacingMs,
        readyKind: EventEnvelope.caughtUp, stateKind: EventEnvelope.statsUpdate, everyEventIsNew: floor, groups: targets.count,
        open: { index in
            let client = clients[index % clients.count]
            if floor { return client.serverStreaming(EnvelopeMethods.floorSubscribe, Grpc_Testing_Empty()) }
            var request = WatchProjectRequest()
            request.projectId = project
            return client.serverStreaming(EnvelopeMethods.watchProject, request, options: watch)
        },
        trigger: { k in
            if floor {
                _ = try await control.unary(FanoutService.trigger, Grpc_Testing_Empty())
            } else {
                _ = try await control.unary(
                    ImageService.uploadImages, uploadRequest(project: project, name: "fanout-\(realtimeMilliseconds())-\(k).png"), options: watch)
            }
        })
    let closedAt = Mutex<UInt64>(0)
    let outcome = try await run.run(
        afterReady: {
            guard let server else { return }
            await sleep(milliseconds: 2_000)  // let the last snapshots leave and buffers settle
            rssStreams = try server.residentKiB()
            anonStreams = try server.anonymousKiB()
        },
        close: {
            closedAt.withLock { $0 = monotonicNanoseconds() }
            for client in clients { await client.close() }
            await control.close()
        })
    let stall = try await stallAfterClose(options, closedAt: closedAt.withLock { $0 }, server: server, warmUp)
    say("  after the client closed its \(outcome.ready) streams: slowest call on a new connection \(fixed(stall.slowestMs, 1)) ms; "
        + "calls slower than 20 ms until \(fixed(stall.busyUntilMs, 0)) ms after the close")
    say("    teardown: \(stall.timeline)")
    result("fanout_teardown_slowest_ms", stall.slowestMs, decimals: 1)
    result("fanout_teardown_busy_ms", stall.busyUntilMs, decimals: 0)
    result("fanout_teardown_first_slow_ms", stall.firstSlowStartMs ?? 0, decimals: 0)
    result("fanout_teardown_cpu_ms", stall.cpuPerHalfSecondMs.reduce(0, +), decimals: 0)

    if let server, let rssBefore, let rssStreams, let anonBefore, let anonStreams {
        let rssAfter = try server.residentKiB()
        let perStream = Double(rssStreams - rssBefore) * 1_024 / Double(max(1, outcome.ready))
        say("  \(name) RSS: \(fixed(Double(rssBefore) / 1_024, 1)) MiB with \(connections) idle connections, "
            + "\(fixed(Double(rssStreams) / 1_024, 1)) MiB with \(outcome.ready) idle streams → \(fixed(perStream / 1_024, 2)) KiB per stream; "
            + "\(fixed(Double(rssAfter) / 1_024, 1)) MiB once the server answered promptly again after the client closed")
        result("rss_before_kib", Double(rssBefore), decimals: 0)
        result("rss_streams_kib", Double(rssStreams), decimals: 0)
        result("rss_after_close_kib", Double(rssAfter), decimals: 0)
        result("rss_per_stream_bytes", perStream, decimals: 0)
        let anonPerStream = Double(anonStreams - anonBefore) * 1_024 / Double(max(1, outcome.ready))
        say("  \(name) RssAnon (heap, without file pages): \(fixed(Double(anonBefore) / 1_024, 1)) → \(fixed(Double(anonStreams) / 1_024, 1)) MiB → \(fixed(anonPerStream / 1_024, 2)) KiB per stream")
        result("anon_per_stream_bytes", anonPerStream, decimals: 0)
    }
    let kinds = outcome.kindsSeen.sorted { $0.key < $1.key }.map { "\(EventKind(rawValue: $0.key)): \($0.value)" }.joined(separator: ", ")
    say("  events received after readiness by kind: \(kinds)")
    outcome.report(prefix: "fanout", stateLabel: floor ? "event" : "PROJECT_STATS_UPDATE", showCommit: !floor)
}

/// `--server-pid PID`, when given.
func serverProcess(_ options: Options) throws(UsageError) -> ServerProcess? {
    guard let text = options.string("--server-pid") else { return nil }
    guard let pid = Int32(text) else { throw UsageError("--server-pid wants a process id, got '\(text)'") }
    return ServerProcess(pid: pid)
}

enum EncodedMessageSize {
    static let floorEvent = SampleEvents.statsUpdate.serializedBytes().count
}
