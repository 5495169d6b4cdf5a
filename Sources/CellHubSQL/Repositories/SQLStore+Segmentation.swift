package import CellHub
extension SQLStore {
    /// Queues one job per selected image: NO_SEGMENTATION and FAILED images (SEGMENTED too
    /// with `force`) move to QUEUED; QUEUED and PROCESSING ones are skipped. All jobs of the
    /// call share a new batch id. Appends `segmentationQueued` (nothing when nothing queued).
    /// - Throws: `notFound(.project)`, `imagesNotFound` (an id is not an image of the
    ///   project; nothing queued), `queueFull`.
    package func enqueue(_ request: EnqueueRequest, payload: (JobsEnqueued) -> [UInt8]) throws(StoreError) -> JobsEnqueued {
        precondition((0...10).contains(request.priority) && request.maxAttempts >= 1, "enqueue \(request): a bug in CellHub")
        return try write { tx in
            guard let counters = try Rows.counters(tx.db, projectID: request.projectID) else {
                throw StoreError.notFound(.project, id: request.projectID)
            }
            let candidates: [(id: String, status: ImageStatus)]
            switch request.target {
            case .images(let ids):
                var seen = Set<String>()
                var found: [(id: String, status: ImageStatus)] = []
                var missing: [String] = []
                for id in ids where seen.insert(id).inserted {
                    let status = try tx.db.queryOne(
                        "SELECT status FROM images WHERE id = ? AND project_id = ?", id, request.projectID
                    ) { ImageStatus.stored($0.int64(0)) }
                    if let status { found.append((id, status)) } else { missing.append(id) }
                }
                if !missing.isEmpty { throw StoreError.imagesNotFound(missing) }
                candidates = found
            case .unsegmented:
                candidates = try tx.db.query(
                    """
                    SELECT id, status FROM images WHERE project_id = ? AND status IN (1, 5, ?)
                    ORDER BY uploaded_at_ms, id
                    """, request.projectID, request.force ? ImageStatus.segmented.rawValue : 0
                ) { ($0.string(0), ImageStatus.stored($0.int64(1))) }
            }
            let selected = candidates.filter { candidate in
                switch candidate.status {
                case .noSegmentation, .failed: true
                case .segmented: request.force
                case .queued, .processing: false
                }
            }
            let skipped = candidates.count - selected.count
            guard !selected.isEmpty else {
                return JobsEnqueued(batchID: nil, jobs: [], skippedCount: skipped, firstQueuePosition: 0, counters: counters, revision: nil)
            }
            if let limit = request.queueLimit {
                let queued = try tx.db.queryOne("SELECT queued FROM queue_counters WHERE id = 1") { $0.int64(0) } ?? 0
                if queued + Int64(selected.count) > limit { throw StoreError.queueFull(limit: limit) }
            }
            return try tx.recording(
                .segmentationQueued, projectID: request.projectID, actor: request.requestedBy, payload: payload
            ) { revision in
                let batchID = tx.makeID()
                var delta = CounterDelta()
                var jobs: [EnqueuedJob] = []
                for image in selected {
                    let jobID = tx.makeID()
                    try tx.db.run(
                        """
                        INSERT INTO segmentation_jobs (id, image_id, project_id, batch_id, status, priority, model,
                                                       max_attempts, requested_by, enqueued_at_ms)
                        VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?)
                        """, jobID, image.id, request.projectID, batchID, request.priority, request.model,
                        request.maxAttempts, request.requestedBy, tx.now)
                    try Self.setImage(image.id, to: .queued, tx, extra: "job_id = ?, failure_reason = ''", jobID)
                    delta.move(from: image.status, to: .queued)
                    jobs.append(EnqueuedJob(jobID: jobID, imageID: image.id))
                }
                let counters = try tx.apply(delta, to: request.projectID, revision: revision)
                let position = try Rows.queuePosition(tx.db, jobID: jobs[0].jobID)
                return JobsEnqueued(
                    batchID: batchID, jobs: jobs, skippedCount: skipped, firstQueuePosition: position,
                    counters: counters, revision: revision)
            }
        }
    }

