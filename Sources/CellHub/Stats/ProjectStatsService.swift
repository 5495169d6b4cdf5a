internal import Synchronization

/// The single source of truth for statistics: every ProjectStats and DashboardMetrics the
/// API returns (unary or streamed) is computed here, from the counters the store moves in
/// the same transaction as each change.
///
/// Project stats are O(1): a cache in front of the counters row, fed with the counters every
/// write returns (`record`), keeping per project the highest revision seen — so it is never
/// older than the last commit that went through the domain. Dashboard metrics come from one
/// read snapshot: the user's counter rows, the queue and the completion figures; the last
/// one per user and zone is kept until the next commit (`cachedDashboard`).
package final class ProjectStatsService: Sendable {
    /// Completions counted for the throughput (per minute over this window).
    static let throughputWindowMs: Int64 = 10 * 60_000

    private let store: any StatsRepository & ProjectRepository & CommitSignal
    private let options: DomainOptions
    private let cache: StatsCache
    /// Whether `cache` and `dashboards` may answer: not when other nodes write to the store
    /// (their commits reach this node late or, for the counters, not at all; reads then go to
    /// the store).
    private let countersCached: Bool
    private let access: ProjectAccess
    private let days = DayBoundaries()
    /// Each user's last dashboard per time zone, under `commits`.
    private let dashboards: GenerationCache<DashboardKey, CachedDashboard>
    /// Moves after every commit of this store, on the committing thread before the write
    /// returns: a dashboard read after a write never finds one cached before it.
    private let commits = Atomic<UInt64>(0)

    init(store: any StatsRepository & ProjectRepository & CommitSignal, options: DomainOptions) {
        self.store = store
        self.options = options
        cache = StatsCache(capacity: options.statsCacheCapacity)
        countersCached = !store.hasOtherWriters
        access = ProjectAccess(store: store)
        dashboards = GenerationCache(limit: options.statsCacheCapacity)
        store.onCommit { [weak self] in self?.commits.add(1, ordering: .releasing) }
    }

    // MARK: Cache feed (every write path calls these after its commit)

    /// Records the counters a committed write returned. Writers outside these services (the
    /// worker and lease paths) must call this too.
    package func record(_ counters: ProjectCounters) {
        if countersCached { cache.record(counters) }
    }

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
        let stats = ProjectStats(try counters(projectID: id))
        // Roles are kept, never their absence (a share granted later needs no flush).
        if countersCached { cache.admit(role, userID: caller.userID, projectID: id, generation: generation) }
        return stats
    }

    /// A project's stats from memory alone — the caller's role on it and its counters both
    /// cached and current — with the companion `keep` attached to them, or nil when
    /// answering needs the store (`projectStats`). Never blocks for long: fit for an event loop.
    package func cachedProjectStats(projectID: String, caller: Caller) -> InMemory<ProjectStats>? {
        guard countersCached,
              let (counters, companion) = cache.read(projectID: projectID, userID: caller.userID, generation: store.membershipGeneration)
        else { return nil }
        return InMemory(value: ProjectStats(counters), companion: companion, version: counters.revision)
    }

    /// Keeps `companion` — something made from `stats` alone, such as its encoded reply — with
    /// the counters `stats` came from, until they move: the next `cachedProjectStats` of the
    /// project returns it.
    package func keep(_ companion: any AnyObject & Sendable, with stats: InMemory<ProjectStats>) {
        cache.attach(companion, projectID: stats.value.projectID, revision: stats.version)
    }

    /// Stats without a caller, for the EventHub (which authorises at subscribe time).
    package func projectStats(projectID: String) throws(StatsError) -> ProjectStats {
        ProjectStats(try counters(projectID: projectID))
    }

    private func counters(projectID: String) throws(StatsError) -> ProjectCounters {
        if countersCached, let cached = cache.counters(projectID) { return cached }
        let counters: ProjectCounters?
        do {
            counters = try store.counters(projectID: projectID)
        } catch {
            throw StatsError(error)
        }
        guard let counters else { throw .notFound("project \(projectID) not found") }
        record(counters)
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
        // Read before the store: a commit during the read is not cached past.
        let generation = commits.load(ordering: .acquiring)
        let memberships = store.membershipGeneration
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
        let metrics = Self.metrics(
            figures.aggregates, queue: figures.queue, completions: figures.completions, timeZone: zone, bounds: bounds)
        // A throughput over a window that slides with the clock is only kept while it is
        // zero (time alone cannot raise it).
        if countersCached && figures.completions.completedSince == 0 {
            dashboards.insert(
                CachedDashboard(metrics: metrics, memberships: memberships, companion: nil),
                for: DashboardKey(userID: caller.userID, timeZone: timeZone), generation: generation)
        }
        return metrics
    }

    /// The caller's dashboard from memory — computed since the last commit (and the last
    /// membership change of any process), before the next local midnight — or nil when
    /// answering needs the store (`dashboard`). Never blocks for long: fit for an event loop.
    package func cachedDashboard(caller: Caller, timeZone: String) -> InMemory<DashboardMetrics>? {
        let key = DashboardKey(userID: caller.userID, timeZone: timeZone)
        let generation = commits.load(ordering: .acquiring)
        guard countersCached, let cached = dashboards.value(key, generation: generation),
              cached.memberships == store.membershipGeneration,
              options.clock() < cached.metrics.tomorrowStartMs
        else { return nil }
        return InMemory(value: cached.metrics, companion: cached.companion, version: Int64(generation))
    }

    /// Keeps `companion` (made from `dashboard` alone) with the caller's cached dashboard in
    /// `timeZone` until it is dropped: the next `cachedDashboard` returns it.
    package func keep(_ companion: any AnyObject & Sendable, with dashboard: InMemory<DashboardMetrics>, caller: Caller, timeZone: String) {
        dashboards.update(DashboardKey(userID: caller.userID, timeZone: timeZone), generation: UInt64(dashboard.version)) { cached in
            if cached.metrics == dashboard.value { cached.companion = companion }
        }
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

/// A user's dashboard in one time zone (as requested: "" and "UTC" are two keys).
struct DashboardKey: Hashable, Sendable {
    let userID: String
    let timeZone: String
}

struct CachedDashboard: Sendable {
    let metrics: DashboardMetrics
    /// The membership generation it was read under (shares change a user's totals).
    let memberships: UInt64
    var companion: (any AnyObject & Sendable)?
}

/// A user's view of one project: the key of the role cache.
struct ProjectViewer: Hashable, Sendable {
    let projectID: String
    let userID: String
}

/// A value read from memory, with the companion a reader kept with it (`keep`), if any: the
/// server keeps the encoded reply there, so answering the same value again encodes nothing.
package struct InMemory<Value: Sendable>: Sendable {
    package let value: Value
    package let companion: (any AnyObject & Sendable)?
    /// What the companion is attached to: the counters' revision, or the count of commits the
    /// dashboard was read after.
    let version: Int64
}
