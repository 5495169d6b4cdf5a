import BenchmarkSupport
import EventLoop
import RPCHTTP2

/// One event as a subscriber received it.
struct Arrival: Sendable {
    var receivedAt: UInt64
    var receivedRealtimeMs: Int64
    var committedMs: Int64
    var revision: UInt64
    var bytes: Int
    /// The stream's group (`FanoutRun.groups`: the node it is on).
    var group: Int
}

/// What the subscribers of a fan-out run report.
struct FanoutState: Sendable {
    var ready = 0
    var ended = EndTally()
    var closing = false
    /// Per trigger: the first new event of each stream.
    var first: [[Arrival]]
    /// Per trigger: the stream's PROJECT_STATS_UPDATE (or dashboard update) for it.
    var state: [[Arrival]]
    /// Events past the last trigger (should stay 0 but for heartbeats, which are not counted).
    var unexpected = 0
    var kindsSeen: [Int32: Int] = [:]
}

/// A fan-out measurement: N streams opened at once, each ready at its first event of
/// `readyKind`; then triggers, each one change, timed per stream from just before the
/// trigger call to the receipt of the first event after it (`first`), and of the state
/// event (`stateKind`) that follows it.
struct FanoutRun: Sendable {
    var name: String
    var streams: Int
    var triggers: Int
    var spacingMs: Double
    /// Readiness: the stream's first event of this kind (CAUGHT_UP, or SNAPSHOT for dashboards).
    var readyKind: Int32
    /// The event that carries the new state (PROJECT_STATS_UPDATE, DASHBOARD_METRICS_UPDATE).
    var stateKind: Int32
    /// True when every event after readiness is new (the floor repeats one revision).
    var everyEventIsNew = false
    /// Stream i belongs to group i mod `groups` (the node it was opened on, with `--targets`):
    /// first-event latencies are also reported per group.
    var groups = 1
    var open: @Sendable (Int) -> ResponseStream<EventEnvelope>
    var trigger: @Sendable (Int) async throws -> Void

    struct Outcome {
        var ready: Int
        var openMs: Double
        var ended: EndTally
        var perTrigger: [TriggerOutcome]
        var unexpected: Int
        var kindsSeen: [Int32: Int]
    }

    struct TriggerOutcome {
        var first: Distribution<UInt64>
        /// `first` per group (one entry when there are no groups).
        var firstByGroup: [Distribution<UInt64>]
        var state: Distribution<UInt64>
        var commitToReceiptMs: Distribution<UInt64>
        var triggerCallMs: Double
        var missing: Int
        /// Live streams without the state event (PROJECT_STATS_UPDATE, DASHBOARD_METRICS_UPDATE).
        var stateMissing: Int
        /// State events beyond one per live stream (a change delivered twice).
        var stateExtra: Int
        var failed: String?
        var revisions: Set<UInt64>
        var stateBytes: Int
    }