    /// For each request in turn, leases up to its `limit` queued jobs whose model is in its
    /// `models` to its worker, in queue order (priority, then FIFO): jobs and images move to
    /// PROCESSING, attempts grow by one. All requests share one transaction (one commit for
    /// every worker the dispatcher serves at once); each that claims something appends one
    /// `segmentationStarted` event (project id set only when all its jobs share one).
    package func claimJobs(
        _ requests: [ClaimRequest], leaseDurationMs: Int64, payload: (JobsClaimed) -> [UInt8]
    ) throws(StoreError) -> [JobsClaimed] {
        precondition(leaseDurationMs > 0, "claim parameters: a bug in CellHub")
        return try write { tx in
            try tx.deferringCounters { tx in try requests.map { request in try Self.claim(request, leaseDurationMs, tx, payload) } }
        }
    }

    private static func claim(
        _ request: ClaimRequest, _ leaseDurationMs: Int64, _ tx: Transaction, _ payload: (JobsClaimed) -> [UInt8]
    ) throws -> JobsClaimed {
        precondition(!request.models.isEmpty && request.limit >= 0, "claim parameters: a bug in CellHub")
        guard request.limit > 0 else { return JobsClaimed(assignments: [], counters: [], revision: nil) }
        // Model names are caller data, so they are bound, with one placeholder each.
        let placeholders = Array(repeating: "?", count: request.models.count).joined(separator: ", ")
        let jobs = try tx.db.query(
            """
            SELECT \(Rows.jobColumns) FROM segmentation_jobs j
            WHERE j.status = 1 AND j.model IN (\(placeholders))
            ORDER BY j.priority DESC, j.seq LIMIT ?
            \(tx.db.dialect.claimLocking)
            """, arguments: request.models + [request.limit], row: Rows.job)
        guard !jobs.isEmpty else { return JobsClaimed(assignments: [], counters: [], revision: nil) }
        return try tx.recording(.segmentationStarted, projectID: singleProject(jobs), actor: nil, payload: payload) { revision in
            var deltas: [String: CounterDelta] = [:]
            var assignments: [JobAssignment] = []
            for job in jobs {
                let leased = try tx.db.queryOne(
                    """
                    UPDATE segmentation_jobs SET status = 2, attempts = attempts + 1, lease_id = ?, lease_owner = ?,
                        lease_expires_at_ms = ?, started_at_ms = ?
                    WHERE id = ?
                    RETURNING \(Rows.jobReturning)
                    """, tx.makeID(), request.workerName, tx.now + leaseDurationMs, tx.now, job.id, row: Rows.job)
                let image = try setImageReturning(job.imageID, to: .processing, tx, extra: nil)
                deltas[job.projectID, default: CounterDelta()].move(from: .queued, to: .processing)
                assignments.append(JobAssignment(job: leased!, image: image))
            }
            let counters = try apply(deltas, tx, revision: revision)
            return JobsClaimed(assignments: assignments, counters: counters, revision: revision)
        }
    }

    /// Extends a valid lease to `durationMs` from now and returns the new expiry. No event
    /// (nothing visible changes).
    /// - Throws: `notFound(.job)`, `lease(_, problem)`.
    package func renewLease(jobID: String, leaseID: String, durationMs: Int64) throws(StoreError) -> Int64 {
        try write { tx in
            _ = try Self.leasedJob(jobID, leaseID: leaseID, tx)
            try tx.db.run("UPDATE segmentation_jobs SET lease_expires_at_ms = ? WHERE id = ?", tx.now + durationMs, jobID)
            return tx.now + durationMs
        }
    }

    /// Stores a result for a leased job: job COMPLETED, image SEGMENTED with the cell count,
    /// the result row replaced, counters and the completion bucket moved. Appends
    /// `segmentationCompleted`.
    /// - Throws: `notFound(.job)`, `lease(_, problem)`.
    package func completeJob(
        jobID: String, leaseID: String, output: SegmentationOutput, payload: (JobCompleted) -> [UInt8]
    ) throws(StoreError) -> JobCompleted {
        try write { tx in try Self.complete(JobCompletion(jobID: jobID, leaseID: leaseID, output: output), tx, payload) }
    }

