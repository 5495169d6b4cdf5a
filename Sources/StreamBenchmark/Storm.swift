import BenchmarkSupport
import CellHubProto
import EventLoop
import RPCHTTP2

/// What the streams of one storm report.
struct StormState: Sendable {
    var readyAt: [UInt64] = []
    var snapshots = 0
    var replayed: [Int64] = []
    /// Streams whose CAUGHT_UP came without a SNAPSHOT before it (snapshot path), or whose
    /// events before CAUGHT_UP are not replayed_count discrete events (`--expect-replayed`
    /// of them, when given) then at most one PROJECT_STATS_UPDATE (resume path).
    var wrong = 0
    /// Per stream, the events that came before CAUGHT_UP other than SNAPSHOT, PROGRESS and
    /// PRESENCE (the replayed changes).
    var received: [Int] = []
    /// Events before CAUGHT_UP by kind, all streams together.
    var kindsBefore: [Int32: Int] = [:]
    var positionLost = 0
    var ended = EndTally()
    var closing = false
}

/// `storm`: N WatchProject streams opened at once; the time until every one has its
/// SNAPSHOT and CAUGHT_UP. `--resume`: each asks to resume from (epoch, current revision −
/// k), so the server replays the project's changes since instead (the replay path).
func runStorm(_ options: Options) async throws {
    try EventEnvelope.selfTest()
    let token = try options.required("--token")
    let project = try options.required("--project")
    let streams = try options.int("--streams", default: 10_000)
    let connections = try options.int("--connections", default: 100)
    let rounds = try options.int("--rounds", default: 3)
    let resume = options.flag("--resume")
    let back = UInt64(max(0, try options.int("--resume-back", default: 5, minimum: 0)))
    // How many changes each resume must replay, when the caller knows (the project's last
    // `--resume-back` revisions are all its own).
    let expectReplayed = try options.string("--expect-replayed").map { _ in try options.int("--expect-replayed", default: 0, minimum: 0) }
    let call = bearer(token)
    var statsRequest = GetProjectStatsRequest()
    statsRequest.projectId = project
    let warmRequest = statsRequest
    let path = resume ? "resume" : "snapshot"
    say("storm (\(path) path): \(streams) WatchProject streams opened at once over \(connections) connections, \(rounds) rounds")

    var totals: [Double] = []
    var p50s: [Double] = []
    var p99s: [Double] = []
    var failures = 0
    var replayedAll: [Double] = []
    var lostAll = 0
    var teardowns: [Double] = []
    var slowest: [Double] = []
    var firstSlow: [Double] = []
    var snapshotsMissing = 0
    var wrongReplay = 0
    let server = try serverProcess(options)
    for round in 1...rounds {
        let client = try await connectedClient(options, connections: connections) { client in
            _ = try await client.unary(StatsService.getProjectStats, warmRequest, options: call)
        }
        let current = try await client.unary(StatsService.getProjectStats, statsRequest, options: call).message
        var request = WatchProjectRequest()
        request.projectId = project
        if resume {
            var position = StreamPosition()
            position.epoch = current.epoch
            let revision = current.stats?.revision ?? 0
            position.revision = revision > back ? revision - back : 0
            request.resumeFrom = position
        }
        let board = Board(StormState())
        let started = monotonicNanoseconds()
        var tasks: [Task<Void, Never>] = []
        tasks.reserveCapacity(streams)
        for _ in 0..<streams {
            let stream = client.serverStreaming(EnvelopeMethods.watchProject, request, options: call)
            tasks.append(Task(executorPreference: stream.executor) {
                var ready = false
                var sawSnapshot = false
                var before = 0
                var statsBefore = 0
                do {
                    for try await event in stream {
                        if ready { continue }
                        let now = monotonicNanoseconds()
                        if event.kind == EventEnvelope.snapshot {
                            sawSnapshot = true
                            board.with { $0.snapshots += 1 }
                        } else if event.kind == EventEnvelope.caughtUp {
                            ready = true
                            // A replay is the changes' discrete events, then at most one
                            // PROJECT_STATS_UPDATE (state coalesces).
                            let discrete = before - statsBefore
                            let wrong = resume
                                ? sawSnapshot || statsBefore > 1 || event.replayedCount != Int64(discrete)
                                    || (expectReplayed.map { $0 != discrete } ?? false)
                                : !sawSnapshot
                            board.with { state in
                                state.readyAt.append(now)
                                state.replayed.append(event.replayedCount)
                                state.received.append(before)
                                if wrong { state.wrong += 1 }
                                if event.positionLost { state.positionLost += 1 }
                            }
                        } else if event.kind != EventEnvelope.progress && event.kind != EventEnvelope.presence {
                            before += 1
                            if event.kind == EventEnvelope.statsUpdate { statsBefore += 1 }
                            board.with { $0.kindsBefore[event.kind, default: 0] += 1 }
                        }
                    }
                    board.with { if !$0.closing { $0.ended.addCleanEnd() } }
                } catch {
                    board.with { if !$0.closing { $0.ended.add(error) } }
                }
            })
        }
        let complete = await board.wait(seconds: 300) { $0.readyAt.count + $0.ended.total >= streams }
        let state = board.with { $0 }
        let times = Distribution(state.readyAt.map { $0 &- started })
        let total = milliseconds(times.max)
        let replayed = median(state.replayed.map(Double.init))
        var line = "  round \(round): \(times.count)/\(streams) caught up; all within \(fixed(total, 0)) ms; per stream p50 \(fixed(milliseconds(times.p50), 0)) p99 \(fixed(milliseconds(times.p99), 0)) ms"
        let received = Distribution(state.received.map(UInt64.init))
        line += resume
            ? "; replayed_count per stream (median) \(fixed(replayed, 0)), events before CAUGHT_UP min \(received.min) max \(received.max), position lost \(state.positionLost), snapshots \(state.snapshots)"
            : "; snapshots \(state.snapshots)"
        if resume {
            line += "; events before CAUGHT_UP by kind: " + state.kindsBefore.sorted { $0.key < $1.key }
                .map { "\(EventKind(rawValue: $0.key)): \($0.value)" }.joined(separator: ", ")
        }
        if state.wrong > 0 { line += "; WRONG: \(state.wrong) streams (\(resume ? "replay is not \(expectReplayed.map { "\($0) changes" } ?? "replayed_count") discrete events then at most one PROJECT_STATS_UPDATE" : "no SNAPSHOT before CAUGHT_UP"))" }
        if !complete { line += "; TIMED OUT" }
        if state.ended.total > 0 { line += "; ended early: \(state.ended.summary)" }
        say(line)
        totals.append(total)
        p50s.append(milliseconds(times.p50))
        p99s.append(milliseconds(times.p99))
        failures += state.ended.total + (streams - times.count - state.ended.total)
        replayedAll.append(replayed)
        lostAll += state.positionLost
        wrongReplay += state.wrong
        if !resume { snapshotsMissing += max(0, times.count - state.snapshots) }
        board.with { $0.closing = true }
        let closedAt = monotonicNanoseconds()
        await client.close()
        for task in tasks { await task.value }
        // The next round starts only once the server answers promptly again: what this
        // round's teardown costs is reported apart, not folded into the next storm.
        let stall = try await stallAfterClose(options, closedAt: closedAt, server: server) { client in
            _ = try await client.unary(StatsService.getProjectStats, warmRequest, options: call)
        }
        say("    after closing them: slowest call \(fixed(stall.slowestMs, 0)) ms; calls slower than 20 ms until \(fixed(stall.busyUntilMs, 0)) ms after the close")
        say("    teardown: \(stall.timeline)")
        firstSlow.append(stall.firstSlowStartMs ?? 0)
        teardowns.append(stall.busyUntilMs)
        slowest.append(stall.slowestMs)
    }
    say("  median of \(rounds) rounds: all \(streams) caught up within \(fixed(median(totals), 0)) ms (per stream p50 \(fixed(median(p50s), 0)) p99 \(fixed(median(p99s), 0)) ms)")
    result("storm_\(path)_total_ms", median(totals), decimals: 0)
    result("storm_\(path)_p50_ms", median(p50s), decimals: 0)
    result("storm_\(path)_p99_ms", median(p99s), decimals: 0)
    result("storm_\(path)_failed", Double(failures), decimals: 0)
    result("storm_\(path)_teardown_busy_ms", median(teardowns), decimals: 0)
    result("storm_\(path)_teardown_slowest_ms", median(slowest), decimals: 0)
    result("storm_\(path)_teardown_first_slow_ms", median(firstSlow), decimals: 0)
    result("storm_\(path)_missing_snapshot", Double(snapshotsMissing), decimals: 0)
    result("storm_\(path)_wrong_replay", Double(wrongReplay), decimals: 0)
    say("  after closing \(streams) streams: slow calls (> 20 ms) until \(fixed(median(teardowns), 0)) ms after the close (median; max \(fixed(teardowns.max() ?? 0, 0)) ms), slowest call \(fixed(median(slowest), 0)) ms (median)")
    if resume {
        result("storm_resume_replayed", median(replayedAll), decimals: 0)
        result("storm_resume_position_lost", Double(lostAll), decimals: 0)
    }
}