    /// Opens the streams and waits for them; `afterReady` runs once they are all ready (for
    /// RSS readings); then the triggers; the streams are closed by `close` at the end.
    func run(afterReady: () async throws -> Void, close: () async -> Void) async throws -> Outcome {
        let board = Board(FanoutState(first: Array(repeating: [], count: triggers), state: Array(repeating: [], count: triggers)))
        let started = monotonicNanoseconds()
        var tasks: [Task<Void, Never>] = []
        tasks.reserveCapacity(streams)
        for index in 0..<streams {
            let stream = open(index)
            let run = self
            // Consumed on the loop the messages arrive on (no thread hop per message).
            tasks.append(Task(executorPreference: stream.executor) { await run.consume(stream, group: index % run.groups, board: board) })
        }
        _ = await board.wait(seconds: 300) { $0.ready + $0.ended.total >= streams }
        let openMs = milliseconds(monotonicNanoseconds() - started)
        let ready = board.with { $0.ready }
        say("  \(name): \(ready) of \(streams) streams ready \(fixed(openMs, 0)) ms after opening\(board.with { $0.ended.total } > 0 ? "; ended: \(board.with { $0.ended.summary })" : "")")
        try await afterReady()

        var outcomes: [TriggerOutcome] = []
        for k in 0..<triggers {
            let before = monotonicNanoseconds()
            var failed: String?
            do {
                try await trigger(k)
            } catch {
                failed = "\(error)"
            }
            let callMs = milliseconds(monotonicNanoseconds() - before)
            let live = board.with { $0.ready - $0.ended.total }
            if failed == nil {
                _ = await board.wait(seconds: 15) { $0.first[k].count >= live && $0.state[k].count >= live }
            }
            let (first, state) = board.with { ($0.first[k], $0.state[k]) }
            let realtimeGaps = first.map { UInt64(max(0, $0.receivedRealtimeMs - $0.committedMs)) * 1_000_000 }
            let outcome = TriggerOutcome(
                first: Distribution(first.map { $0.receivedAt &- before }),
                firstByGroup: (0..<groups).map { g in Distribution(first.filter { $0.group == g }.map { $0.receivedAt &- before }) },
                state: Distribution(state.map { $0.receivedAt &- before }),
                commitToReceiptMs: Distribution(realtimeGaps),
                triggerCallMs: callMs,
                missing: max(0, live - first.count),
                stateMissing: max(0, live - state.count),
                stateExtra: max(0, state.count - live),
                failed: failed,
                revisions: Set(first.map(\.revision)),
                stateBytes: state.map(\.bytes).max() ?? 0)
            outcomes.append(outcome)
            await sleep(untilMonotonic: before + UInt64(spacingMs * 1e6))
        }
        board.with { $0.closing = true }
        await close()
        for task in tasks { await task.value }
        return board.with { state in
            Outcome(ready: ready, openMs: openMs, ended: state.ended, perTrigger: outcomes, unexpected: state.unexpected, kindsSeen: state.kindsSeen)
        }
    }

    private func consume(_ stream: ResponseStream<EventEnvelope>, group: Int, board: Board<FanoutState>) async {
        var live = false
        var lastRevision: UInt64 = 0
        var next = 0  // the trigger the next new event answers
        do {
            for try await event in stream {
                let now = monotonicNanoseconds()
                if !live {
                    if event.kind == readyKind {
                        live = true
                        lastRevision = event.revision
                        board.with { $0.ready += 1 }
                    }
                    continue
                }
                if event.kind == EventEnvelope.progress || event.kind == EventEnvelope.presence { continue }
                let arrival = Arrival(
                    receivedAt: now, receivedRealtimeMs: realtimeMilliseconds(), committedMs: event.timestampUnixMs, revision: event.revision,
                    bytes: event.encodedSize, group: group)
                let isNew = everyEventIsNew || event.revision > lastRevision
                if isNew {
                    lastRevision = event.revision
                    next += 1
                }
                let k = next - 1
                let isState = event.kind == stateKind
                board.with { state in
                    state.kindsSeen[event.kind, default: 0] += 1
                    guard k >= 0, k < state.first.count else {
                        state.unexpected += 1
                        return
                    }
                    if isNew { state.first[k].append(arrival) }
                    if isState { state.state[k].append(arrival) }
                }
            }
            board.with { if !$0.closing { $0.ended.addCleanEnd() } }
        } catch {
            board.with { if !$0.closing { $0.ended.add(error) } }
        }
    }
}

