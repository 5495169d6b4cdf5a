import BenchmarkSupport
import CellHubProto
import EventLoop
import RPCHTTP2

/// `trickle`: the workers connect and idle first; then small batches are enqueued at a fixed
/// rate (open loop: each batch's call starts on schedule, whatever the previous one does).
/// Figure: per job, from its EnqueueSegmentation call returning to its assignment arriving.
func runTrickle(_ options: Options) async throws {
    let token = try options.required("--token")
    let project = try options.required("--project")
    let ids = try readLines(try options.required("--ids-file"))
    let jobs = try options.int("--jobs", default: 2_000)
    let batch = try options.int("--batch", default: 16)
    let rate = try options.double("--rate", default: 20)
    let stallSeconds = try options.double("--stall-seconds", default: 60)
    let workerCount = try options.int("--workers", default: 16)
    guard jobs <= ids.count else { throw BenchmarkFailure("--jobs \(jobs) but the ids file holds \(ids.count) images") }
    guard batch <= 10_000 else { throw UsageError("--batch is at most 10000 (EnqueueSegmentation's limit)") }
    let group = try EventLoopGroup(loopCount: try options.int("--client-loops", default: 1))
    let client = try GRPCClient(host: options.host, port: options.port, configuration: ClientConfiguration(), group: group)

    let progress = Progress()
    let workers = try makeWorkers(options, group: group, progress: progress)
    let running = Task { await withTaskGroup(of: Void.self) { group in for worker in workers { group.addTask { await worker.run() } } } }
    // Idle and connected: the server counts every feed.
    let connectDeadline = monotonicNanoseconds() + 15_000_000_000
    while true {
        let stats = try await client.unary(SegmentationService.getQueueStats, GetQueueStatsRequest(), options: bearer(token, timeout: .seconds(60))).message
        if stats.connectedWorkers >= workerCount { break }
        guard monotonicNanoseconds() < connectDeadline else {
            running.cancel()
            throw BenchmarkFailure("after 15 s the server counts \(stats.connectedWorkers) connected workers, want \(workerCount)")
        }
        try await Task.sleep(nanoseconds: 10_000_000)
    }

    let batches = stride(from: 0, to: jobs, by: batch).map { Array(ids[$0..<min(jobs, $0 + batch)]) }
    let interval = 1e9 / rate
    let start = monotonicNanoseconds()
    // Per job id: when its enqueue call returned; per call: how long it took, how late it started.
    var returned: [String: UInt64] = [:]
    var callTimes: [Int64] = []
    var lateness: [Int64] = []
    do {
        try await withThrowingTaskGroup(of: ([String], UInt64, Int64, Int64).self) { group in
            for (index, images) in batches.enumerated() {
                let due = start + UInt64(Double(index) * interval)
                await sleep(untilMonotonic: due)
                group.addTask {
                    let began = monotonicNanoseconds()
                    var request = EnqueueSegmentationRequest()
                    request.projectId = project
                    var list = ImageIdList()
                    list.imageIds = images
                    request.target = .images(list)
                    let response = try await client.unary(SegmentationService.enqueueSegmentation, request, options: bearer(token, timeout: .seconds(60))).message
                    let now = monotonicNanoseconds()
                    guard response.enqueuedCount == images.count else {
                        throw BenchmarkFailure("EnqueueSegmentation of \(images.count) images queued \(response.enqueuedCount) (\(response.skippedCount) skipped)")
                    }
                    return (response.jobs.map(\.jobId), now, signedDifference(now, began), signedDifference(began, due))
                }
            }
            for try await (jobIDs, at, took, late) in group {
                for id in jobIDs { returned[id] = at }
                callTimes.append(took)
                lateness.append(late)
            }
        }
    } catch {
        running.cancel()
        throw error
    }
    let logs = try await finish(
        workers, running: running, progress: progress, jobs: jobs, stallSeconds: stallSeconds, expected: Set(returned.keys),
        client: client, token: token)

    let last = logs.compactMap { $0.completions.max() }.max()!
    let seconds = Double(last - start) / 1e9
    result("jobs", Double(jobs), decimals: 0)
    result("seconds", seconds)
    result("jobs_per_s", Double(jobs) / seconds, decimals: 1)
    result("offered_jobs_per_s", rate * Double(batch), decimals: 1)
    var samples: [Int64] = []
    for log in logs {
        for arrival in log.arrivals { samples.append(signedDifference(arrival.at, returned[arrival.jobID]!)) }
    }
    Distribution(samples).report("latency")
    Distribution(callTimes).report("enqueue_call")
    Distribution(lateness).report("enqueue_start_late")
    for worker in workers { await worker.close() }
    await client.close()
    group.shutdown()
}
