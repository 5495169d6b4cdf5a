/// A segmentation job as stored (`segmentation_jobs`).
package struct JobRecord: Sendable, Hashable {
    package var id: String
    package var imageID: String
    package var projectID: String
    package var batchID: String
    package var status: JobStatus
    package var priority: Int
    package var model: String
    /// Attempts started (leases granted) so far.
    package var attempts: Int
    package var maxAttempts: Int
    package var requestedBy: String
    /// The current or last lease; nil = never leased.
    package var leaseID: String?
    /// Worker name of the current or last lease.
    package var workerName: String?
    /// Expiry of the current lease (meaningful while processing).
    package var leaseExpiresAtMs: Int64?
    package var enqueuedAtMs: Int64
    /// Start of the current or last attempt; 0 = never started.
    package var startedAtMs: Int64
    /// When it became completed, failed or cancelled; 0 = not finished.
    package var finishedAtMs: Int64
    /// Worker start to completion, for completed jobs.
    package var processingMs: Int64
    /// Reason of the last failed attempt or of the cancellation; "" = none.
    package var error: String

    package init(
        id: String, imageID: String, projectID: String, batchID: String, status: JobStatus, priority: Int, model: String, attempts: Int, maxAttempts: Int, requestedBy: String, leaseID: String? = nil, workerName: String? = nil, leaseExpiresAtMs: Int64? = nil, enqueuedAtMs: Int64, startedAtMs: Int64, finishedAtMs: Int64, processingMs: Int64, error: String
    ) {
        self.id = id
        self.imageID = imageID
        self.projectID = projectID
        self.batchID = batchID
        self.status = status
        self.priority = priority
        self.model = model
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.requestedBy = requestedBy
        self.leaseID = leaseID
        self.workerName = workerName
        self.leaseExpiresAtMs = leaseExpiresAtMs
        self.enqueuedAtMs = enqueuedAtMs
        self.startedAtMs = startedAtMs
        self.finishedAtMs = finishedAtMs
        self.processingMs = processingMs
        self.error = error
    }
}

/// GetJob's view of a job: the record, who queued it, and where it waits.
package struct JobDetail: Sendable, Hashable {
    package var job: JobRecord
    package var requester: UserRef
    /// 1-based service-wide position while QUEUED; 0 otherwise.
    package var queuePosition: Int64

    package init(
        job: JobRecord, requester: UserRef, queuePosition: Int64
    ) {
        self.job = job
        self.requester = requester
        self.queuePosition = queuePosition
    }
}

/// A job that was queued or processing when it was cancelled: `leaseID` and `workerName` are
/// set when it was processing, so the worker can be told.
package struct CancelledJob: Sendable, Hashable {
    package var jobID: String
    package var imageID: String
    package var projectID: String
    package var leaseID: String?
    package var workerName: String?

    package init(
        jobID: String, imageID: String, projectID: String, leaseID: String? = nil, workerName: String? = nil
    ) {
        self.jobID = jobID
        self.imageID = imageID
        self.projectID = projectID
        self.leaseID = leaseID
        self.workerName = workerName
    }
}

/// Which images `enqueue` selects.
package enum EnqueueTarget: Sendable, Hashable {
    /// These images of the project (duplicates ignored); any id that is not an image of the
    /// project fails the call with `imagesNotFound`.
    case images([String])
    /// Every image of the project without a result: NO_SEGMENTATION or FAILED (with `force`,
    /// SEGMENTED too).
    case unsegmented
}

/// The parameters of `enqueue`.
package struct EnqueueRequest: Sendable, Hashable {
    package var projectID: String
    package var target: EnqueueTarget
    /// Resolved model name (never empty).
    package var model: String
    /// 0...10, higher first.
    package var priority: Int
    /// Re-segment SEGMENTED images.
    package var force: Bool
    package var requestedBy: String
    /// Attempts allowed per job.
    package var maxAttempts: Int
    /// Service-wide bound on QUEUED jobs; nil = unbounded.
    package var queueLimit: Int64?

    package init(
        projectID: String, target: EnqueueTarget, model: String, priority: Int = 0, force: Bool = false,
        requestedBy: String, maxAttempts: Int = 3, queueLimit: Int64? = nil
    ) {
        self.projectID = projectID
        self.target = target
        self.model = model
        self.priority = priority
        self.force = force
        self.requestedBy = requestedBy
        self.maxAttempts = maxAttempts
        self.queueLimit = queueLimit
    }
}

