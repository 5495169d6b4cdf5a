import ArgumentParser
import CellHubClient
import CellHubProto
import RPC

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A project's statistics now (`cellhub watch project` follows them live).",
        discussion: "Example:\n  cellhub stats demo -o json")
    @OptionGroup var options: ServerOptions
    @Argument(help: "Project id or name.") var project: String

    func run() async throws {
        try await Session.run(options) { session in
            var request = GetProjectStatsRequest()
            request.projectId = try await session.projectID(project)
            let response = try await session.unary(StatsService.getProjectStats, request)
            if session.out.json { return session.out.document(response) }
            let s = response.stats ?? ProjectStats()
            session.out.fields([
                ("images", "\(s.imageCount) (\(Output.bytes(s.totalBytes)))"),
                ("segmented", "\(s.segmentedCount) (\(Output.percent(s.progress)))"), ("queued", "\(s.queuedCount)"),
                ("processing", "\(s.processingCount)"), ("failed", "\(s.failedCount)"),
                ("not segmented", "\(s.noSegmentationCount)"), ("revision", "\(s.revision)"),
            ])
        }
    }
}

struct Dashboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Your dashboard's metrics; --watch follows them live.",
        discussion: "Example:\n  cellhub dashboard --time-zone Europe/Prague --watch")
    @OptionGroup var options: ServerOptions
    @Option(help: "IANA time zone for 'today' and 'this week' (default UTC).") var timeZone = ""
    @Flag(help: "Follow the metrics as they change (Ctrl-C ends).") var watch = false

    func run() async throws {
        try await Session.run(options) { session in
            guard watch else {
                var request = GetDashboardMetricsRequest()
                request.timeZone = timeZone
                let response = try await session.unary(StatsService.getDashboardMetrics, request)
                if session.out.json { return session.out.document(response) }
                return session.out.fields(Dashboard.rows(response.metrics ?? DashboardMetrics()))
            }
            var screen = Screen(out: session.out)
            var connection = "live"
            for try await item in session.hub.watchDashboard(timeZone: timeZone) {
                let metrics: DashboardMetrics
                switch item {
                case .reconnecting(let error, let delay):
                    connection = "reconnecting (\(error.code), next try in \(Output.milliseconds(delay)))"
                    if !session.out.json && screen.live { screen.redraw([session.out.dim(connection)]) }
                    continue
                case .event(let event):
                    connection = "live"
                    if session.out.json {
                        session.out.record(event)
                        continue
                    }
                    switch event.payload {
                    case .snapshot(let snapshot): metrics = snapshot.metrics ?? DashboardMetrics()
                    case .metricsUpdate(let update): metrics = update.metrics ?? DashboardMetrics()
                    default: continue
                    }
                }
                let rows = Dashboard.rows(metrics)
                if screen.live {
                    screen.redraw(["\(session.out.bold("dashboard")) \(session.out.dim("· \(connection) · revision \(metrics.revision)"))"]
                        + rows.map { "\($0.0): \($0.1)" })
                } else {
                    session.out.line("[\(metrics.revision)] " + rows.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
                }
            }
        }
    }

    static func rows(_ m: DashboardMetrics) -> [(String, String)] {
        [
            ("projects", "\(m.totalProjects) (\(m.projectsOwned) yours, \(m.projectsSharedWithMe) shared)"),
            ("images", "\(m.totalImages) (\(Output.bytes(m.storageBytes)))"),
            ("segmented", "\(m.segmentedImages) (\(Int(m.efficiencyPercent.rounded()))%)"),
            ("queued", "\(m.queuedImages)"), ("processing", "\(m.processingImages)"), ("failed", "\(m.failedImages)"),
            ("today", "\(m.imagesUploadedToday) uploaded, \(m.segmentationsCompletedToday) segmented"),
            ("throughput", "\(Int(m.throughputPerMinute.rounded()))/min, \(Int(m.averageProcessingTimeMs.rounded())) ms each"),
        ]
    }
}

struct Activity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Your activity feed, newest first; --follow streams new entries.",
        discussion: "Example:\n  cellhub activity --follow -o json")
    @OptionGroup var options: ServerOptions
    @Option(help: "Only entries about this project (id or name).") var project: String?
    @Option(help: "How many entries (1...500).") var limit: Int32 = 20
    @Flag(help: "After the latest entries, print new ones as they happen (Ctrl-C ends).") var follow = false

    func run() async throws {
        try await Session.run(options) { session in
            let projectID = try await project.asyncMap { try await session.projectID($0) }
            guard follow else {
                var request = ListActivityRequest()
                request.pageSize = limit
                request.projectId = projectID ?? ""
                let response = try await session.unary(StatsService.listActivity, request)
                if session.out.json { return session.out.document(response) }
                return session.out.table(["TIME", "PROJECT", "WHAT"], response.entries.map {
                    [Output.time($0.timestampUnixMs), Activity.projectName($0), Activity.describe($0)]
                })
            }
            for try await item in session.hub.watchActivity(backlog: UInt32(max(0, min(100, limit)))) {
                guard case .event(let event) = item else { continue }
                if let projectID, !event.projectId.isEmpty, event.projectId != projectID { continue }
                if session.out.json {
                    session.out.record(event)
                } else if case .caughtUp = event.payload {
                    continue
                } else if case .progress = event.payload {
                    continue
                } else {
                    session.out.line("\(Output.time(event.timestampUnixMs))  \(Activity.projectName(event))  \(Activity.describe(event))")
                }
            }
        }
    }

    static func projectName(_ event: ActivityEvent) -> String {
        switch event.payload {
        case .userActivity(let a): a.projectName
        case .sharedProjectUpdate(let a): a.projectName
        case .projectSharedWithYou(let a): a.projectName
        case .shareRevoked(let a): a.projectName
        default: ""
        }
    }

    static func describe(_ event: ActivityEvent) -> String {
        switch event.payload {
        case .userActivity(let a): "you: \(a.activityType)" + (a.imageCount > 0 ? " (\(a.imageCount) images)" : "")
        case .sharedProjectUpdate(let a): "\(event.actorUserName): \(a.updateType)" + (a.imageCount > 0 ? " (\(a.imageCount) images)" : "")
        case .projectSharedWithYou(let a): "\(a.owner?.userName ?? "?") shared it with you as \(a.role)"
        case .shareRevoked(let a): a.left ? "you left" : "\(a.owner?.userName ?? "?") took your access away"
        case .caughtUp: "caught up"
        case .progress: "progress"
        case nil: "?"
        }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        switch self {
        case .some(let value): try await transform(value)
        case .none: nil
        }
    }
}
