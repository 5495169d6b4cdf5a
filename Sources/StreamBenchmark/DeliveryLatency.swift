import BenchmarkSupport
import CellHubProto
import EventLoop
import RPCHTTP2

/// What the one subscriber of a `delivery` run has seen.
struct SubscriberState: Sendable {
    var ready = false
    /// Receipt time of the first event of each new revision, in order.
    var arrivals: [UInt64] = []
    var ended: String?
}

/// `delivery`: one change to one subscriber, by where the change was made. One WatchProject
/// stream on HOST:PORT; uploads of the tiny PNG through the endpoints of `--uploads-via
/// A,B,…` in turn (interleaved, so that every path sees the same moments of the run),
/// `--spacing-ms` apart, each waited for: upload call start → the stream's first event of
/// the new revision. `--samples` per path, after `--warm-up` uncounted ones; reported per
/// path (named by `--labels`). With the subscriber on node A, uploads via A and via B
/// separate a node's own delivery (its commit wakes its hub) from the cross-node path
/// (commit on B → NOTIFY → A's LISTEN connection → A reads the log's head → A's hub reads the log).
func runDeliveryLatency(_ options: Options) async throws {
    try EventEnvelope.selfTest()
    let token = try options.required("--token")
    let project = try options.required("--project")
    let vias = try options.endpoints("--uploads-via")
    let labels = options.string("--labels").map { $0.split(separator: ",").map(String.init) } ?? vias.map(\.description)
    guard labels.count == vias.count else { throw UsageError("--labels names \(labels.count) paths, --uploads-via \(vias.count)") }
    let samples = try options.int("--samples", default: 200)
    let warmUp = try options.int("--warm-up", default: 3, minimum: 0)
    let spacingMs = try options.double("--spacing-ms", default: 25)
    let call = bearer(token, timeout: .seconds(30))
    let stats: @Sendable (GRPCClient) async throws -> Void = { client in
        var request = GetProjectStatsRequest()
        request.projectId = project
        _ = try await client.unary(StatsService.getProjectStats, request, options: call)
    }
    let watcher = try await connectedClient(options, connections: 1, warmUp: stats)
    var connected: [GRPCClient] = []
    for via in vias { connected.append(try await connectedClient(via, connections: 1, warmUp: stats)) }
    let uploaders = connected

    let board = Board(SubscriberState())
    var request = WatchProjectRequest()
    request.projectId = project
    let stream = watcher.serverStreaming(EnvelopeMethods.watchProject, request, options: bearer(token))
    let consumer = Task(executorPreference: stream.executor) {
        var lastRevision: UInt64 = 0
        do {
            for try await event in stream {
                let now = monotonicNanoseconds()
                if event.kind == EventEnvelope.caughtUp {
                    lastRevision = event.revision
                    board.with { $0.ready = true }
                } else if board.with({ $0.ready }) && event.revision > lastRevision {
                    lastRevision = event.revision
                    board.with { $0.arrivals.append(now) }
                }
            }
            board.with { $0.ended = "the stream ended" }
        } catch {
            board.with { $0.ended = describe(error) }
        }
    }
    guard await board.wait(seconds: 30, until: { $0.ready || $0.ended != nil }), board.with({ $0.ready }) else {
        throw BenchmarkFailure("the subscriber on \(options.endpoint) was not caught up within 30 s: \(board.with { $0.ended } ?? "no CAUGHT_UP")")
    }
    say("delivery: subscriber on \(options.endpoint); uploads via \(zip(labels, vias).map { "\($0) \($1)" }.joined(separator: ", ")) in turn, "
        + "\(samples) each (after \(warmUp) warm-up), \(fixed(spacingMs, 0)) ms apart")

    var latencies = Array(repeating: [UInt64](), count: vias.count)
    var callTimes = Array(repeating: [UInt64](), count: vias.count)
    /// Event receipt after the upload's answer (ms; negative: the event came first).
    var afterAnswer = Array(repeating: [Double](), count: vias.count)
    for sample in 0..<(warmUp + samples) * vias.count {
        let path = sample % vias.count
        let seen = board.with { $0.arrivals.count }
        let began = monotonicNanoseconds()
        _ = try await uploaders[path].unary(
            ImageService.uploadImages, uploadRequest(project: project, name: "delivery-\(sample).png"), options: call)
        let answered = monotonicNanoseconds()
        guard await board.wait(seconds: 10, until: { $0.arrivals.count > seen || $0.ended != nil }), let arrival = board.with({ $0.arrivals.count > seen ? $0.arrivals[seen] : nil })
        else {
            throw BenchmarkFailure("upload \(sample) via \(labels[path]): no event on the subscriber within 10 s (\(board.with { $0.ended } ?? "stream open"))")
        }
        if sample >= warmUp * vias.count {
            latencies[path].append(arrival &- began)
            callTimes[path].append(answered - began)
            afterAnswer[path].append((Double(arrival) - Double(answered)) / 1e6)
        }
        await sleep(untilMonotonic: began + UInt64(spacingMs * 1e6))
    }
    stream.cancel()
    _ = await consumer.value
    await watcher.close()
    for uploader in uploaders { await uploader.close() }

    for (path, label) in labels.enumerated() {
        let latency = Distribution(latencies[path])
        let callTime = Distribution(callTimes[path])
        say("  \(label): upload call start → event p50 \(fixed(milliseconds(latency.p50))) p99 \(fixed(milliseconds(latency.p99))) "
            + "max \(fixed(milliseconds(latency.max))) ms (\(latency.count) samples); upload call p50 \(fixed(milliseconds(callTime.p50))) ms; "
            + "event after the answer, median \(fixed(median(afterAnswer[path]))) ms")
        result("delivery_\(label)_p50_ms", milliseconds(latency.p50))
        result("delivery_\(label)_p99_ms", milliseconds(latency.p99))
        result("delivery_\(label)_max_ms", milliseconds(latency.max))
        result("delivery_\(label)_call_p50_ms", milliseconds(callTime.p50))
        result("delivery_\(label)_after_answer_ms", median(afterAnswer[path]))
        result("delivery_\(label)_samples", Double(latency.count), decimals: 0)
    }
}