    /// Completes each of `completions` in its own savepoint (one that fails changes nothing
    /// and leaves the others), then claims what `claims` asks for given the jobs that did
    /// complete — all in one transaction, one commit.
    package func completeJobs(
        _ completions: [JobCompletion], thenClaim claims: ([String]) -> [ClaimRequest], leaseDurationMs: Int64,
        completedPayload: (JobCompleted) -> [UInt8], claimedPayload: (JobsClaimed) -> [UInt8]
    ) throws(StoreError) -> (completed: [Result<JobCompleted, StoreError>], claimed: [JobsClaimed]) {
        precondition(leaseDurationMs > 0, "claim parameters: a bug in CellHub")
        return try write { tx in
            try tx.deferringCounters { tx in
                let completed = completions.map { completion -> Result<JobCompleted, StoreError> in
                    do {
                        return .success(try tx.savepoint { try Self.complete(completion, tx, completedPayload) })
                    } catch {
                        return .failure(StoreError.wrapping(error))
                    }
                }
                let done = zip(completions, completed).compactMap { completion, result -> String? in
                    if case .success = result { return completion.jobID }
                    return nil
                }
                let claimed = try claims(done).map { request in try Self.claim(request, leaseDurationMs, tx, claimedPayload) }
                return (completed, claimed)
            }
        }
    }

    /// The body of a completion (see `completeJob`).
    private static func complete(
        _ completion: JobCompletion, _ tx: Transaction, _ payload: (JobCompleted) -> [UInt8]
    ) throws -> JobCompleted {
        let jobID = completion.jobID, output = completion.output
        let job = try leasedJob(jobID, leaseID: completion.leaseID, tx)
        return try tx.recording(.segmentationCompleted, projectID: job.projectID, actor: nil, payload: payload) { revision in
            let processingMs = max(0, output.processingMs ?? (tx.now - job.startedAtMs))
            let finished = try tx.db.queryOne(
                """
                UPDATE segmentation_jobs SET status = 3, finished_at_ms = ?, processing_ms = ?, error = '' WHERE id = ?
                RETURNING \(Rows.jobReturning)
                """, tx.now, processingMs, jobID, row: Rows.job)
            let image = try setImageReturning(
                job.imageID, to: .segmented, tx, extra: "segmented_at_ms = ?, cell_count = ?, failure_reason = ''",
                tx.now, output.cellCount)
            try tx.db.run(
                """
                INSERT INTO segmentation_results (image_id, job_id, model, cell_count, result, completed_at_ms, processing_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (image_id) DO UPDATE SET job_id = excluded.job_id, model = excluded.model,
                    cell_count = excluded.cell_count, result = excluded.result,
                    completed_at_ms = excluded.completed_at_ms, processing_ms = excluded.processing_ms
                """, job.imageID, jobID, job.model, output.cellCount, output.result, tx.now, processingMs)
            var delta = CounterDelta()
            delta.move(from: .processing, to: .segmented)
            delta.lastCompletedAtMs = tx.now
            let counters = try tx.apply(delta, to: job.projectID, revision: revision)
            try tx.addActivity(projectID: job.projectID, atMs: tx.now, completed: 1)
            return JobCompleted(
                job: finished!, image: image,
                counters: counters, batchFinished: try finishedBatch(job.batchID, tx, revision: revision),
                revision: revision)
        }
    }

    /// Records a failed attempt: re-queued (job and image QUEUED, same place in the queue)
    /// when `retryable` and attempts remain, otherwise job FAILED and image FAILED with the
    /// reason. Appends `segmentationFailed`.
    /// - Throws: `notFound(.job)`, `lease(_, problem)`.
    package func failJob(
        jobID: String, leaseID: String, reason: String, retryable: Bool, payload: (JobFailed) -> [UInt8]
    ) throws(StoreError) -> JobFailed {
        try write { tx in
            let job = try Self.leasedJob(jobID, leaseID: leaseID, tx)
            return try tx.recording(.segmentationFailed, projectID: job.projectID, actor: nil, payload: payload) { revision in
                let requeue = retryable && job.attempts < job.maxAttempts
                let counters = try Self.endAttempt(job, requeue: requeue, reason: reason, tx, revision: revision)
                return JobFailed(
                    job: try Rows.job(tx.db, id: jobID)!, image: try Rows.image(tx.db, id: job.imageID)!,
                    requeued: requeue, counters: counters,
                    batchFinished: requeue ? nil : try Self.finishedBatch(job.batchID, tx, revision: revision), revision: revision)
            }
        }
    }