/// One queued job of an `enqueue` call.
package struct EnqueuedJob: Sendable, Hashable {
    package var jobID: String
    package var imageID: String

    package init(
        jobID: String, imageID: String
    ) {
        self.jobID = jobID
        self.imageID = imageID
    }
}

/// `enqueue`'s result.
package struct JobsEnqueued: Sendable, Hashable {
    /// nil when nothing was queued.
    package var batchID: String?
    /// In image order (request order for `.images`, upload order for `.unsegmented`).
    package var jobs: [EnqueuedJob]
    /// Selected images skipped (already queued/processing, or segmented without force).
    package var skippedCount: Int
    /// 1-based service-wide queue position of the first job; 0 when nothing was queued.
    package var firstQueuePosition: Int64
    package var counters: ProjectCounters
    /// nil when nothing was queued (no event).
    package var revision: Int64?

    package init(
        batchID: String? = nil, jobs: [EnqueuedJob], skippedCount: Int, firstQueuePosition: Int64, counters: ProjectCounters, revision: Int64? = nil
    ) {
        self.batchID = batchID
        self.jobs = jobs
        self.skippedCount = skippedCount
        self.firstQueuePosition = firstQueuePosition
        self.counters = counters
        self.revision = revision
    }
}

/// A job handed to a worker under a lease.
package struct JobAssignment: Sendable, Hashable {
    /// The job after the claim (processing, attempts incremented).
    package var job: JobRecord
    /// The image to segment (status processing).
    package var image: ImageRecord

    package init(
        job: JobRecord, image: ImageRecord
    ) {
        self.job = job
        self.image = image
    }
}

/// One worker's share of a `claimJobs` call.
package struct ClaimRequest: Sendable, Hashable {
    package var workerName: String
    /// Non-empty.
    package var models: [String]
    /// At least 1 (0 claims nothing).
    package var limit: Int

    package init(workerName: String, models: [String], limit: Int) {
        self.workerName = workerName
        self.models = models
        self.limit = limit
    }
}

/// `claimJobs`' result.
package struct JobsClaimed: Sendable, Hashable {
    /// In queue order.
    package var assignments: [JobAssignment]
    /// Counters of every project touched, after the claim.
    package var counters: [ProjectCounters]
    /// nil when nothing was claimed (no event).
    package var revision: Int64?

    package init(
        assignments: [JobAssignment], counters: [ProjectCounters], revision: Int64? = nil
    ) {
        self.assignments = assignments
        self.counters = counters
        self.revision = revision
    }
}

/// A finished segmentation to store.
package struct SegmentationOutput: Sendable, Hashable {
    package var cellCount: Int64
    /// The result as encoded by the domain (polygons, areas).
    package var result: [UInt8]
    /// Worker-measured processing time; nil = lease start to completion.
    package var processingMs: Int64?

    package init(cellCount: Int64, result: [UInt8], processingMs: Int64? = nil) {
        self.cellCount = cellCount
        self.result = result
        self.processingMs = processingMs
    }
}

/// A stored segmentation result (the most recent completed one of an image).
package struct SegmentationResultRecord: Sendable, Hashable {
    package var imageID: String
    package var jobID: String
    package var model: String
    package var cellCount: Int64
    package var result: [UInt8]
    package var completedAtMs: Int64
    package var processingMs: Int64

    package init(
        imageID: String, jobID: String, model: String, cellCount: Int64, result: [UInt8], completedAtMs: Int64, processingMs: Int64
    ) {
        self.imageID = imageID
        self.jobID = jobID
        self.model = model
        self.cellCount = cellCount
        self.result = result
        self.completedAtMs = completedAtMs
        self.processingMs = processingMs
    }
}

/// Where a batch (one `enqueue` call) stands once its last job finished.
package struct BatchSummary: Sendable, Hashable {
    package var batchID: String
    package var requestedBy: String
    package var projectID: String
    package var completedCount: Int
    package var failedCount: Int
    /// Cancelled jobs of the batch.
    package var cancelledCount: Int
    /// First enqueue to the last job finishing.
    package var durationMs: Int64

    package init(
        batchID: String, requestedBy: String, projectID: String, completedCount: Int, failedCount: Int, cancelledCount: Int, durationMs: Int64
    ) {
        self.batchID = batchID
        self.requestedBy = requestedBy
        self.projectID = projectID
        self.completedCount = completedCount
        self.failedCount = failedCount
        self.cancelledCount = cancelledCount
        self.durationMs = durationMs
    }
}

/// One result to store for a leased job.
package struct JobCompletion: Sendable, Hashable {
    package var jobID: String
    package var leaseID: String
    package var output: SegmentationOutput

    package init(jobID: String, leaseID: String, output: SegmentationOutput) {
        self.jobID = jobID
        self.leaseID = leaseID
        self.output = output
    }
}

