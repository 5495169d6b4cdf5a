import CellHub
import CellHubProto
import CellHubStore

extension CellHubProto.ProjectStats {
    /// Stats from a counters row, through the domain's one derivation.
    init(_ counters: ProjectCounters) {
        self.init(CellHub.ProjectStats(counters))
    }

    init(_ stats: CellHub.ProjectStats) {
        self.init()
        projectId = stats.projectID
        imageCount = stats.imageCount
        noSegmentationCount = stats.noSegmentationCount
        queuedCount = stats.queuedCount
        processingCount = stats.processingCount
        segmentedCount = stats.segmentedCount
        failedCount = stats.failedCount
        totalBytes = stats.totalBytes
        progress = stats.progress
        lastImageAddedAtUnixMs = stats.lastImageAddedAtMs
        lastSegmentationCompletedAtUnixMs = stats.lastSegmentationCompletedAtMs
        updatedAtUnixMs = stats.updatedAtMs
        revision = stats.revision
    }
}

extension CellHubProto.DashboardMetrics {
    init(_ metrics: CellHub.DashboardMetrics) {
        self.init()
        projectsOwned = metrics.projectsOwned
        projectsSharedWithMe = metrics.projectsSharedWithMe
        totalProjects = metrics.totalProjects
        totalImages = metrics.totalImages
        segmentedImages = metrics.segmentedImages
        queuedImages = metrics.queuedImages
        processingImages = metrics.processingImages
        failedImages = metrics.failedImages
        storageBytes = metrics.storageBytes
        averageImageBytes = metrics.averageImageBytes
        efficiencyPercent = metrics.efficiencyPercent
        imagesUploadedToday = metrics.imagesUploadedToday
        segmentationsCompletedToday = metrics.segmentationsCompletedToday
        projectsCreatedThisWeek = metrics.projectsCreatedThisWeek
        queueLength = metrics.queueLength
        queuePosition = metrics.queuePosition
        averageProcessingTimeMs = metrics.averageProcessingTimeMs
        throughputPerMinute = metrics.throughputPerMinute
        revision = metrics.revision
        timeZone = metrics.timeZone
    }
}
