public import CellHubProto
internal import RPC
public import RPCHTTP2

/// A connection to a CellHub server with one typed client per service; every call carries
/// the bearer token and, for unary calls, a deadline.
///
///     let hub = try CellHubConnection(host: "127.0.0.1", port: 50051, token: token)
///     let project = try await hub.projects.createProject(.init(name: "demo")).project
///     for try await item in hub.watchProject(project!.id) { ... }
public final class CellHubConnection: Sendable {
    public let client: GRPCClient
    public let projects: ProjectServiceClient
    public let images: ImageServiceClient
    public let segmentation: SegmentationServiceClient
    public let stats: StatsServiceClient
    /// Options of unary calls (token, deadline); streams use the same without the deadline.
    public let unaryOptions: CallOptions
    public let streamOptions: CallOptions

    /// `timeout`: the deadline of every unary call (nil: none). Messages up to 256 MiB are
    /// accepted (images travel in GetImageContent replies and job assignments).
    public init(host: String, port: Int, token: String?, timeout: Duration? = .seconds(30),
                configuration: ClientConfiguration = ClientConfiguration()) throws {
        client = try GRPCClient(host: host, port: port, configuration: configuration)
        var metadata = Metadata()
        if let token { metadata.add("authorization", "Bearer \(token)") }
        var options = CallOptions(timeout: timeout, metadata: metadata)
        options.maxReceiveMessageBytes = 256 << 20
        options.maxSendMessageBytes = 256 << 20
        unaryOptions = options
        options.timeout = nil
        streamOptions = options
        projects = ProjectServiceClient(client, options: unaryOptions)
        images = ImageServiceClient(client, options: unaryOptions)
        segmentation = SegmentationServiceClient(client, options: unaryOptions)
        stats = StatsServiceClient(client, options: unaryOptions)
    }

    public func close() async { await client.close() }

    /// One project's events, resumed across disconnects and restarts (see `ResumingWatch`).
    public func watchProject(_ projectID: String, from position: StreamPosition? = nil,
                             minUpdateIntervalMs: UInt32? = nil, backoff: Backoff = Backoff()) -> ResumingWatch<ProjectEvent> {
        let stats = stats, options = streamOptions
        return ResumingWatch(from: position, backoff: backoff) { position in
            var request = WatchProjectRequest()
            request.projectId = projectID
            request.resumeFrom = position
            if let minUpdateIntervalMs { request.minUpdateInterval = .minUpdateIntervalMs(minUpdateIntervalMs) }
            return stats.watchProject(request, options: options)
        }
    }

    /// The caller's dashboard metrics, resumed (a SNAPSHOT on every connection).
    public func watchDashboard(timeZone: String = "", from position: StreamPosition? = nil,
                               minUpdateIntervalMs: UInt32? = nil, backoff: Backoff = Backoff()) -> ResumingWatch<DashboardEvent> {
        let stats = stats, options = streamOptions
        return ResumingWatch(from: position, backoff: backoff) { position in
            var request = WatchDashboardRequest()
            request.timeZone = timeZone
            request.resumeFrom = position
            if let minUpdateIntervalMs { request.minUpdateInterval = .minUpdateIntervalMs(minUpdateIntervalMs) }
            return stats.watchDashboard(request, options: options)
        }
    }

    /// The caller's activity feed, resumed.
    public func watchActivity(from position: StreamPosition? = nil, backlog: UInt32? = nil,
                              backoff: Backoff = Backoff()) -> ResumingWatch<ActivityEvent> {
        let stats = stats, options = streamOptions
        return ResumingWatch(from: position, backoff: backoff) { position in
            var request = WatchActivityRequest()
            request.resumeFrom = position
            if let backlog { request.backlog = .backlogSize(backlog) }
            return stats.watchActivity(request, options: options)
        }
    }
}
