import BenchmarkSupport
import CellHubProto
import EventLoop
import RPC
import RPCHTTP2
import Synchronization

/// Counts over all workers of a run, read by the coordinator while the workers go on.
final class Progress: Sendable {
    let assigned = Atomic<Int>(0)
    let completed = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
}

/// What one worker saw. Times are monotonic nanoseconds taken by the task that saw the event:
/// an assignment when the stream reader got it, a completion when CompleteJob returned.
struct WorkerLog: Sendable {
    var arrivals: [(jobID: String, at: UInt64)] = []
    var completions: [UInt64] = []
    var failures: [String] = []
    var revoked = 0
    /// How the ClaimJobs stream ended before the run closed it; nil while it is open.
    var streamEnd: String?
}

/// A worker that does nothing: one ClaimJobs stream on its own HTTP/2 connection, and every
/// assignment completed at once with a trivial valid result (one triangle). Its connection is
/// its own so that, as with real worker processes, its pushes and its CompleteJob calls do
/// not queue behind another worker's.
final class NoOpWorker: Sendable {
    let name: String
    private let client: GRPCClient
    private let options: CallOptions
    private let capacity: Int
    private let progress: Progress
    private let log = Mutex(WorkerLog())

    /// The result every job gets: cell_count 1, one polygon of 3 points in the 1×1 image.
    static let result: SegmentationResult = {
        var polygon = Polygon()
        polygon.points = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)].map { x, y in
            var point = Point()
            point.x = x
            point.y = y
            return point
        }
        polygon.areaPx = 0.5
        var result = SegmentationResult()
        result.cellCount = 1
        result.polygons = [polygon]
        result.imageWidthPx = 1
        result.imageHeightPx = 1
        return result
    }()

    init(name: String, host: String, port: Int, group: EventLoopGroup, token: String, capacity: Int, progress: Progress) throws {
        self.name = name
        client = try GRPCClient(host: host, port: port, configuration: ClientConfiguration(), group: group)
        options = bearer(token, timeout: .seconds(60))
        self.capacity = capacity
        self.progress = progress
    }

    var snapshot: WorkerLog { log.withLock { $0 } }

    /// Claims and completes jobs until the task is cancelled (or the stream ends: logged).
    func run() async {
        let request = {
            var request = ClaimJobsRequest()
            request.workerName = name
            request.maxConcurrentJobs = Int32(clamping: capacity)
            return request
        }()
        let (queue, continuation) = AsyncStream.makeStream(of: JobAssignment.self)
        // The stream's own call has no deadline: it lives as long as the run.
        let streamOptions = CallOptions(metadata: options.metadata)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                do {
                    for try await response in client.serverStreaming(SegmentationService.claimJobs, request, options: streamOptions) {
                        switch response.item {
                        case .assignment(let assignment):
                            let now = monotonicNanoseconds()
                            log.withLock { $0.arrivals.append((assignment.jobId, now)) }
                            progress.assigned.wrappingAdd(1, ordering: .relaxed)
                            continuation.yield(assignment)
                        case .leaseRevoked:
                            log.withLock { $0.revoked += 1 }
                        case .heartbeat, nil:
                            break
                        }
                    }
                    log.withLock { $0.streamEnd = "ended by the server with status OK" }
                } catch {
                    if !Task.isCancelled { log.withLock { $0.streamEnd = describe(error) } }
                }
                continuation.finish()
            }
            group.addTask { [self] in
                // One slot: complete inline (no task hop). More: one child task per lease.
                await withTaskGroup(of: Void.self) { jobs in
                    for await assignment in queue {
                        if capacity == 1 {
                            await complete(assignment)
                        } else {
                            jobs.addTask { await self.complete(assignment) }
                        }
                    }
                }
            }
        }
    }

    private func complete(_ assignment: JobAssignment) async {
        var request = CompleteJobRequest()
        request.jobId = assignment.jobId
        request.leaseId = assignment.leaseId
        request.result = Self.result
        do {
            _ = try await client.unary(SegmentationService.completeJob, request, options: options)
            let now = monotonicNanoseconds()
            log.withLock { $0.completions.append(now) }
            progress.completed.wrappingAdd(1, ordering: .relaxed)
        } catch {
            log.withLock { $0.failures.append("job \(assignment.jobId): \(describe(error))") }
            progress.failed.wrappingAdd(1, ordering: .relaxed)
        }
    }

    func close() async { await client.close() }
}

