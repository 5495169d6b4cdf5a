import CellHub
package import CellHubProto
import CellHubStore
package import RPC

/// `cellhub.v1.StatsService`: the polled stats and dashboard over the domain's
/// ProjectStatsService, and the activity feed over its ActivityService. The Watch* streams
/// need the EventHub and come with the real-time issue; until then they answer
/// UNIMPLEMENTED (after authentication).
package struct StatsHandler: StatsServiceHandler {
    private let runner: DomainRunner

    package init(runner: DomainRunner) { self.runner = runner }

    package func getProjectStats(_ request: GetProjectStatsRequest, context: ServerContext) async throws -> GetProjectStatsResponse {
        let stats = runner.domain.stats
        let projectStats = try await runner.call(context) { caller throws(StatsError) in
            try stats.projectStats(projectID: request.projectId, caller: caller)
        }
        var response = GetProjectStatsResponse()
        response.stats = CellHubProto.ProjectStats(projectStats)
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
        try await runner.unimplemented(context, Self.streamsLater)
    }

    package func watchDashboard(
        _ request: WatchDashboardRequest, context: ServerContext, writer: ServerStreamWriter<DashboardEvent>
    ) async throws {
        try await runner.unimplemented(context, Self.streamsLater)
    }

    package func watchActivity(
        _ request: WatchActivityRequest, context: ServerContext, writer: ServerStreamWriter<ActivityEvent>
    ) async throws {
        try await runner.unimplemented(context, Self.streamsLater)
    }

    private static let streamsLater = "streams come with the real-time issue; poll GetProjectStats / GetDashboardMetrics meanwhile"
}
