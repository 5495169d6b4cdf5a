/// The worker side of the segmentation queue: what a worker token may do with leases —
/// claim jobs (with the image bytes it needs), renew, complete with a result, fail — plus
/// the lease sweep and reading results back. Every call but `result` requires a worker token
/// (PERMISSION_DENIED otherwise); a lease that is not (or no longer) the job's answers
/// NOT_FOUND or FAILED_PRECONDITION and changes nothing.
package final class WorkerService: Sendable {
    /// A claimed job with everything a worker needs.
    package struct Claimed: Sendable {
        package var job: JobRecord
        package var image: ImageRecord
        package var content: [UInt8]
    }

    private let store: any WorkerQueueRepository & ImageRepository & ProjectRepository
    private let blobs: BlobStore
    private let access: ProjectAccess
    private let payloads: any EventPayloads
    /// Fed with the counters of every write here, like the other services' writes.
    private let stats: ProjectStatsService
    package let options: DomainOptions

    init(
        store: any WorkerQueueRepository & ImageRepository & ProjectRepository, blobs: BlobStore, stats: ProjectStatsService,
        options: DomainOptions, payloads: any EventPayloads
    ) {
        self.store = store
        self.blobs = blobs
        self.stats = stats
        self.options = options
        self.payloads = payloads
        access = ProjectAccess(store: store)
    }

    /// The assignment with its image's bytes; nil (and the job failed for good) when they
    /// are gone (damaged storage): no worker can do this job.
    private func withContent(_ assignment: JobAssignment) -> Claimed? {
        do {
            return Claimed(job: assignment.job, image: assignment.image, content: try blobs.read(sha256Hex: assignment.image.sha256Hex))
        } catch {
            if let lease = assignment.job.leaseID,
               let failed = try? store.failJob(
                   jobID: assignment.job.id, leaseID: lease, reason: "the image file cannot be read", retryable: false,
                   payload: payloads.jobFailed) {
                stats.record(failed.counters)
            }
            return nil
        }
    }

    package func renew(jobID: String, leaseID: String, caller: Caller) throws(SegmentationError) -> Int64 {
        try requireWorker(caller)
        let (job, lease) = try Self.validLease(jobID, leaseID)
        return try run { () throws(StoreError) in try store.renewLease(jobID: job, leaseID: lease, durationMs: options.leaseDurationMs) }
    }

    package func complete(jobID: String, leaseID: String, output: SegmentationOutput, caller: Caller) throws(SegmentationError) -> JobCompleted {
        let completion = try self.completion(jobID: jobID, leaseID: leaseID, output: output, caller: caller)
        let completed = try run { () throws(StoreError) in
            try store.completeJob(
                jobID: completion.jobID, leaseID: completion.leaseID, output: output, payload: payloads.jobCompleted)
        }
        stats.record(completed.counters)
        return completed
    }

    /// A completion `caller` may submit (a worker, well-formed ids); whether the lease holds
    /// is known when it is stored.
    package func completion(jobID: String, leaseID: String, output: SegmentationOutput, caller: Caller) throws(SegmentationError) -> JobCompletion {
        try requireWorker(caller)
        let (job, lease) = try Self.validLease(jobID, leaseID)
        return JobCompletion(jobID: job, leaseID: lease, output: output)
    }

    /// Stores `completions` (each on its own, from `completion`), then claims what `claims`
    /// asks for given the ids of the jobs that did complete, in one transaction: a batch of
    /// results and the next jobs of the workers they freed cost one commit.
    package func complete(
        _ completions: [JobCompletion], thenClaim claims: ([String]) -> [ClaimRequest]
    ) throws(SegmentationError) -> (completed: [Result<JobCompleted, SegmentationError>], claimed: [[Claimed]]) {
        let (completed, claimed) = try run { () throws(StoreError) in
            try store.completeJobs(
                completions, thenClaim: claims, leaseDurationMs: options.leaseDurationMs,
                completedPayload: payloads.jobCompleted, claimedPayload: payloads.jobsClaimed)
        }
        let results = completed.map { result in
            result.map { done in
                stats.record(done.counters)
                return done
            }.mapError(SegmentationError.init)
        }
        return (results, claimed.map { claim in
            claim.counters.forEach(stats.record)
            return claim.assignments.compactMap(withContent)
        })
    }

    package func fail(jobID: String, leaseID: String, reason: String, retryable: Bool, caller: Caller) throws(SegmentationError) -> JobFailed {
        try requireWorker(caller)
        let (job, lease) = try Self.validLease(jobID, leaseID)
        var cut = Substring(reason)
        while cut.first?.isWhitespace == true { cut = cut.dropFirst() }
        while cut.last?.isWhitespace == true { cut = cut.dropLast() }
        let trimmed = String(cut)
        guard !trimmed.isEmpty else { throw .invalidArgument("reason must not be empty") }
        do throws(Validation.Failure) {
            try Validation.text(trimmed, field: "reason", limit: Validation.TextLimit(characters: 1_000, bytes: 4_000))
        } catch {
            throw .invalidArgument(error.message)
        }
        let failed = try run { () throws(StoreError) in
            try store.failJob(jobID: job, leaseID: lease, reason: trimmed, retryable: retryable, payload: payloads.jobFailed)
        }
        stats.record(failed.counters)
        return failed
    }

    /// Ends expired leases (re-queued while attempts remain, else FAILED).
    package func expireLeases() throws(SegmentationError) -> LeasesExpired {
        let expired = try run { () throws(StoreError) in try store.expireLeases(payload: payloads.leasesExpired) }
        expired.counters.forEach(stats.record)
        return expired
    }

    package func nextLeaseExpiry() throws(SegmentationError) -> Int64? {
        try run { () throws(StoreError) in try store.nextLeaseExpiry() }
    }

    /// An image's latest result; any member of its project. FAILED_PRECONDITION when it
    /// has none.
    package func result(imageID requested: String, caller: Caller) throws(SegmentationError) -> SegmentationResultRecord {
        let imageID: String
        do {
            imageID = try Validation.id(requested, field: "image_id")
        } catch {
            throw .invalidArgument(error.message)
        }
        guard let image = try run({ () throws(StoreError) in try store.image(id: imageID) }) else {
            throw .notFound("image \(imageID) not found")
        }
        do {
            _ = try access.require(.viewer, projectID: image.projectID, caller: caller)
        } catch {
            if case .notFound = SegmentationError(error) { throw .notFound("image \(imageID) not found") }
            throw SegmentationError(error)
        }
        guard let result = try run({ () throws(StoreError) in try store.segmentationResult(imageID: imageID) }) else {
            throw .failedPrecondition("image \(imageID) has no segmentation result")
        }
        return result
    }

    private func requireWorker(_ caller: Caller) throws(SegmentationError) {
        guard caller.isWorker else { throw .workerOnly }
    }

    private static func validLease(_ jobID: String, _ leaseID: String) throws(SegmentationError) -> (String, String) {
        do {
            return (try Validation.id(jobID, field: "job_id"), try Validation.id(leaseID, field: "lease_id"))
        } catch {
            throw .invalidArgument(error.message)
        }
    }

    private func run<T>(_ body: () throws(StoreError) -> T) throws(SegmentationError) -> T {
        do {
            return try body()
        } catch {
            throw SegmentationError(error)
        }
    }
}
