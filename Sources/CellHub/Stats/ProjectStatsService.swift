
/// The single source of truth for statistics: every ProjectStats and DashboardMetrics the
/// API returns (unary or streamed) is computed here, from the counters the store moves in
/// the same transaction as each change.
///
/// Project stats are O(1): a cache in front of the counters row, fed with the counters every
/// write returns (`record`), keeping per project the highest revision seen — so it is never
/// older than the last commit that went through the domain. Dashboard metrics come from one
/// read snapshot: the user's counter rows, the queue and the completion figures.
package final class ProjectStatsService: Sendable {
    /// Completions counted for the throughput (per minute over this window).
    static let throughputWindowMs: Int64 = 10 * 60_000

    private let store: any StatsRepository & ProjectRepository
    private let options: DomainOptions
    private let cache: StatsCache
    private let access: ProjectAccess
    /// Who may see which project, as last read: lets `cachedProjectStats` answer without the
    /// store. Roles are kept, never their absence (a share granted later needs no flush).
    private let viewers: GenerationCache<ProjectViewer, MemberRole>
    private let days = DayBoundaries()

    init(store: any StatsRepository & ProjectRepository, options: DomainOptions) {
        self.store = store
        self.options = options
        cache = StatsCache(capacity: options.statsCacheCapacity)
        access = ProjectAccess(store: store)
        viewers = GenerationCache(limit: options.statsCacheCapacity)
    }

    // MARK: Cache feed (every write path calls these after its commit)

    /// Records the counters a committed write returned. Writers outside these services (the
    /// worker and lease paths) must call this too.
    package func record(_ counters: ProjectCounters) { cache.record(counters) }

    /// Forgets a deleted project.
    package func forget(_ projectID: String) { cache.remove(projectID) }

    /// Entries currently cached (tests).
    var cachedCount: Int { cache.count }

    // MARK: Project stats

    /// A project's stats; any role on it (NOT_FOUND when it is not visible).
    package func projectStats(projectID: String, caller: Caller) throws(StatsError) -> ProjectStats {
        // Read before the role lookup: a revocation committed during it is not cached past.
        let generation = store.membershipGeneration
        let (id, role) = try access.viewableProject(projectID, caller: caller)
        viewers.insert(role, for: ProjectViewer(projectID: id, userID: caller.userID), generation: generation)
        return ProjectStats(try counters(projectID: id))
    }

    /// A project's stats from memory alone — the caller's role on it and its counters both
    /// cached and current — or nil when answering needs the store (`projectStats`). Never
    /// blocks for long: fit for an event loop.
    package func cachedProjectStats(projectID: String, caller: Caller) -> ProjectStats? {
        let viewer = ProjectViewer(projectID: projectID, userID: caller.userID)
        guard viewers.value(viewer, generation: store.membershipGeneration) != nil,
              let counters = cache.counters(projectID)
        else { return nil }
        return ProjectStats(counters)
    }

    /// Stats without a caller, for the EventHub (which authorises at subscribe time).
    package func projectStats(projectID: String) throws(StatsError) -> ProjectStats {
        ProjectStats(try counters(projectID: projectID))
    }

    private func counters(projectID: String) throws(StatsError) -> ProjectCounters {
        if let cached = cache.counters(projectID) { return cached }
        let counters: ProjectCounters?
        do {
            counters = try store.counters(projectID: projectID)
        } catch {
            throw StatsError(error)
        }
        guard let counters else { throw .notFound("project \(projectID) not found") }
        cache.record(counters)
        return counters
    }

    // MARK: Dashboard

    /// Refuses a time zone the dashboard cannot use ("" = UTC is fine).
    package func validate(timeZone: String) throws(StatsError) {
        guard timeZone.utf8.count <= 64, days.boundaries(timeZone: timeZone, at: options.clock()) != nil else {
            throw .invalidArgument("time_zone \(Validation.quoted(timeZone)) is not a known IANA time zone")
        }
    }

    /// The caller's dashboard with "today" and "this week" in `timeZone` (IANA name; "" =
    /// "UTC"; unknown = INVALID_ARGUMENT).
    package func dashboard(caller: Caller, timeZone: String) throws(StatsError) -> DashboardMetrics {
        let now = options.clock()
        guard timeZone.utf8.count <= 64, let (zone, bounds) = days.boundaries(timeZone: timeZone, at: now) else {
            throw .invalidArgument("time_zone \(Validation.quoted(timeZone)) is not a known IANA time zone")
        }
        let figures: DashboardFigures
        do {
            figures = try store.dashboardFigures(
                userID: caller.userID, todayStartMs: bounds.todayStartMs, weekStartMs: bounds.weekStartMs,
                completedSinceMs: now - Self.throughputWindowMs)
        } catch {
            throw StatsError(error)
        }
        return Self.metrics(
            figures.aggregates, queue: figures.queue, completions: figures.completions, timeZone: zone, bounds: bounds)
    }

    /// The one derivation of DashboardMetrics from the store's figures.
    static func metrics(
        _ aggregates: DashboardAggregates, queue: QueueStats, completions: CompletionStats, timeZone: String,
        bounds: LocalCalendar.Boundaries
    ) -> DashboardMetrics {
        let images = aggregates.totalImages
        return DashboardMetrics(
            projectsOwned: aggregates.projectsOwned, projectsSharedWithMe: aggregates.projectsSharedWithMe,
            totalProjects: aggregates.totalProjects, totalImages: images, segmentedImages: aggregates.segmented,
            queuedImages: aggregates.queued, processingImages: aggregates.processing, failedImages: aggregates.failed,
            storageBytes: aggregates.storageBytes,
            averageImageBytes: images > 0 ? Double(aggregates.storageBytes) / Double(images) : 0,
            efficiencyPercent: images > 0 ? Double(aggregates.segmented) / Double(images) * 100 : 0,
            imagesUploadedToday: aggregates.imagesUploadedToday,
            segmentationsCompletedToday: aggregates.segmentationsCompletedToday,
            projectsCreatedThisWeek: aggregates.projectsCreatedThisWeek, queueLength: queue.queued,
            queuePosition: queue.position,
            averageProcessingTimeMs: completions.sampleCount > 0 ? completions.averageProcessingMs : 0,
            throughputPerMinute: Double(completions.completedSince) / Double(throughputWindowMs / 60_000),
            revision: UInt64(max(0, aggregates.revision)), timeZone: timeZone, todayStartMs: bounds.todayStartMs,
            weekStartMs: bounds.weekStartMs, tomorrowStartMs: bounds.tomorrowStartMs)
    }
}

/// A user's view of one project: the key of the role cache.
struct ProjectViewer: Hashable, Sendable {
    let projectID: String
    let userID: String
}