/// `completeJob`'s result.
package struct JobCompleted: Sendable, Hashable {
    package var job: JobRecord
    package var image: ImageRecord
    package var counters: ProjectCounters
    /// Set when this was the last open job of its batch.
    package var batchFinished: BatchSummary?
    package var revision: Int64

    package init(
        job: JobRecord, image: ImageRecord, counters: ProjectCounters, batchFinished: BatchSummary? = nil, revision: Int64
    ) {
        self.job = job
        self.image = image
        self.counters = counters
        self.batchFinished = batchFinished
        self.revision = revision
    }
}

/// `failJob`'s result.
package struct JobFailed: Sendable, Hashable {
    package var job: JobRecord
    package var image: ImageRecord
    /// True when re-queued (attempts remain and the failure was retryable).
    package var requeued: Bool
    package var counters: ProjectCounters
    /// Set when this was the last open job of its batch.
    package var batchFinished: BatchSummary?
    package var revision: Int64

    package init(
        job: JobRecord, image: ImageRecord, requeued: Bool, counters: ProjectCounters, batchFinished: BatchSummary? = nil, revision: Int64
    ) {
        self.job = job
        self.image = image
        self.requeued = requeued
        self.counters = counters
        self.batchFinished = batchFinished
        self.revision = revision
    }
}

/// What `cancelJobs` cancels.
package enum CancelTarget: Sendable, Hashable {
    /// These jobs; any unknown id fails with `notFound`, any finished one with `jobFinished`
    /// (nothing is cancelled then).
    case jobs([String])
    /// Every open job of the project.
    case project(String)
    /// Every open job of the batch.
    case batch(String)
}

/// `cancelJobs`' result.
package struct JobsCancelled: Sendable, Hashable {
    package var cancelled: [CancelledJob]
    /// Of those, how many were processing (their workers must be told).
    package var processingCount: Int
    /// Counters of every project touched, after the cancellation.
    package var counters: [ProjectCounters]
    /// nil when nothing was cancelled (no event).
    package var revision: Int64?

    package init(
        cancelled: [CancelledJob], processingCount: Int, counters: [ProjectCounters], revision: Int64? = nil
    ) {
        self.cancelled = cancelled
        self.processingCount = processingCount
        self.counters = counters
        self.revision = revision
    }
}

/// `expireLeases`' result.
package struct LeasesExpired: Sendable, Hashable {
    /// Jobs put back in the queue.
    package var requeued: [JobRecord]
    /// Jobs that ran out of attempts and ended failed.
    package var failed: [JobRecord]
    package var counters: [ProjectCounters]
    package var batchesFinished: [BatchSummary]
    /// nil when no lease had expired (no event).
    package var revision: Int64?

    package init(
        requeued: [JobRecord], failed: [JobRecord], counters: [ProjectCounters], batchesFinished: [BatchSummary], revision: Int64? = nil
    ) {
        self.requeued = requeued
        self.failed = failed
        self.counters = counters
        self.batchesFinished = batchesFinished
        self.revision = revision
    }
}

/// The service-wide queue and one caller's view of it.
package struct QueueStats: Sendable, Hashable {
    /// Service-wide QUEUED jobs (O(1): a counter row).
    package var queued: Int64
    /// Service-wide PROCESSING jobs.
    package var processing: Int64
    /// QUEUED jobs of the scope's projects.
    package var scopeQueued: Int64
    /// PROCESSING jobs of the scope's projects.
    package var scopeProcessing: Int64
    /// 1-based service-wide position of the scope's first queued job; 0 = none queued.
    package var position: Int64

    package init(
        queued: Int64, processing: Int64, scopeQueued: Int64, scopeProcessing: Int64, position: Int64
    ) {
        self.queued = queued
        self.processing = processing
        self.scopeQueued = scopeQueued
        self.scopeProcessing = scopeProcessing
        self.position = position
    }
}

/// Recent completed jobs of the projects a user can see.
package struct CompletionStats: Sendable, Hashable {
    /// Mean processing time of the last (up to) 100 completed jobs; 0 when none.
    package var averageProcessingMs: Double
    /// How many jobs that mean covers.
    package var sampleCount: Int
    /// Jobs completed at or after the `since` time asked for.
    package var completedSince: Int64

    package init(
        averageProcessingMs: Double, sampleCount: Int, completedSince: Int64
    ) {
        self.averageProcessingMs = averageProcessingMs
        self.sampleCount = sampleCount
        self.completedSince = completedSince
    }
}
