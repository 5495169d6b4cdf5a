
/// A project's statistics exactly as API.md defines them (proto `ProjectStats`).
package struct ProjectStats: Sendable, Hashable {
    package var projectID: String
    package var imageCount: Int64
    package var noSegmentationCount: Int64
    package var queuedCount: Int64
    package var processingCount: Int64
    package var segmentedCount: Int64
    package var failedCount: Int64
    package var totalBytes: Int64
    /// segmented ÷ images in [0, 1]; 0 when there are no images.
    package var progress: Double
    package var lastImageAddedAtMs: Int64
    package var lastSegmentationCompletedAtMs: Int64
    package var updatedAtMs: Int64
    package var revision: UInt64

    /// The one derivation of stats from counters.
    package init(_ counters: ProjectCounters) {
        projectID = counters.projectID
        imageCount = counters.imageCount
        noSegmentationCount = counters.noSegmentation
        queuedCount = counters.queued
        processingCount = counters.processing
        segmentedCount = counters.segmented
        failedCount = counters.failed
        totalBytes = counters.totalBytes
        progress = counters.imageCount > 0 ? Double(counters.segmented) / Double(counters.imageCount) : 0
        lastImageAddedAtMs = counters.lastImageAddedAtMs
        lastSegmentationCompletedAtMs = counters.lastSegmentationCompletedAtMs
        updatedAtMs = counters.updatedAtMs
        revision = UInt64(max(0, counters.revision))
    }
}
