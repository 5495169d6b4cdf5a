import BenchmarkSupport
import CellHubProto
import EventLoop
import RPCHTTP2

/// `backlog`: the project's unsegmented images are enqueued in one call before any worker is
/// connected; then the workers start and drain the queue. Figures: jobs/s from the first
/// assignment to the last completion, and per worker the dispatch latency — from a CompleteJob
/// returning (a slot free) to the next assignment arriving on that worker's stream.
func runBacklog(_ options: Options) async throws {
    let token = try options.required("--token")
    let project = try options.required("--project")
    let jobs = try options.int("--jobs", default: 20_000)
    let stallSeconds = try options.double("--stall-seconds", default: 60)
    let capacity = try options.int("--max-concurrent-jobs", default: 1)
    let group = try EventLoopGroup(loopCount: try options.int("--client-loops", default: 1))
    let client = try GRPCClient(host: options.host, port: options.port, configuration: ClientConfiguration(), group: group)

    var request = EnqueueSegmentationRequest()
    request.projectId = project
    request.target = .unsegmented(UnsegmentedImages())
    let enqueueStart = monotonicNanoseconds()
    let enqueued = try await client.unary(SegmentationService.enqueueSegmentation, request, options: bearer(token, timeout: .seconds(300))).message
    result("enqueue_ms", milliseconds(signedDifference(monotonicNanoseconds(), enqueueStart)))
    guard enqueued.enqueuedCount == jobs, enqueued.jobs.count == jobs else {
        throw BenchmarkFailure("EnqueueSegmentation queued \(enqueued.enqueuedCount) jobs (\(enqueued.jobs.count) listed, \(enqueued.skippedCount) skipped), the run wants \(jobs)")
    }
    let expected = Set(enqueued.jobs.map(\.jobId))

    let progress = Progress()
    let workers = try makeWorkers(options, group: group, progress: progress)
    let started = monotonicNanoseconds()
    let running = Task { await withTaskGroup(of: Void.self) { group in for worker in workers { group.addTask { await worker.run() } } } }
    let logs = try await finish(
        workers, running: running, progress: progress, jobs: jobs, stallSeconds: stallSeconds, expected: expected, client: client, token: token)
    let stats = try await client.unary(SegmentationService.getQueueStats, GetQueueStatsRequest(), options: bearer(token, timeout: .seconds(60))).message
    guard stats.queuedCount == 0, stats.processingCount == 0 else {
        throw BenchmarkFailure("after the run the server reports \(stats.queuedCount) queued and \(stats.processingCount) processing jobs")
    }

    let first = logs.compactMap { $0.arrivals.map(\.at).min() }.min()!
    let last = logs.compactMap { $0.completions.max() }.max()!
    let seconds = Double(last - first) / 1e9
    result("jobs", Double(jobs), decimals: 0)
    result("seconds", seconds)
    result("jobs_per_s", Double(jobs) / seconds, decimals: 1)
    result("first_assignment_ms", milliseconds(signedDifference(first, started)))
    // The k-th assignment of a worker (after its first `capacity`) took the slot freed by its
    // (k − capacity)-th CompleteJob return.
    var samples: [Int64] = []
    for log in logs {
        let freed = log.completions.sorted()
        for (k, arrival) in log.arrivals.enumerated() where k >= capacity && k - capacity < freed.count {
            samples.append(signedDifference(arrival.at, freed[k - capacity]))
        }
    }
    Distribution(samples).report("latency")
    let perWorker = logs.map(\.completions.count)
    result("jobs_per_worker_min", Double(perWorker.min()!), decimals: 0)
    result("jobs_per_worker_max", Double(perWorker.max()!), decimals: 0)
    for worker in workers { await worker.close() }
    await client.close()
    group.shutdown()
}
