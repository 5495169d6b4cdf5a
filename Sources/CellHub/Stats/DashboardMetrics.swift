/// A caller's dashboard exactly as API.md defines it (proto `DashboardMetrics`), over every
/// project they own or that is shared with them.
package struct DashboardMetrics: Sendable, Hashable {
    package var projectsOwned: Int64
    package var projectsSharedWithMe: Int64
    package var totalProjects: Int64
    package var totalImages: Int64
    package var segmentedImages: Int64
    package var queuedImages: Int64
    package var processingImages: Int64
    package var failedImages: Int64
    package var storageBytes: Int64
    /// storage ÷ images; 0 when there are no images.
    package var averageImageBytes: Double
    /// segmented ÷ images × 100 in [0, 100]; 0 when there are no images.
    package var efficiencyPercent: Double
    /// Since local midnight in `timeZone`.
    package var imagesUploadedToday: Int64
    package var segmentationsCompletedToday: Int64
    /// Since Monday 00:00 local time.
    package var projectsCreatedThisWeek: Int64
    /// Service-wide QUEUED jobs.
    package var queueLength: Int64
    /// 1-based position of the caller's projects' first queued job; 0 = none queued.
    package var queuePosition: Int64
    /// Mean of the last 100 completed jobs of visible projects; 0 when none.
    package var averageProcessingTimeMs: Double
    /// Completions of visible projects per minute over the last 10 minutes.
    package var throughputPerMinute: Double
    package var revision: UInt64
    /// The IANA zone used ("UTC" when the request left it empty).
    package var timeZone: String
    /// Local midnight today and Monday 00:00 this week, as UTC ms (for stream roll-over).
    package var todayStartMs: Int64
    package var weekStartMs: Int64
    /// The next local midnight, as UTC ms: when day counters roll over.
    package var tomorrowStartMs: Int64
}