/// `count` workers named PREFIX-1 … on one client event-loop group.
func makeWorkers(_ options: Options, group: EventLoopGroup, progress: Progress) throws -> [NoOpWorker] {
    let token = try options.required("--worker-token")
    let count = try options.int("--workers", default: 16)
    let capacity = try options.int("--max-concurrent-jobs", default: 1)
    guard capacity <= 64 else { throw UsageError("--max-concurrent-jobs is at most 64 (ClaimJobs' limit)") }
    return try (1...count).map { index in
        try NoOpWorker(name: "queue-bench-\(index)", host: options.host, port: options.port, group: group, token: token, capacity: capacity, progress: progress)
    }
}

/// Checks after a run: every job assigned exactly once and completed, no failures, no
/// revocations, no stream ended early. Throws a failure naming what went wrong.
func verify(_ logs: [WorkerLog], names: [String], expected: Set<String>) throws(BenchmarkFailure) {
    var problems: [String] = []
    var seen: [String: Int] = [:]
    for log in logs { for arrival in log.arrivals { seen[arrival.jobID, default: 0] += 1 } }
    let duplicates = seen.filter { $0.value > 1 }
    if !duplicates.isEmpty { problems.append("\(duplicates.count) jobs assigned more than once (e.g. \(duplicates.first!.key) × \(duplicates.first!.value))") }
    let unknown = seen.keys.filter { !expected.contains($0) }
    if !unknown.isEmpty { problems.append("\(unknown.count) assignments of jobs this run did not enqueue (e.g. \(unknown.first!))") }
    let missing = expected.filter { seen[$0] == nil }
    if !missing.isEmpty { problems.append("\(missing.count) of \(expected.count) enqueued jobs never assigned (e.g. \(missing.first!))") }
    let completed = logs.reduce(0) { $0 + $1.completions.count }
    if completed != expected.count { problems.append("\(completed) CompleteJob calls succeeded, \(expected.count) jobs enqueued") }
    for (name, log) in zip(names, logs) {
        if !log.failures.isEmpty { problems.append("\(name): \(log.failures.count) CompleteJob failures, first: \(log.failures[0])") }
        if log.revoked > 0 { problems.append("\(name): \(log.revoked) leases revoked") }
        if let end = log.streamEnd { problems.append("\(name): the ClaimJobs stream ended during the run: \(end)") }
    }
    guard problems.isEmpty else { throw BenchmarkFailure("the run is not valid:\n  " + problems.joined(separator: "\n  ")) }
}

/// Waits until `done` holds, polling every 2 ms (arrival and completion times are taken by the
/// workers, so the polling never enters a figure). Fails when `completed` has not moved for
/// `stallSeconds`.
func waitForCompletion(_ progress: Progress, expected: Int, stallSeconds: Double, state: () async -> String) async throws {
    var last = -1
    var lastChange = monotonicNanoseconds()
    while true {
        let completed = progress.completed.load(ordering: .relaxed)
        let failed = progress.failed.load(ordering: .relaxed)
        if completed + failed >= expected { return }
        let now = monotonicNanoseconds()
        if completed != last {
            last = completed
            lastChange = now
        } else if now - lastChange > UInt64(stallSeconds * 1e9) {
            throw BenchmarkFailure(
                "no job completed for \(fixed(stallSeconds, 0)) s: \(completed) of \(expected) completed, "
                    + "\(progress.assigned.load(ordering: .relaxed)) assigned, \(failed) CompleteJob failures; \(await state())")
        }
        try await Task.sleep(nanoseconds: 2_000_000)
    }
}

/// Waits until the workers completed `jobs` (failing on a stall, with the server's view of the
/// queue), lets a moment pass for anything that should not come (a second assignment of a job)
/// to show, stops them and returns their logs, checked against the `expected` job ids.
/// (Not inlined: Swift 6.3's optimizer crashes splitting `runBacklog` with it inside.)
@inline(never)
func finish(
    _ workers: [NoOpWorker], running: Task<Void, Never>, progress: Progress, jobs: Int, stallSeconds: Double,
    expected: Set<String>, client: GRPCClient, token: String
) async throws -> [WorkerLog] {
    do {
        try await waitForCompletion(progress, expected: jobs, stallSeconds: stallSeconds) { await queueState(client, token: token) }
    } catch {
        running.cancel()
        throw error
    }
    try await Task.sleep(nanoseconds: 100_000_000)
    running.cancel()
    await running.value
    let logs = workers.map(\.snapshot)
    try verify(logs, names: workers.map(\.name), expected: expected)
    return logs
}
