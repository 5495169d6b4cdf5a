import BenchmarkSupport
import CellHubProto
import EventLoop
import RPC
import RPCHTTP2
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the stream tasks of one run report to the coordinator, under one lock. The
/// coordinator polls it (every few milliseconds) instead of being woken: receipt times are
/// taken by the stream tasks themselves, so the polling never enters a figure.
final class Board<State: Sendable>: Sendable {
    private let state: Mutex<State>

    init(_ initial: State) { state = Mutex(initial) }

    func with<Result: Sendable>(_ body: (inout State) -> Result) -> Result {
        state.withLock { state in body(&state) }
    }

    /// Waits until `done` holds or `seconds` pass; returns whether it held.
    func wait(seconds: Double, until done: (State) -> Bool) async -> Bool {
        let deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
        while true {
            if state.withLock({ done($0) }) { return true }
            if monotonicNanoseconds() >= deadline { return false }
            try? await Task.sleep(nanoseconds: 2_000_000)
        }
    }
}

/// How streams that ended before the run closed them ended: status → count, and the first
/// message of each status.
struct EndTally: Sendable {
    var counts: [String: Int] = [:]
    var firstMessage: [String: String] = [:]
    var total: Int { counts.values.reduce(0, +) }

    mutating func add(_ error: any Error) {
        let key: String
        let message: String
        if let rpc = error as? RPCError {
            key = "\(rpc.code)"
            message = rpc.message
        } else {
            key = "\(type(of: error))"
            message = "\(error)"
        }
        counts[key, default: 0] += 1
        if firstMessage[key] == nil { firstMessage[key] = message }
    }

    /// Adds another tally's counts (its first messages where this one has none).
    mutating func merge(_ other: EndTally) {
        counts.merge(other.counts, uniquingKeysWith: +)
        firstMessage.merge(other.firstMessage) { mine, _ in mine }
    }

    mutating func addCleanEnd() {
        counts["ok (stream ended without error)", default: 0] += 1
    }

    var summary: String {
        counts.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key)\(firstMessage[$0.key].map { ": \($0)" } ?? "")" }
            .joined(separator: "; ")
    }
}

/// The median of a few values (the lower middle of an even count is not used: the mean of
/// the two middles).
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Wall-clock milliseconds (CLOCK_REALTIME): what the server's timestamp_unix_ms is in.
func realtimeMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000 + Int64(ts.tv_nsec) / 1_000_000
}

func sleep(milliseconds: Double) async {
    guard milliseconds > 0 else { return }
    try? await Task.sleep(nanoseconds: UInt64(milliseconds * 1e6))
}

// MARK: Another process, from /proc

/// A server process observed from /proc: resident memory and CPU time.
struct ServerProcess: Sendable {
    let pid: Int32

    /// VmRSS in KiB.
    func residentKiB() throws(BenchmarkFailure) -> Int { try statusField("VmRSS") }

    /// RssAnon in KiB: the resident heap and stacks, without file pages (SQLite's mmap).
    func anonymousKiB() throws(BenchmarkFailure) -> Int { try statusField("RssAnon") }