    /// Cancels open jobs: jobs CANCELLED, images back to NO_SEGMENTATION (an earlier result
    /// is kept). Appends one `segmentationCancelled` event (nothing when nothing matched).
    /// - Throws: for `.jobs`: `notFound(.job)` or `jobFinished` (nothing cancelled); for
    ///   `.project`: `notFound(.project)`; for `.batch`: `notFound(.batch)` when no job ever
    ///   had that batch id.
    package func cancelJobs(_ target: CancelTarget, actor: String?, payload: (JobsCancelled) -> [UInt8]) throws(StoreError) -> JobsCancelled {
        try write { tx in
            let jobs: [JobRecord]
            switch target {
            case .jobs(let ids):
                var seen = Set<String>()
                var found: [JobRecord] = []
                for id in ids where seen.insert(id).inserted {
                    guard let job = try Rows.job(tx.db, id: id) else { throw StoreError.notFound(.job, id: id) }
                    guard job.status.isOpen else { throw StoreError.jobFinished(jobID: id, status: job.status) }
                    found.append(job)
                }
                jobs = found
            case .project(let projectID):
                guard try Rows.counters(tx.db, projectID: projectID) != nil else {
                    throw StoreError.notFound(.project, id: projectID)
                }
                jobs = try tx.db.query(
                    "SELECT \(Rows.jobColumns) FROM segmentation_jobs j WHERE j.project_id = ? AND j.status IN (1, 2) ORDER BY j.seq",
                    projectID, row: Rows.job)
            case .batch(let batchID):
                guard try tx.db.queryOne("SELECT 1 FROM segmentation_jobs WHERE batch_id = ? LIMIT 1", batchID, row: { _ in true }) != nil else {
                    throw StoreError.notFound(.batch, id: batchID)
                }
                jobs = try tx.db.query(
                    "SELECT \(Rows.jobColumns) FROM segmentation_jobs j WHERE j.batch_id = ? AND j.status IN (1, 2) ORDER BY j.seq",
                    batchID, row: Rows.job)
            }
            guard !jobs.isEmpty else { return JobsCancelled(cancelled: [], processingCount: 0, counters: [], revision: nil) }
            return try tx.recording(.segmentationCancelled, projectID: Self.singleProject(jobs), actor: actor, payload: payload) { revision in
                var deltas: [String: CounterDelta] = [:]
                for job in jobs {
                    try tx.db.run(
                        "UPDATE segmentation_jobs SET status = 5, finished_at_ms = ?, error = 'cancelled' WHERE id = ?",
                        tx.now, job.id)
                    try Self.setImage(job.imageID, to: .noSegmentation, tx, extra: nil)
                    deltas[job.projectID, default: CounterDelta()].move(
                        from: job.status == .queued ? .queued : .processing, to: .noSegmentation)
                }
                return JobsCancelled(
                    cancelled: jobs.map(CancelledJob.init), processingCount: jobs.count { $0.status == .processing },
                    counters: try Self.apply(deltas, tx, revision: revision), revision: revision)
            }
        }
    }

    /// Ends every lease that expired by now, as a retryable failure: re-queued while attempts
    /// remain, else FAILED with reason "lease expired". Appends one `leasesExpired` event
    /// (nothing when no lease expired). Call it when `nextLeaseExpiry()` passes.
    package func expireLeases(payload: (LeasesExpired) -> [UInt8]) throws(StoreError) -> LeasesExpired {
        try write { tx in
            let jobs = try tx.db.query(
                """
                SELECT \(Rows.jobColumns) FROM segmentation_jobs j
                WHERE j.status = 2 AND j.lease_expires_at_ms <= ? ORDER BY j.seq
                """, tx.now, row: Rows.job)
            guard !jobs.isEmpty else {
                return LeasesExpired(requeued: [], failed: [], counters: [], batchesFinished: [], revision: nil)
            }
            return try tx.recording(.leasesExpired, projectID: Self.singleProject(jobs), actor: nil, payload: payload) { revision in
                var requeued: [JobRecord] = []
                var failed: [JobRecord] = []
                var countersByProject: [String: ProjectCounters] = [:]
                for job in jobs {
                    let requeue = job.attempts < job.maxAttempts
                    countersByProject[job.projectID] = try Self.endAttempt(job, requeue: requeue, reason: "lease expired", tx, revision: revision)
                    let after = try Rows.job(tx.db, id: job.id)!
                    if requeue { requeued.append(after) } else { failed.append(after) }
                }
                var batches: [BatchSummary] = []
                for batchID in Set(failed.map(\.batchID)).sorted() {
                    if let summary = try Self.finishedBatch(batchID, tx, revision: revision) { batches.append(summary) }
                }
                return LeasesExpired(
                    requeued: requeued, failed: failed,
                    counters: countersByProject.values.sorted { $0.projectID < $1.projectID },
                    batchesFinished: batches, revision: revision)
            }
        }
    }

