import BenchmarkSupport
import CellHubProto
import RPCHTTP2

/// `dashboards`: M users (a file of their tokens, one per line) each open WatchDashboard;
/// the owner uploads one image into a project shared with all of them; each stream is timed
/// to its DASHBOARD_METRICS_UPDATE.
func runDashboards(_ options: Options) async throws {
    try EventEnvelope.selfTest()
    let ownerToken = try options.required("--token")
    let project = try options.required("--project")
    var tokens = try readLines(try options.required("--tokens"))
    let users = try options.int("--users", default: tokens.count)
    guard users <= tokens.count else { throw BenchmarkFailure("--users \(users) but only \(tokens.count) tokens") }
    tokens = Array(tokens.prefix(users))
    let connections = try options.int("--connections", default: 100)
    let triggers = try options.int("--triggers", default: 5)
    let spacingMs = try options.double("--spacing-ms", default: 1_000)
    let owner = bearer(ownerToken)

    let warmUp: @Sendable (GRPCClient) async throws -> Void = { client in
        _ = try await client.unary(StatsService.getDashboardMetrics, GetDashboardMetricsRequest(), options: owner)
    }
    let client = try await connectedClient(options, connections: connections, warmUp: warmUp)
    let control = try await connectedClient(options, connections: 1, warmUp: warmUp)
    say("dashboards: \(users) users over \(connections) connections, each with WatchDashboard; the owner uploads into project \(project)")
    let perUser = tokens.map { bearer($0) }
    let run = FanoutRun(
        name: "dashboards", streams: users, triggers: triggers, spacingMs: spacingMs,
        readyKind: EventEnvelope.snapshot, stateKind: EventEnvelope.dashboardUpdate,
        open: { index in client.serverStreaming(EnvelopeMethods.watchDashboard, WatchDashboardRequest(), options: perUser[index]) },
        trigger: { k in
            _ = try await control.unary(
                ImageService.uploadImages, uploadRequest(project: project, name: "dashboard-\(realtimeMilliseconds())-\(k).png"), options: owner)
        })
    let outcome = try await run.run(afterReady: {}, close: {
        await client.close()
        await control.close()
    })
    outcome.report(prefix: "dashboards", stateLabel: "DASHBOARD_METRICS_UPDATE", showCommit: true)
}
