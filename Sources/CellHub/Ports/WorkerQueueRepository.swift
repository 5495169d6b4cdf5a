/// The segmentation queue, worker side: claims under leases, renewals, results, failures
/// and expired leases. Every write is one atomic operation that moves the counters and
/// appends one event-log row (see the repository contract).
package protocol WorkerQueueRepository: Sendable {
    /// For each request in turn, claims up to its `limit` QUEUED jobs of its models in queue
    /// order (priority, then FIFO), all in one transaction; one event per request that
    /// claimed something. The results are in the requests' order.
    func claimJobs(_ requests: [ClaimRequest], leaseDurationMs: Int64, payload: (JobsClaimed) -> [UInt8]) throws(StoreError) -> [JobsClaimed]
    /// Extends a valid lease; returns the new expiry.
    func renewLease(jobID: String, leaseID: String, durationMs: Int64) throws(StoreError) -> Int64
    func completeJob(jobID: String, leaseID: String, output: SegmentationOutput, payload: (JobCompleted) -> [UInt8]) throws(StoreError) -> JobCompleted
    /// Completes each of `completions` on its own (one that fails changes nothing and
    /// leaves the others), then claims for the requests `claims` makes from the ids of the
    /// jobs that did complete (one event per request that claimed something), all in one
    /// transaction. The claims are in the requests' order.
    func completeJobs(
        _ completions: [JobCompletion], thenClaim claims: ([String]) -> [ClaimRequest], leaseDurationMs: Int64,
        completedPayload: (JobCompleted) -> [UInt8], claimedPayload: (JobsClaimed) -> [UInt8]
    ) throws(StoreError) -> (completed: [Result<JobCompleted, StoreError>], claimed: [JobsClaimed])
    func failJob(jobID: String, leaseID: String, reason: String, retryable: Bool, payload: (JobFailed) -> [UInt8]) throws(StoreError) -> JobFailed
    /// Ends every lease that expired by now (re-queued while attempts remain).
    func expireLeases(payload: (LeasesExpired) -> [UInt8]) throws(StoreError) -> LeasesExpired
    /// The earliest expiry among current leases; nil when nothing is processing.
    func nextLeaseExpiry() throws(StoreError) -> Int64?
    /// The image's most recent completed result.
    func segmentationResult(imageID: String) throws(StoreError) -> SegmentationResultRecord?
}

extension WorkerQueueRepository {
    /// One worker's claim.
    package func claimJobs(
        workerName: String, models: [String], limit: Int, leaseDurationMs: Int64, payload: (JobsClaimed) -> [UInt8]
    ) throws(StoreError) -> JobsClaimed {
        try claimJobs([ClaimRequest(workerName: workerName, models: models, limit: limit)], leaseDurationMs: leaseDurationMs, payload: payload)[0]
    }
}
