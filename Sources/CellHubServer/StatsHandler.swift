package import CellHub
package import CellHubProto
import CellHubStore
package import RPC

/// `cellhub.v1.StatsService`: the polled stats and dashboard over the domain's
/// ProjectStatsService, the activity feed over its ActivityService, and the three Watch
/// streams over the EventHub (authenticated and validated here, then pushed by the hub
/// until it ends them or the client goes away).
package struct StatsHandler: StatsServiceHandler, InlineAnswering {
    private let runner: DomainRunner
    private let hub: EventHub

    package init(runner: DomainRunner, hub: EventHub) {
        self.runner = runner
        self.hub = hub
    }

    package func getProjectStats(_ request: GetProjectStatsRequest, context: ServerContext) async throws -> GetProjectStatsResponse {
        let stats = runner.domain.stats
        let projectStats = try await runner.call(context) { caller throws(StatsError) in
            try stats.projectStats(projectID: request.projectId, caller: caller)
        }
        return response(projectStats)
    }

    /// The common reads — a known token, and a role and counters or a dashboard in memory —
    /// are answered on the event loop, without a task; anything else takes the pool (the
    /// store), which fills those caches. The encoded reply is kept with the value it encodes
    /// (the same stats go to every viewer, a dashboard is polled): once the value is in
    /// memory, encoding it would be most of what answering costs.
    package var inlineAnswers: [InlineAnswer] {
        [
            InlineAnswer(StatsService.getProjectStats, encoded: { [self] request, context in
                let stats = runner.domain.stats
                guard let caller = try runner.authenticator.cachedCaller(context),
                      let cached = stats.cachedProjectStats(projectID: request.projectId, caller: caller)
                else { return nil }
                if let kept = cached.companion as? KeptReply { return kept.reply }
                let reply = EncodedMessage(response(cached.value))
                stats.keep(KeptReply(reply), with: cached)
                return reply
            }),
            InlineAnswer(StatsService.getDashboardMetrics, encoded: { [self] request, context in
                let stats = runner.domain.stats
                guard let caller = try runner.authenticator.cachedCaller(context),
                      let cached = stats.cachedDashboard(caller: caller, timeZone: request.timeZone)
                else { return nil }
                if let kept = cached.companion as? KeptReply { return kept.reply }
                let reply = EncodedMessage(response(cached.value))
                stats.keep(KeptReply(reply), with: cached, caller: caller, timeZone: request.timeZone)
                return reply
            }),
        ]
    }

    private func response(_ stats: CellHub.ProjectStats) -> GetProjectStatsResponse {
        var response = GetProjectStatsResponse()
        response.stats = CellHubProto.ProjectStats(stats)
        response.epoch = runner.domain.store.epoch
        return response
    }

    package func getDashboardMetrics(
        _ request: GetDashboardMetricsRequest, context: ServerContext
    ) async throws -> GetDashboardMetricsResponse {
        let stats = runner.domain.stats
        let metrics = try await runner.call(context) { caller throws(StatsError) in
            try stats.dashboard(caller: caller, timeZone: request.timeZone)
        }
        return response(metrics)
    }

    private func response(_ metrics: CellHub.DashboardMetrics) -> GetDashboardMetricsResponse {
        var response = GetDashboardMetricsResponse()
        response.metrics = CellHubProto.DashboardMetrics(metrics)
        response.epoch = runner.domain.store.epoch
        return response
    }

    package func listActivity(_ request: ListActivityRequest, context: ServerContext) async throws -> ListActivityResponse {
        let activity = runner.domain.activity
        let (page, caller) = try await runner.call(context) { caller throws(StatsError) in
            (try activity.list(
                caller: caller, projectID: request.projectId, pageSize: request.pageSize, pageToken: request.pageToken), caller)
        }
        var response = ListActivityResponse()
        let epoch = runner.domain.store.epoch
        response.entries = page.entries.map { ActivityEvent($0, recipient: caller, epoch: epoch) }
        response.nextPageToken = page.nextPageToken
        return response
    }

    package func watchProject(
        _ request: WatchProjectRequest, context: ServerContext, writer: ServerStreamWriter<ProjectEvent>
    ) async throws {
        let caller = try await runner.authenticator.caller(context)
        let projectID = try Self.validID(request.projectId, field: "project_id")
        let timing = try Self.timing(interval: request.minUpdateInterval.map { if case .minUpdateIntervalMs(let ms) = $0 { ms } else { 0 } }, heartbeat: request.heartbeatIntervalS)
        let resume = request.resumeFrom.map(StreamResume.init)
        try handOver(writer) { [hub] outlet, onEnd in
            hub.watchProject(projectID: projectID, caller: caller, resume: resume, timing: timing, outlet: outlet, onEnd: onEnd)
        }
    }

    package func watchDashboard(
        _ request: WatchDashboardRequest, context: ServerContext, writer: ServerStreamWriter<DashboardEvent>
    ) async throws {
        let caller = try await runner.authenticator.caller(context)
        let timing = try Self.timing(interval: request.minUpdateInterval.map { if case .minUpdateIntervalMs(let ms) = $0 { ms } else { 0 } }, heartbeat: request.heartbeatIntervalS)
        do {
            try runner.domain.stats.validate(timeZone: request.timeZone)
        } catch {
            throw RPCError(code: .invalidArgument, message: error.message)
        }
        let (timeZone, resume) = (request.timeZone, request.resumeFrom.map(StreamResume.init))
        try handOver(writer) { [hub] outlet, onEnd in
            hub.watchDashboard(caller: caller, timeZone: timeZone, resume: resume, timing: timing, outlet: outlet, onEnd: onEnd)
        }
    }

    package func watchActivity(
        _ request: WatchActivityRequest, context: ServerContext, writer: ServerStreamWriter<ActivityEvent>
    ) async throws {
        let caller = try await runner.authenticator.caller(context)
        let projectID = request.projectId.isEmpty ? nil : try Self.validID(request.projectId, field: "project_id")
        let backlog: UInt32 = request.backlog.map { if case .backlogSize(let size) = $0 { size } else { 10 } } ?? 10
        guard backlog <= 100 else { throw RPCError(code: .invalidArgument, message: "backlog_size must be 0..100, got \(backlog)") }
        let timing = try Self.timing(interval: 0, heartbeat: request.heartbeatIntervalS)
        let resume = request.resumeFrom.map(StreamResume.init)
        try handOver(writer) { [hub] outlet, onEnd in
            hub.watchActivity(caller: caller, projectID: projectID, backlog: Int(backlog), resume: resume, timing: timing, outlet: outlet, onEnd: onEnd)
        }
    }

    // MARK: Streams

    private static func validID(_ value: String, field: String) throws(RPCError) -> String {
        do {
            return try Validation.id(value, field: field)
        } catch {
            throw RPCError(code: .invalidArgument, message: error.message)
        }
    }

    /// Coalescing interval (unset = 100 ms; 0...60000 ms) and heartbeat (0 = 15 s; 1...300 s).
    private static func timing(interval: UInt32?, heartbeat: UInt32) throws(RPCError) -> StreamTiming {
        let intervalMs = interval ?? 100
        guard intervalMs <= 60_000 else {
            throw RPCError(code: .invalidArgument, message: "min_update_interval_ms must be 0..60000, got \(intervalMs)")
        }
        guard heartbeat <= 300 else {
            throw RPCError(code: .invalidArgument, message: "heartbeat_interval_s must be 1..300 (0 = 15), got \(heartbeat)")
        }
        return StreamTiming(
            updateIntervalNanoseconds: UInt64(intervalMs) * 1_000_000,
            heartbeatNanoseconds: UInt64(heartbeat == 0 ? 15 : heartbeat) * 1_000_000_000)
    }

    /// Hands the call to the hub (`open` registers the stream) and returns: the call stays
    /// open with no task behind it — an idle stream costs its state, not a suspended task's
    /// stack — until the hub ends it with its status, or the client leaves and the hub
    /// forgets it. Runs on the call's loop, so the hub's end (sent back there) always
    /// finds the call detached.
    private func handOver<Message>(
        _ writer: ServerStreamWriter<Message>,
        open: (PushOutlet, @escaping @Sendable (StreamEnd?) -> Void) -> StreamHandle
    ) throws(RPCError) {
        guard let push = writer.pushStream else { throw RPCError(code: .internal, message: "this transport cannot push streams") }
        let handle = open(PushOutlet(push)) { end in
            guard let end else { return }  // the client left: nothing to send
            let error = Self.error(ending: end)
            push.executor.execute { push.finish(status: error.status, trailers: error.metadata) }
        }
        let hub = self.hub
        guard push.detach(onClose: { hub.close(handle) }) else {
            hub.close(handle)
            throw RPCError(code: .cancelled, message: "the call ended before the stream opened")
        }
    }

    /// The status a stream ends with, as the stream comments document.
    private static func error(ending end: StreamEnd) -> RPCError {
        switch end {
        case .accessRevoked:
            RPCError(code: .permissionDenied, message: "your access to the project was revoked")
        case .projectNotFound(let message):
            RPCError(code: .notFound, message: message)
        case .unauthenticated:
            RPCError(code: .unauthenticated, message: "the token was revoked")
        case .tooSlow:
            RPCError(code: .resourceExhausted, message: "the client fell too far behind; resume from the last event received")
        case .draining:
            RPCError(code: .unavailable, message: "the server is shutting down; resume from the last event received")
        case .invalid(let message):
            RPCError(code: .invalidArgument, message: message)
        case .failed(let message):
            RPCError(code: .unavailable, message: "\(message); resume from the last event received")
        }
    }
}

/// An encoded reply kept by the domain with the value it encodes.
private final class KeptReply: Sendable {
    let reply: EncodedMessage

    init(_ reply: EncodedMessage) { self.reply = reply }
}

extension StreamResume {
    init(_ position: StreamPosition) {
        self.init(epoch: position.epoch, revision: Int64(clamping: position.revision), sequence: position.sequence)
    }
}