    /// The earliest expiry among current leases; nil when no job is processing.
    package func nextLeaseExpiry() throws(StoreError) -> Int64? {
        try read { db in
            try db.queryOne("SELECT min(lease_expires_at_ms) FROM segmentation_jobs WHERE status = 2") {
                $0.optionalInt64(0)
            } ?? nil
        }
    }

    /// One job, or nil.
    package func job(id: String) throws(StoreError) -> JobRecord? {
        try read { db in try Rows.job(db, id: id) }
    }

    /// One job with its requester and queue position, read in one snapshot; nil when unknown.
    package func jobDetail(id: String) throws(StoreError) -> JobDetail? {
        try read { db in
            guard let job = try Rows.job(db, id: id) else { return nil }
            let requester = try db.queryOne("SELECT name FROM users WHERE id = ?", job.requestedBy) { $0.string(0) } ?? ""
            let position = job.status == .queued ? try Rows.queuePosition(db, jobID: id) : 0
            return JobDetail(job: job, requester: UserRef(id: job.requestedBy, name: requester), queuePosition: position)
        }
    }

    /// The project of a batch (EnqueueSegmentation queues a batch in one project); nil when
    /// no job ever had that batch id.
    package func batchProject(batchID: String) throws(StoreError) -> String? {
        try read { db in
            try db.queryOne("SELECT project_id FROM segmentation_jobs WHERE batch_id = ? LIMIT 1", batchID) { $0.string(0) }
        }
    }

    /// A queued job's 1-based service-wide queue position; 0 when it is not queued.
    package func queuePosition(jobID: String) throws(StoreError) -> Int64 {
        try read { db in
            guard let job = try Rows.job(db, id: jobID), job.status == .queued else { return 0 }
            return try Rows.queuePosition(db, jobID: jobID)
        }
    }

    /// The image's most recent completed result, or nil.
    package func segmentationResult(imageID: String) throws(StoreError) -> SegmentationResultRecord? {
        try read { db in
            try db.queryOne(
                """
                SELECT image_id, job_id, model, cell_count, result, completed_at_ms, processing_ms
                FROM segmentation_results WHERE image_id = ?
                """, imageID
            ) {
                SegmentationResultRecord(
                    imageID: $0.string(0), jobID: $0.string(1), model: $0.string(2), cellCount: $0.int64(3),
                    result: $0.blob(4), completedAtMs: $0.int64(5), processingMs: $0.int64(6))
            }
        }
    }

    // MARK: Shared steps

    /// The job `leaseID` may act on: processing under exactly that, unexpired, lease.
    private static func leasedJob(_ jobID: String, leaseID: String, _ tx: Transaction) throws -> JobRecord {
        guard let job = try Rows.job(tx.db, id: jobID) else { throw StoreError.notFound(.job, id: jobID) }
        guard job.leaseID == leaseID else {
            // Only the current lease is kept: with one attempt so far there was no other.
            throw StoreError.lease(jobID: jobID, job.attempts >= 2 ? .superseded : .unknownLease)
        }
        switch job.status {
        case .processing:
            if let expiry = job.leaseExpiresAtMs, expiry <= tx.now { throw StoreError.lease(jobID: jobID, .expired) }
            return job
        case .queued: throw StoreError.lease(jobID: jobID, .expired)
        case .completed, .failed: throw StoreError.lease(jobID: jobID, .jobFinished)
        case .cancelled: throw StoreError.lease(jobID: jobID, .jobCancelled)
        }
    }

