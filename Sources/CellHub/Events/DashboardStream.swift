/// Which dashboard a stream shows: a user's metrics in one time zone. Streams of the same
/// view share one computation.
package struct DashboardViewKey: Sendable, Hashable {
    package var userID: String
    package var timeZone: String

    package init(userID: String, timeZone: String) {
        self.userID = userID
        self.timeZone = timeZone
    }
}

/// Freshly computed metrics of a view, and what caused the recomputation.
struct ComputedMetrics: Sendable {
    var metrics: DashboardMetrics
    /// The one project whose changes caused it; nil when several (or none: a roll-over).
    var projectID: String?
    var actor: UserRef?
    var timestampMs: Int64
}

/// One WatchDashboard stream on its shard: the metrics are state, so only the newest
/// computation is kept, sent at most once per interval, and only when some field changed
/// (with the names of the fields that did, compared with what this stream last sent).
final class DashboardStream: ShardStream, @unchecked Sendable {
    let handle: StreamHandle
    let view: DashboardViewKey
    let outlet: any StreamOutlet
    let timing: StreamTiming
    var lastSendAt: UInt64 = monotonicNow()
    var slot = 0
    private var started = false
    private var lastSent: DashboardMetrics?
    private var pending: ComputedMetrics?
    private var lastUpdateAt: UInt64 = 0
    private(set) var lastRevision: Int64 = 0
    private var waitingForDrain = false

    var userID: String { view.userID }
    var isLive: Bool { started }

    init(handle: StreamHandle, view: DashboardViewKey, outlet: any StreamOutlet, timing: StreamTiming) {
        self.handle = handle
        self.view = view
        self.outlet = outlet
        self.timing = timing
    }

    /// The snapshot is out: `metrics` (exact at their revision) were sent.
    func start(frame: EventFrame, metrics: DashboardMetrics, shard: StreamShard) {
        guard outlet.send(frame) else {
            shard.sendFailed(self)
            return
        }
        lastSendAt = monotonicNow()
        started = true
        lastSent = metrics
        lastRevision = max(lastRevision, Int64(metrics.revision))
        if let pending, Int64(pending.metrics.revision) > lastRevision {
            apply(pending, now: monotonicNow(), shard: shard)
        } else {
            pending = nil
        }
    }

    func apply(_ computed: ComputedMetrics, now: UInt64, shard: StreamShard) {
        guard Int64(computed.metrics.revision) >= lastRevision else { return }
        if var merged = pending {
            if merged.projectID != computed.projectID { merged.projectID = nil }
            merged.metrics = computed.metrics
            merged.actor = computed.actor
            merged.timestampMs = computed.timestampMs
            pending = merged
        } else {
            pending = computed
        }
        guard started else { return }
        let readyAt = lastUpdateAt == 0 ? now : lastUpdateAt &+ timing.updateIntervalNanoseconds
        if readyAt <= now { flushDue(now: now, shard: shard) } else { shard.scheduleFlush(self, at: readyAt) }
    }

    func flushDue(now: UInt64, shard: StreamShard) {
        guard started, let update = pending else { return }
        guard shard.canTakeState(self) else {
            guard !waitingForDrain else { return }
            waitingForDrain = true
            outlet.whenDrained { [weak self, weak shard] in
                guard let self, let shard else { return }
                self.waitingForDrain = false
                self.flushDue(now: monotonicNow(), shard: shard)
            }
            return
        }
        pending = nil
        let revision = max(lastRevision, Int64(update.metrics.revision))
        lastRevision = revision
        let changed = lastSent.map { DashboardMetrics.changedFields(from: $0, to: update.metrics) } ?? DashboardMetrics.fieldNames
        lastSent = update.metrics
        guard !changed.isEmpty else { return }  // a new revision, the same numbers: nothing to say
        lastUpdateAt = now
        var metrics = update.metrics
        metrics.revision = UInt64(revision)
        let event = DashboardStreamEvent(
            EventHeader(revision: revision, timestampMs: update.timestampMs, projectID: update.projectID ?? "", actor: update.actor),
            .update(metrics, changedFields: changed))
        shard.sendState([shard.encode(event)], to: self)
    }

    func heartbeat(now: UInt64, shard: StreamShard) {
        guard pending == nil, shard.canTakeState(self) else { return }
        let revision = max(lastRevision, shard.position)
        lastRevision = revision
        let event = DashboardStreamEvent(EventHeader(revision: revision, timestampMs: SystemValues.milliseconds(), projectID: ""), .progress)
        shard.sendState([shard.encode(event)], to: self)
    }
}

extension DashboardMetrics {
    /// The proto names of every metric (what a first update reports as changed).
    static let fieldNames = [
        "projects_owned", "projects_shared_with_me", "total_projects", "total_images", "segmented_images", "queued_images",
        "processing_images", "failed_images", "storage_bytes", "average_image_bytes", "efficiency_percent",
        "images_uploaded_today", "segmentations_completed_today", "projects_created_this_week", "queue_length",
        "queue_position", "average_processing_time_ms", "throughput_per_minute", "time_zone",
    ]

    /// The proto names of the metrics that differ between `old` and `new` (never "revision").
    static func changedFields(from old: DashboardMetrics, to new: DashboardMetrics) -> [String] {
        var changed: [String] = []
        func check<T: Equatable>(_ name: String, _ field: KeyPath<DashboardMetrics, T>) {
            if old[keyPath: field] != new[keyPath: field] { changed.append(name) }
        }
        check("projects_owned", \.projectsOwned)
        check("projects_shared_with_me", \.projectsSharedWithMe)
        check("total_projects", \.totalProjects)
        check("total_images", \.totalImages)
        check("segmented_images", \.segmentedImages)
        check("queued_images", \.queuedImages)
        check("processing_images", \.processingImages)
        check("failed_images", \.failedImages)
        check("storage_bytes", \.storageBytes)
        check("average_image_bytes", \.averageImageBytes)
        check("efficiency_percent", \.efficiencyPercent)
        check("images_uploaded_today", \.imagesUploadedToday)
        check("segmentations_completed_today", \.segmentationsCompletedToday)
        check("projects_created_this_week", \.projectsCreatedThisWeek)
        check("queue_length", \.queueLength)
        check("queue_position", \.queuePosition)
        check("average_processing_time_ms", \.averageProcessingTimeMs)
        check("throughput_per_minute", \.throughputPerMinute)
        check("time_zone", \.timeZone)
        return changed
    }
}