    private func statusField(_ name: String) throws(BenchmarkFailure) -> Int {
        let status = try readTextFile("/proc/\(pid)/status")
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            let fields = line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" })
            if let first = fields.first, let value = Int(first) { return value }
        }
        throw BenchmarkFailure("no \(name) in /proc/\(pid)/status")
    }

    /// utime + stime in seconds.
    func cpuSeconds() throws(BenchmarkFailure) -> Double {
        let stat = try readTextFile("/proc/\(pid)/stat")
        // Fields after the command name (which may hold spaces) start at field 3 (state).
        guard let close = stat.lastIndex(of: ")") else { throw BenchmarkFailure("cannot parse /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else {
            throw BenchmarkFailure("cannot parse /proc/\(pid)/stat")
        }
        return Double(user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

// MARK: Calls

/// A client with `connections` HTTP/2 connections, each opened now with one call (so that
/// the streams opened next are spread over live connections, round-robin).
func connectedClient(
    _ options: Options, connections: Int, warmUp: @Sendable (GRPCClient) async throws -> Void
) async throws -> GRPCClient {
    try await connectedClient(options.endpoint, connections: connections, warmUp: warmUp)
}

/// `connectedClient` to one endpoint of several (a node of a cluster).
func connectedClient(
    _ endpoint: Endpoint, connections: Int, warmUp: @Sendable (GRPCClient) async throws -> Void
) async throws -> GRPCClient {
    let client = try GRPCClient(host: endpoint.host, port: endpoint.port, configuration: {
        var configuration = ClientConfiguration()
        configuration.connections = connections
        return configuration
    }())
    // Sequential: the client picks connections round-robin per call, so N calls touch each once.
    for _ in 0..<connections { try await warmUp(client) }
    return client
}

/// What closing thousands of streams at once costs the server afterwards, seen from a
/// new connection (`stallAfterClose`).
struct Teardown: Sendable {
    /// The slowest call, ms.
    var slowestMs = 0.0
    /// When the last slow call (over 20 ms) was answered, ms after the close; 0 if none.
    var busyUntilMs = 0.0
    /// When the first slow call started, ms after the close; nil if none.
    var firstSlowStartMs: Double?
    var slowCalls = 0
    var calls = 0
    /// Server CPU (utime + stime) in each 500 ms after the close, ms; empty without a pid.
    var cpuPerHalfSecondMs: [Double] = []

    /// The timeline in one line: slow calls, and the server's CPU per 500 ms.
    var timeline: String {
        var text = "\(slowCalls) of \(calls) calls over 20 ms"
        if let first = firstSlowStartMs { text += ", the first one started \(fixed(first, 0)) ms after the close" }
        if !cpuPerHalfSecondMs.isEmpty {
            text += "; server CPU per 0.5 s after the close (ms): " + cpuPerHalfSecondMs.map { fixed($0, 0) }.joined(separator: " ")
        }
        return text
    }
}

/// How long the server stays slow to answer after a client closed thousands of streams:
/// one call every 50 ms on a new connection for at least `watchMs` (and until a call is
/// answered within 20 ms again, at most 120 s), with the server's CPU per 500 ms when its
/// pid is known. Tearing streams down runs on the event loops, and a connection whose
/// client only half-closed keeps its running calls up to cellhubd's drain timeout (5 s by
/// default) before ending them all at once: a stall can start seconds after the close, so
/// `watchMs` covers that; a call on the same loop waits behind it.
func stallAfterClose(
    _ options: Options, closedAt: UInt64, server: ServerProcess? = nil, watchMs: Double? = nil,
    _ call: @Sendable (GRPCClient) async throws -> Void
) async throws -> Teardown {
    let watchMs = try watchMs ?? options.double("--teardown-watch-ms", default: 7_500)
    let client = try GRPCClient(host: options.host, port: options.port)
    var teardown = Teardown()
    // The server's CPU every 500 ms from the close, on its own task: the probe calls may
    // block for longer than that.
    let sampler: Task<[Double], any Error>? = server.map { server in
        Task {
            var samples: [Double] = []
            var previous = try server.cpuSeconds()
            var next = closedAt + 500_000_000
            while !Task.isCancelled {
                await sleep(untilMonotonic: next)
                if Task.isCancelled { break }  // a partial last half second is left out
                let cpu = try server.cpuSeconds()
                samples.append((cpu - previous) * 1e3)
                previous = cpu
                next += 500_000_000
            }
            return samples
        }
    }
    while true {
        let began = monotonicNanoseconds()
        try await call(client)
        let now = monotonicNanoseconds()
        let took = milliseconds(now - began)
        teardown.calls += 1
        teardown.slowestMs = max(teardown.slowestMs, took)
        if took > 20 {
            teardown.slowCalls += 1
            teardown.busyUntilMs = milliseconds(now - closedAt)
            if teardown.firstSlowStartMs == nil { teardown.firstSlowStartMs = milliseconds(began &- closedAt) }
        }
        let elapsed = milliseconds(now - closedAt)
        if (elapsed >= watchMs && took <= 20) || elapsed >= 120_000 { break }
        await sleep(milliseconds: 50)
    }
    if let sampler {
        sampler.cancel()
        teardown.cpuPerHalfSecondMs = try await sampler.value
    }
    await client.close()
    return teardown
}

/// One UploadImages request of the tiny PNG.
func uploadRequest(project: String, name: String) -> UploadImagesRequest {
    var image = ImageUpload()
    image.name = name
    image.contentType = "image/png"
    image.content = tinyPNG
    var request = UploadImagesRequest()
    request.projectId = project
    request.images = [image]
    return request
}

/// The typed descriptors of the streams read as envelopes (same paths as the generated ones).
enum EnvelopeMethods {
    static let watchProject = TypedMethodDescriptor<WatchProjectRequest, EventEnvelope>(
        service: StatsService.watchProject.descriptor.service, method: StatsService.watchProject.descriptor.method, kind: .serverStreaming)
    static let watchDashboard = TypedMethodDescriptor<WatchDashboardRequest, EventEnvelope>(
        service: StatsService.watchDashboard.descriptor.service, method: StatsService.watchDashboard.descriptor.method,
        kind: .serverStreaming)
    static let floorSubscribe = TypedMethodDescriptor<Grpc_Testing_Empty, EventEnvelope>(
        service: FanoutService.subscribe.descriptor.service, method: FanoutService.subscribe.descriptor.method, kind: .serverStreaming)
}