    /// Ends a processing attempt that did not succeed and returns the project's counters.
    private static func endAttempt(
        _ job: JobRecord, requeue: Bool, reason: String, _ tx: Transaction, revision: Int64
    ) throws -> ProjectCounters {
        var delta = CounterDelta()
        if requeue {
            try tx.db.run("UPDATE segmentation_jobs SET status = 1, error = ? WHERE id = ?", reason, job.id)
            try setImage(job.imageID, to: .queued, tx, extra: nil)
            delta.move(from: .processing, to: .queued)
        } else {
            try tx.db.run("UPDATE segmentation_jobs SET status = 4, finished_at_ms = ?, error = ? WHERE id = ?", tx.now, reason, job.id)
            try setImage(job.imageID, to: .failed, tx, extra: "failure_reason = ?", reason)
            delta.move(from: .processing, to: .failed)
        }
        return try tx.apply(delta, to: job.projectID, revision: revision)
    }

    /// Sets an image's status (and status time), plus `extra` assignments bound to `arguments`.
    private static func setImage(
        _ imageID: String, to status: ImageStatus, _ tx: Transaction, extra: String?, _ arguments: any SQLBindable...
    ) throws {
        try tx.db.run(setImageSQL(extra), arguments: [status.rawValue, tx.now] + arguments + [imageID])
    }

    /// `setImage`, returning the image as the change left it (instead of reading it again).
    private static func setImageReturning(
        _ imageID: String, to status: ImageStatus, _ tx: Transaction, extra: String?, _ arguments: any SQLBindable...
    ) throws -> ImageRecord {
        let image = try tx.db.queryOne(
            setImageSQL(extra) + " RETURNING \(Rows.imageReturning)", arguments: [status.rawValue, tx.now] + arguments + [imageID],
            row: Rows.image)
        guard let image else { throw StoreError.notFound(.image, id: imageID) }
        return image
    }

    private static func setImageSQL(_ extra: String?) -> String {
        "UPDATE images SET status = ?, status_changed_at_ms = ?\(extra.map { ", \($0)" } ?? "") WHERE id = ?"
    }

    /// Applies per-project deltas, in project order, returning the counters after.
    private static func apply(_ deltas: [String: CounterDelta], _ tx: Transaction, revision: Int64) throws -> [ProjectCounters] {
        try deltas.sorted { $0.key < $1.key }.map { try tx.apply($0.value, to: $0.key, revision: revision) }
    }

    /// The one project all jobs belong to, or nil when they span several.
    private static func singleProject(_ jobs: [JobRecord]) -> String? {
        Set(jobs.map(\.projectID)).count == 1 ? jobs.first?.projectID : nil
    }

    /// The batch's summary when none of its jobs is open any more (it just finished), after
    /// appending its activity: the requester's own entry, a shared update to the others.
    private static func finishedBatch(_ batchID: String, _ tx: Transaction, revision: Int64) throws -> BatchSummary? {
        // One index probe while the batch still has open jobs; the summary below walks the
        // whole batch, so it runs once, when the last job ends (else a 20,000-job batch costs
        // O(batch) per completion).
        let open = try tx.db.queryOne(
            "SELECT EXISTS (SELECT 1 FROM segmentation_jobs WHERE batch_id = ? AND status IN (1, 2))", batchID
        ) { $0.int64(0) != 0 } ?? false
        if open { return nil }
        let summary = try tx.db.queryOne(
            """
            SELECT min(requested_by), min(project_id), sum(CASE WHEN status = 3 THEN 1 ELSE 0 END),
                   sum(CASE WHEN status = 4 THEN 1 ELSE 0 END), sum(CASE WHEN status = 5 THEN 1 ELSE 0 END),
                   max(finished_at_ms) - min(enqueued_at_ms)
            FROM segmentation_jobs WHERE batch_id = ?
            """, batchID
        ) { row -> BatchSummary? in
            guard !row.isNull(0) else { return nil }
            return BatchSummary(
                batchID: batchID, requestedBy: row.string(0), projectID: row.string(1), completedCount: row.int(2),
                failedCount: row.int(3), cancelledCount: row.int(4), durationMs: row.int64(5))
        } ?? nil
        if let summary, let project = try ActivityProject(tx.db, id: summary.projectID) {
            var entry = tx.activity(.segmentationCompleted, about: project, actor: nil, revision: revision)
            entry.imageCount = Int64(summary.completedCount)
            entry.failedCount = Int64(summary.failedCount)
            entry.durationMs = summary.durationMs
            try tx.appendProjectActivity(
                entry, ownedBy: summary.requestedBy, counters: try tx.counters(of: summary.projectID))
        }
        return summary
    }
}
