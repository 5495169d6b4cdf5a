import BenchmarkSupport
import CellHubProto
import EventLoop
import RPCHTTP2

/// One upload delivered to one stream: which upload (project, its n-th upload there), when.
struct Delivery: Sendable {
    var project: Int
    var ordinal: Int
    var at: UInt64
}

struct SustainedState: Sendable {
    var ready = 0
    var ended = EndTally()
    var closing = false
    var deliveries: [Delivery] = []
    var statsUpdates = 0
    var countChanges = 0
    var otherEvents = 0
    /// Per project, per ordinal (n-th upload into it, from 1): when the upload call started.
    var uploadStarts: [[UInt64]]
    var uploadTimes: [UInt64] = []
    var uploadFailures = EndTally()
    var uploadsDone = 0
    var succeeded: [Int]
}

/// `sustained`: N WatchProject streams spread over P projects; uploads at R per second,
/// round-robin into the projects, for S seconds. Each upload into a project is matched to
/// each of its streams by the image count of the PROJECT_STATS_UPDATE that first reflects
/// it (a coalesced update delivers every upload it folds). Reports delivery latency (upload
/// call start → receipt), delivered events per second and, with `--server-pid`, the
/// server's CPU seconds (utime + stime) per delivered event — also less the uploads' own
/// CPU, measured first with the same schedule and no stream open.
func runSustained(_ options: Options) async throws {
    try EventEnvelope.selfTest()
    let token = try options.required("--token")
    let projectCount = try options.int("--projects", default: 100)
    let projects = Array(try readLines(try options.required("--projects-file")).prefix(projectCount))
    guard projects.count == projectCount else { throw BenchmarkFailure("--projects \(projectCount) but the file lists \(projects.count)") }
    let streams = try options.int("--streams", default: 10_000)
    let connections = try options.int("--connections", default: 100)
    let rate = try options.double("--rate", default: 100)
    let seconds = try options.double("--seconds", default: 20)
    let server = try serverProcess(options)
    let call = bearer(token)

    let client = try await connectedClient(options, connections: connections) { client in
        var request = GetProjectStatsRequest()
        request.projectId = projects[0]
        _ = try await client.unary(StatsService.getProjectStats, request, options: call)
    }
    let uploader = try await connectedClient(options, connections: 4) { client in
        var request = GetProjectStatsRequest()
        request.projectId = projects[0]
        _ = try await client.unary(StatsService.getProjectStats, request, options: call)
    }
    // The uploads' own cost: the same schedule with no stream open, for the marginal CPU
    // per delivered event below.
    var baselineCPUPerUpload: Double?
    if let server {
        let count = Int((rate * min(seconds, 5)).rounded())
        let cpuBefore = try server.cpuSeconds()
        let start = monotonicNanoseconds()
        var pending: [Task<Bool, Never>] = []
        for j in 0..<count {
            await sleep(untilMonotonic: start + UInt64(Double(j) * 1e9 / rate))
            let request = uploadRequest(project: projects[j % projectCount], name: "baseline-\(j).png")
            pending.append(Task { (try? await uploader.unary(ImageService.uploadImages, request, options: call)) != nil })
        }
        var done = 0
        for task in pending where await task.value { done += 1 }
        await sleep(milliseconds: 300)
        let cpu = try server.cpuSeconds() - cpuBefore
        baselineCPUPerUpload = cpu / Double(max(1, done))
        say("  baseline without streams: \(done) uploads at \(fixed(rate, 0))/s, server CPU \(fixed(cpu, 2)) s = \(fixed(cpu / Double(max(1, done)) * 1e3, 3)) ms per upload")
    }
    var initial: [Int64] = []
    for project in projects {
        var request = GetProjectStatsRequest()
        request.projectId = project
        initial.append(try await client.unary(StatsService.getProjectStats, request, options: call).message.stats?.imageCount ?? 0)
    }
    let uploads = Int((rate * seconds).rounded())
    let perProject = (uploads + projectCount - 1) / projectCount
    var watchers = Array(repeating: 0, count: projectCount)
    for index in 0..<streams { watchers[index % projectCount] += 1 }
    say("sustained: \(streams) WatchProject streams over \(projectCount) projects (\(streams / max(1, projectCount)) each) and \(connections) connections; "
        + "\(uploads) uploads at \(fixed(rate, 0))/s round-robin for \(fixed(seconds, 0)) s")

    let board = Board(SustainedState(
        uploadStarts: Array(repeating: Array(repeating: 0, count: perProject), count: projectCount),
        succeeded: Array(repeating: 0, count: projectCount)))
    let opened = monotonicNanoseconds()
    var tasks: [Task<Void, Never>] = []
    tasks.reserveCapacity(streams)
    for index in 0..<streams {
        let projectIndex = index % projectCount
        var request = WatchProjectRequest()
        request.projectId = projects[projectIndex]
        let stream = client.serverStreaming(EnvelopeMethods.watchProject, request, options: call)
        let base = initial[projectIndex]
        tasks.append(Task(executorPreference: stream.executor) {
            var live = false
            var count = base
            do {
                for try await event in stream {
                    let now = monotonicNanoseconds()
                    if !live {
                        if event.kind == EventEnvelope.caughtUp {
                            live = true
                            board.with { $0.ready += 1 }
                        }
                        continue
                    }
                    if event.kind == EventEnvelope.statsUpdate {
                        let from = count
                        count = max(count, event.imageCount)
                        board.with { state in
                            state.statsUpdates += 1
                            if count > from {
                                for ordinal in Int(from - base + 1)...Int(count - base) {
                                    state.deliveries.append(Delivery(project: projectIndex, ordinal: ordinal, at: now))
                                }
                            }
                        }
                    } else if event.kind == EventEnvelope.imageCountChange {
                        board.with { $0.countChanges += 1 }
                    } else {
                        board.with { $0.otherEvents += 1 }
                    }
                }
                board.with { if !$0.closing { $0.ended.addCleanEnd() } }
            } catch {
                board.with { if !$0.closing { $0.ended.add(error) } }
            }
        })
    }
    _ = await board.wait(seconds: 300) { $0.ready + $0.ended.total >= streams }
    say("  \(board.with { $0.ready }) of \(streams) streams caught up in \(fixed(milliseconds(monotonicNanoseconds() - opened), 0)) ms")
    await sleep(milliseconds: 1_000)
    let before = board.with { ($0.statsUpdates, $0.countChanges, $0.otherEvents) }

    let cpuBefore = try server?.cpuSeconds()
    let start = monotonicNanoseconds()
    var uploadTasks: [Task<Void, Never>] = []
    uploadTasks.reserveCapacity(uploads)
    for j in 0..<uploads {
        await sleep(untilMonotonic: start + UInt64(Double(j) * 1e9 / rate))
        let projectIndex = j % projectCount
        let ordinal = j / projectCount + 1
        let request = uploadRequest(project: projects[projectIndex], name: "sustained-\(j).png")
        uploadTasks.append(Task {
            let began = monotonicNanoseconds()
            board.with { $0.uploadStarts[projectIndex][ordinal - 1] = began }
            do {
                _ = try await uploader.unary(ImageService.uploadImages, request, options: call)
                let took = monotonicNanoseconds() - began
                board.with { state in
                    state.uploadTimes.append(took)
                    state.uploadsDone += 1
                    state.succeeded[projectIndex] += 1
                }
            } catch {
                board.with { $0.uploadFailures.add(error) }
            }
        })
    }
    let scheduleEnd = monotonicNanoseconds()
    for task in uploadTasks { await task.value }
    let expected = board.with { state in zip(state.succeeded, watchers).map { $0 * $1 }.reduce(0, +) }
    let delivered = await board.wait(seconds: 20) { $0.deliveries.count >= expected }
    let end = monotonicNanoseconds()
    let cpuAfter = try server?.cpuSeconds()
    let state = board.with { $0 }

    var latencies: [UInt64] = []
    latencies.reserveCapacity(state.deliveries.count)
    var lastDelivery = start
    var unmatched = 0  // image counts no upload of this run explains (someone else's upload)
    for delivery in state.deliveries {
        let starts = state.uploadStarts[delivery.project]
        guard delivery.ordinal >= 1, delivery.ordinal <= starts.count, starts[delivery.ordinal - 1] != 0 else {
            unmatched += 1
            continue
        }
        let began = starts[delivery.ordinal - 1]
        latencies.append(delivery.at &- began)
        lastDelivery = max(lastDelivery, delivery.at)
    }
    let latency = Distribution(latencies)
    let uploadLatency = Distribution(state.uploadTimes)
    let window = Double(max(lastDelivery, scheduleEnd) - start) / 1e9
    let statsUpdates = state.statsUpdates - before.0
    let countChanges = state.countChanges - before.1
    let events = statsUpdates + countChanges
    say("  uploads: \(state.uploadsDone) done, \(state.uploadFailures.total) failed\(state.uploadFailures.total > 0 ? " (\(state.uploadFailures.summary))" : ""); "
        + "upload call p50 \(fixed(milliseconds(uploadLatency.p50))) p99 \(fixed(milliseconds(uploadLatency.p99))) ms; "
        + "schedule kept: \(fixed(Double(scheduleEnd - start) / 1e9, 2)) s for \(fixed(seconds, 0)) s")
    say("  deliveries: \(latency.count) of \(expected) expected\(delivered ? "" : " (INCOMPLETE after 20 s)")\(unmatched > 0 ? ", \(unmatched) UNMATCHED" : ""); "
        + "upload start → PROJECT_STATS_UPDATE receipt p50 \(fixed(milliseconds(latency.p50))) p99 \(fixed(milliseconds(latency.p99))) max \(fixed(milliseconds(latency.max))) ms")
    say("  delivered \(events) events in \(fixed(window, 2)) s = \(fixed(Double(events) / window, 0)) events/s "
        + "(\(statsUpdates) PROJECT_STATS_UPDATE, \(countChanges) PROJECT_IMAGE_COUNT_CHANGE, \(state.otherEvents - before.2) other)")
    if state.ended.total > 0 { say("  streams that ended early: \(state.ended.summary)") }
    result("sustained_p50_ms", milliseconds(latency.p50))
    result("sustained_p99_ms", milliseconds(latency.p99))
    result("sustained_max_ms", milliseconds(latency.max))
    result("sustained_events_per_s", Double(events) / window, decimals: 0)
    result("sustained_events", Double(events), decimals: 0)
    result("sustained_missing", Double(max(0, expected - latency.count)), decimals: 0)
    result("sustained_unmatched", Double(unmatched), decimals: 0)
    result("sustained_upload_failures", Double(state.uploadFailures.total), decimals: 0)
    result("sustained_upload_p99_ms", milliseconds(uploadLatency.p99))
    result("sustained_ended_early", Double(state.ended.total), decimals: 0)
    if let cpuBefore, let cpuAfter {
        let cpu = cpuAfter - cpuBefore
        say("  server CPU: \(fixed(cpu, 2)) s over \(fixed(Double(end - start) / 1e9, 2)) s = \(fixed(cpu / Double(max(1, events)) * 1e6, 2)) µs per delivered event, "
            + "\(fixed(cpu / Double(max(1, state.uploadsDone)) * 1e3, 2)) ms per upload (with its \(streams / max(1, projectCount)) watchers)")
        result("sustained_cpu_s", cpu)
        result("sustained_cpu_us_per_event", cpu / Double(max(1, events)) * 1e6)
        result("sustained_cpu_ms_per_upload", cpu / Double(max(1, state.uploadsDone)) * 1e3)
        if let baselineCPUPerUpload {
            let marginal = max(0, cpu - baselineCPUPerUpload * Double(state.uploadsDone)) / Double(max(1, events)) * 1e6
            say("  less the uploads' own CPU (baseline): \(fixed(marginal, 2)) µs per delivered event")
            result("sustained_cpu_us_per_event_marginal", marginal)
            result("sustained_baseline_cpu_ms_per_upload", baselineCPUPerUpload * 1e3)
        }
    }
    board.with { $0.closing = true }
    await client.close()
    await uploader.close()
    for task in tasks { await task.value }
}
