import CellHubProto

/// Realistic values for the benchmarked messages: what the server sends most often.
enum SampleMessages {
    static func projectStats(_ index: Int = 0) -> ProjectStats {
        var stats = ProjectStats()
        stats.projectId = "0b7c5e2a-4f1d-4c3e-9a6b-\(idTail(index))"
        stats.imageCount = 12_480 + Int64(index)
        stats.noSegmentationCount = 1_200
        stats.queuedCount = 310
        stats.processingCount = 8
        stats.segmentedCount = 10_900 + Int64(index)
        stats.failedCount = 62
        stats.totalBytes = 51_118_080_000
        stats.progress = Double(stats.segmentedCount) / Double(stats.imageCount)
        stats.lastImageAddedAtUnixMs = 1_795_000_000_000 + Int64(index)
        stats.lastSegmentationCompletedAtUnixMs = 1_795_000_100_000
        stats.updatedAtUnixMs = 1_795_000_100_000 + Int64(index)
        stats.revision = 9_000_000 + UInt64(index)
        return stats
    }

    static func dashboardMetrics() -> DashboardMetrics {
        var metrics = DashboardMetrics()
        metrics.projectsOwned = 42
        metrics.projectsSharedWithMe = 17
        metrics.totalProjects = 59
        metrics.totalImages = 734_211
        metrics.segmentedImages = 690_004
        metrics.queuedImages = 3_120
        metrics.processingImages = 16
        metrics.failedImages = 1_001
        metrics.storageBytes = 3_001_220_331_008
        metrics.averageImageBytes = 4_087_712.5
        metrics.efficiencyPercent = 93.98
        metrics.imagesUploadedToday = 5_230
        metrics.segmentationsCompletedToday = 4_980
        metrics.projectsCreatedThisWeek = 3
        metrics.queueLength = 3_120
        metrics.queuePosition = 211
        metrics.averageProcessingTimeMs = 1_843.2
        metrics.throughputPerMinute = 61.5
        metrics.revision = 9_000_123
        metrics.timeZone = "Europe/Prague"
        return metrics
    }

    /// A burst of coalesced stats updates as one WatchProject stream would carry them.
    static func eventBatch(count: Int = 100) -> [ProjectEvent] {
        (0..<count).map { index in
            var update = ProjectStatsUpdate()
            update.stats = projectStats(index)
            var uploaded = OperationSummary()
            uploaded.operation = .imagesUploaded
            uploaded.operationCount = 2
            uploaded.imageCount = 40
            update.operations = [uploaded]
            var affected = AffectedImages()
            affected.imageIds = (0..<8).map { "9d2f6a10-77c1-4e52-8b1e-\(idTail(index * 8 + $0))" }
            affected.truncated = true
            affected.totalCount = 40
            update.affectedImages = affected
            update.firstRevision = 9_000_000 + UInt64(index) - 3
            update.changeCount = 4
            var event = ProjectEvent()
            event.epoch = "e-2026-11-26"
            event.revision = 9_000_000 + UInt64(index)
            event.timestampUnixMs = 1_795_000_100_000 + Int64(index)
            event.projectId = update.stats!.projectId
            event.actorUserId = "5a1c2e3f-0000-4000-8000-000000000007"
            event.actorUserName = "marie.curie"
            event.kind = .projectStatsUpdate
            event.payload = .statsUpdate(update)
            return event
        }
    }
}

/// A 12-digit zero-padded decimal, the tail of a UUID-shaped id.
private func idTail(_ value: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, 12 - digits.count)) + digits
}