extension FanoutRun.Outcome {
    /// Prints one line per trigger and the medians; returns the medians (p50, p99, max) of
    /// the first-event latency.
    @discardableResult
    func report(prefix: String, stateLabel: String, showCommit: Bool) -> (p50: Double, p99: Double, max: Double) {
        for (k, t) in perTrigger.enumerated() {
            var line = "    trigger \(k + 1): \(t.first.count) received"
            if t.missing > 0 { line += " (\(t.missing) MISSING)" }
            if t.stateMissing > 0 { line += " (\(t.stateMissing) without the \(stateLabel))" }
            if t.stateExtra > 0 { line += " (\(t.stateExtra) extra \(stateLabel))" }
            if let failed = t.failed { line += " TRIGGER FAILED: \(failed)" }
            line += "  first event min \(fixed(milliseconds(t.first.min))) p50 \(fixed(milliseconds(t.first.p50))) p99 \(fixed(milliseconds(t.first.p99))) max \(fixed(milliseconds(t.first.max))) ms"
            line += "  | \(stateLabel) p50 \(fixed(milliseconds(t.state.p50))) p99 \(fixed(milliseconds(t.state.p99))) max \(fixed(milliseconds(t.state.max))) ms"
            line += "  | trigger call \(fixed(t.triggerCallMs)) ms"
            if showCommit {
                line += "  | commit→receipt p50 \(fixed(milliseconds(t.commitToReceiptMs.p50), 0)) p99 \(fixed(milliseconds(t.commitToReceiptMs.p99), 0)) ms"
            }
            if t.revisions.count > 1 { line += "  | WARNING: \(t.revisions.count) different revisions" }
            say(line)
        }
        let p50 = median(perTrigger.map { milliseconds($0.first.p50) })
        let p99 = median(perTrigger.map { milliseconds($0.first.p99) })
        let max = median(perTrigger.map { milliseconds($0.first.max) })
        let stateP99 = median(perTrigger.map { milliseconds($0.state.p99) })
        say("    median of \(perTrigger.count) triggers: first event p50 \(fixed(p50)) p99 \(fixed(p99)) max \(fixed(max)) ms; \(stateLabel) p99 \(fixed(stateP99)) ms; trigger call \(fixed(median(perTrigger.map(\.triggerCallMs)))) ms")
        if unexpected > 0 { say("    WARNING: \(unexpected) events arrived that answer no trigger") }
        if let groups = perTrigger.first?.firstByGroup.count, groups > 1 {
            for g in 0..<groups {
                let p50 = median(perTrigger.map { milliseconds($0.firstByGroup[g].p50) })
                let p99 = median(perTrigger.map { milliseconds($0.firstByGroup[g].p99) })
                let first = median(perTrigger.map { milliseconds($0.firstByGroup[g].min) })
                say("    group \(g) (streams i with i mod \(groups) = \(g)), median of \(perTrigger.count) triggers: first arrival \(fixed(first)) p50 \(fixed(p50)) p99 \(fixed(p99)) ms")
                result("\(prefix)_group\(g)_min_ms", first)
                result("\(prefix)_group\(g)_p50_ms", p50)
                result("\(prefix)_group\(g)_p99_ms", p99)
            }
        }
        let first = median(perTrigger.map { milliseconds($0.first.min) })
        say("    first arrival on any stream (median): \(fixed(first)) ms — the server's side; the spread after it is mostly the client's")
        result("\(prefix)_min_ms", first)
        result("\(prefix)_p50_ms", p50)
        result("\(prefix)_p99_ms", p99)
        result("\(prefix)_max_ms", max)
        result("\(prefix)_state_p99_ms", stateP99)
        result("\(prefix)_trigger_call_ms", median(perTrigger.map(\.triggerCallMs)))
        if showCommit {
            result("\(prefix)_commit_to_receipt_p50_ms", median(perTrigger.map { milliseconds($0.commitToReceiptMs.p50) }), decimals: 0)
            result("\(prefix)_commit_to_receipt_p99_ms", median(perTrigger.map { milliseconds($0.commitToReceiptMs.p99) }), decimals: 0)
        }
        result("\(prefix)_ready", Double(ready), decimals: 0)
        result("\(prefix)_open_ms", openMs, decimals: 0)
        result("\(prefix)_missing", Double(perTrigger.map(\.missing).reduce(0, +)), decimals: 0)
        result("\(prefix)_state_missing", Double(perTrigger.map(\.stateMissing).reduce(0, +)), decimals: 0)
        result("\(prefix)_state_extra", Double(perTrigger.map(\.stateExtra).reduce(0, +)), decimals: 0)
        result("\(prefix)_unexpected", Double(unexpected), decimals: 0)
        result("\(prefix)_mixed_revisions", Double(perTrigger.filter { $0.revisions.count > 1 }.count), decimals: 0)
        result("\(prefix)_ended_early", Double(ended.total), decimals: 0)
        result("\(prefix)_trigger_failures", Double(perTrigger.filter { $0.failed != nil }.count), decimals: 0)
        result("\(prefix)_state_bytes", Double(perTrigger.map(\.stateBytes).max() ?? 0), decimals: 0)
        if ended.total > 0 { say("    streams that ended early: \(ended.summary)") }
        return (p50, p99, max)
    }
}
