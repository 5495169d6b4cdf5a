/// The counter-based part of a user's dashboard, summed over every project they own or that
/// is shared with them, read in one indexed query (members ⋈ counters ⋈ activity buckets).
///
/// Derived values (average image size, efficiency, progress) and the queue and completion
/// figures (`queueStats`, `completionStats`) are the domain's to combine.
package struct DashboardAggregates: Sendable, Hashable {
    package var projectsOwned: Int64
    package var projectsSharedWithMe: Int64
    package var totalImages: Int64
    package var noSegmentation: Int64
    package var queued: Int64
    package var processing: Int64
    package var segmented: Int64
    package var failed: Int64
    package var storageBytes: Int64
    /// Existing images of visible projects uploaded at or after `todayStartMs`.
    package var imagesUploadedToday: Int64
    /// Jobs of visible projects completed at or after `todayStartMs`.
    package var segmentationsCompletedToday: Int64
    /// Visible projects created at or after `weekStartMs`.
    package var projectsCreatedThisWeek: Int64
    /// The event-log revision these numbers are exact at (read in the same snapshot).
    package var revision: Int64

    package var totalProjects: Int64 { projectsOwned + projectsSharedWithMe }

    package init(
        projectsOwned: Int64, projectsSharedWithMe: Int64, totalImages: Int64, noSegmentation: Int64, queued: Int64, processing: Int64, segmented: Int64, failed: Int64, storageBytes: Int64, imagesUploadedToday: Int64, segmentationsCompletedToday: Int64, projectsCreatedThisWeek: Int64, revision: Int64
    ) {
        self.projectsOwned = projectsOwned
        self.projectsSharedWithMe = projectsSharedWithMe
        self.totalImages = totalImages
        self.noSegmentation = noSegmentation
        self.queued = queued
        self.processing = processing
        self.segmented = segmented
        self.failed = failed
        self.storageBytes = storageBytes
        self.imagesUploadedToday = imagesUploadedToday
        self.segmentationsCompletedToday = segmentationsCompletedToday
        self.projectsCreatedThisWeek = projectsCreatedThisWeek
        self.revision = revision
    }
}

/// Everything a dashboard is computed from, read in one snapshot (`Store.dashboardFigures`).
package struct DashboardFigures: Sendable, Hashable {
    package var aggregates: DashboardAggregates
    package var queue: QueueStats
    package var completions: CompletionStats

    package init(
        aggregates: DashboardAggregates, queue: QueueStats, completions: CompletionStats
    ) {
        self.aggregates = aggregates
        self.queue = queue
        self.completions = completions
    }
}
