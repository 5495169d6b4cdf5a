import CellHub
import CellHubProto
import CellHubStore

extension EnqueueSegmentationRequest.Target {
    var domainTarget: SegmentationTarget {
        switch self {
        case .images(let list): .images(list.imageIds)
        case .unsegmented: .unsegmented
        }
    }
}

extension CancelSegmentationRequest.Target {
    var domainTarget: CancellationTarget {
        switch self {
        case .jobs(let list): .jobs(list.jobIds)
        case .projectId(let id): .project(id)
        case .batchId(let id): .batch(id)
        }
    }
}

extension EnqueueSegmentationResponse {
    /// - Parameter model: the resolved model name (the domain resolves "" to its default).
    init(_ enqueued: JobsEnqueued, model: String) {
        self.init()
        batchId = enqueued.batchID ?? ""
        jobs = enqueued.jobs.map { job in
            var proto = CellHubProto.EnqueuedJob()
            proto.jobId = job.jobID
            proto.imageId = job.imageID
            return proto
        }
        enqueuedCount = Int64(enqueued.jobs.count)
        skippedCount = Int64(enqueued.skippedCount)
        self.model = enqueued.jobs.isEmpty ? "" : model
        firstQueuePosition = enqueued.firstQueuePosition
    }
}

extension CancelSegmentationResponse {
    init(_ cancelled: JobsCancelled) {
        self.init()
        cancelledCount = Int64(cancelled.cancelled.count)
        cancelledProcessingCount = Int64(cancelled.processingCount)
        images = AffectedImages(imageIDs: cancelled.cancelled.map(\.imageID))
    }
}

extension SegmentationJob {
    init(_ detail: JobDetail) {
        self.init()
        let job = detail.job
        id = job.id
        imageId = job.imageID
        projectId = job.projectID
        batchId = job.batchID
        model = job.model
        priority = Int32(clamping: job.priority)
        status = CellHubProto.JobStatus(job.status)
        attempts = Int32(clamping: job.attempts)
        maxAttempts = Int32(clamping: job.maxAttempts)
        requestedBy = CellHubProto.UserRef(detail.requester)
        enqueuedAtUnixMs = job.enqueuedAtMs
        startedAtUnixMs = job.startedAtMs
        finishedAtUnixMs = job.finishedAtMs
        workerName = job.workerName ?? ""
        // A cancellation's reason is the status itself, not a failure.
        failureReason = job.status == .cancelled ? "" : job.error
        queuePosition = detail.queuePosition
    }
}

extension AffectedImages {
    /// Server-side bound on listed ids (common.proto).
    static let maxListed = 100

    init(imageIDs: [String]) {
        self.init()
        imageIds = Array(imageIDs.prefix(Self.maxListed))
        truncated = imageIDs.count > Self.maxListed
        totalCount = Int64(imageIDs.count)
    }
}

extension GetQueueStatsResponse {
    /// The queue figures, with the wait estimated from the recent throughput: the jobs
    /// ahead divided by completions per minute, when a worker is connected and something
    /// completed in the last 10 minutes.
    init(_ snapshot: QueueSnapshot, connectedWorkers workers: Int) {
        self.init()
        queuedCount = snapshot.queued
        processingCount = snapshot.processing
        scopeQueuedCount = snapshot.scopeQueued
        scopeProcessingCount = snapshot.scopeProcessing
        position = snapshot.position
        connectedWorkers = Int32(clamping: workers)
        throughputPerMinute = snapshot.throughputPerMinute
        estimateAvailable = snapshot.position > 0 && workers > 0 && snapshot.throughputPerMinute > 0
        estimatedWaitMs = estimateAvailable ? Int64(Double(snapshot.position) / snapshot.throughputPerMinute * 60_000) : 0
    }
}
