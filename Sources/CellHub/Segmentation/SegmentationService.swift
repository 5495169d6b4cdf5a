
/// Which images EnqueueSegmentation selects.
package enum SegmentationTarget: Sendable, Hashable {
    /// These images of the project (1...10000 ids, duplicates ignored).
    case images([String])
    /// Every image without a result (NO_SEGMENTATION or FAILED; SEGMENTED too with force).
    case unsegmented
}

/// What CancelSegmentation cancels.
package enum CancellationTarget: Sendable, Hashable {
    case jobs([String])
    case project(String)
    case batch(String)
}

/// GetQueueStats' figures (worker-dependent estimates are the server's to add).
package struct QueueSnapshot: Sendable, Hashable {
    /// Service-wide QUEUED / PROCESSING jobs.
    package var queued: Int64
    package var processing: Int64
    /// In scope: the project, or every project visible to the caller.
    package var scopeQueued: Int64
    package var scopeProcessing: Int64
    /// 1-based service-wide position of the scope's first queued job; 0 = none.
    package var position: Int64
    /// Service-wide completions per minute over the last 10 minutes.
    package var throughputPerMinute: Double
}

/// The client side of the segmentation queue: enqueue, cancel, queue figures. Editors and
/// owners queue and cancel; anyone reads the queue.
package final class SegmentationService: Sendable {
    /// Window of the throughput figures.
    static let throughputWindowMs: Int64 = 10 * 60_000

    private let store: any QueueRepository & StatsRepository
    private let stats: ProjectStatsService
    private let options: DomainOptions
    private let access: ProjectAccess
    private let payloads: any EventPayloads

    init(store: any QueueRepository & StatsRepository & ProjectRepository, stats: ProjectStatsService, options: DomainOptions, payloads: any EventPayloads) {
        self.store = store
        self.payloads = payloads
        self.stats = stats
        self.options = options
        access = ProjectAccess(store: store)
    }

    /// Queues one job per selected image; editor or owner.
    /// - Parameters:
    ///   - model: `[A-Za-z0-9._-]{1,64}`; "" = the default model.
    ///   - priority: 0...10.
    package func enqueue(
        projectID: String, target: SegmentationTarget?, model: String = "", priority: Int32 = 0, force: Bool = false,
        caller: Caller
    ) throws(SegmentationError) -> JobsEnqueued {
        let projectID = try Self.validID(projectID, field: "project_id")
        guard let target else { throw .invalidArgument("target (images or unsegmented) is required") }
        if case .images(let ids) = target {
            try validateIDs(ids, field: "image_ids")
        }
        guard (0...10).contains(priority) else { throw .invalidArgument("priority \(priority) is outside 0..10") }
        let model = model.isEmpty ? options.defaultModel : model
        guard Self.isValidModel(model) else { throw .invalidArgument("model must match [A-Za-z0-9._-]{1,64}") }
        do {
            _ = try access.requireRole(.editor, projectID: projectID, caller: caller)
        } catch {
            throw SegmentationError(error)
        }
        let storeTarget: EnqueueTarget = switch target {
        case .images(let ids): .images(ids)
        case .unsegmented: .unsegmented
        }
        let request = EnqueueRequest(
            projectID: projectID, target: storeTarget, model: model, priority: Int(priority), force: force,
            requestedBy: caller.userID, maxAttempts: options.maxAttempts, queueLimit: options.queueLimit)
        let enqueued = try run { () throws(StoreError) in try store.enqueue(request, payload: payloads.jobsEnqueued) }
        if enqueued.revision != nil { stats.record(enqueued.counters) }
        return enqueued
    }

    /// Cancels queued and processing jobs; editor on every affected project.
    package func cancel(_ target: CancellationTarget?, caller: Caller) throws(SegmentationError) -> JobsCancelled {
        guard let target else { throw .invalidArgument("target (job_ids, project_id or batch_id) is required") }
        let storeTarget: CancelTarget
        switch target {
        case .jobs(let ids):
            try validateIDs(ids, field: "job_ids")
            // Every job must be visible (else NOT_FOUND) with editor rights on its project.
            var checked = Set<String>()
            for id in ids where checked.insert(id).inserted {
                let job = try run { () throws(StoreError) in try store.job(id: id) }
                guard let job else { throw .notFound("job \(id) not found") }
                do {
                    _ = try access.requireRole(.editor, projectID: job.projectID, caller: caller)
                } catch .notFound(_) {
                    throw .notFound("job \(id) not found")
                } catch {
                    throw SegmentationError(error)
                }
            }
            storeTarget = .jobs(ids)
        case .project(let projectID):
            let projectID = try Self.validID(projectID, field: "project_id")
            do {
                _ = try access.requireRole(.editor, projectID: projectID, caller: caller)
            } catch {
                throw SegmentationError(error)
            }
            storeTarget = .project(projectID)
        case .batch(let batchID):
            let batchID = try Self.validID(batchID, field: "batch_id")
            // A batch lives in one project: the caller needs editor rights there, and an
            // invisible project's batch is as unknown as a batch that never existed.
            let projectID = try run { () throws(StoreError) in try store.batchProject(batchID: batchID) }
            guard let projectID else { throw .notFound("batch \(batchID) not found") }
            do {
                _ = try access.requireRole(.editor, projectID: projectID, caller: caller)
            } catch .notFound(_) {
                throw .notFound("batch \(batchID) not found")
            } catch {
                throw SegmentationError(error)
            }
            storeTarget = .batch(batchID)
        }
        let cancelled = try run { () throws(StoreError) in try store.cancelJobs(storeTarget, actor: caller.userID, payload: payloads.jobsCancelled) }
        for counters in cancelled.counters { stats.record(counters) }
        return cancelled
    }

    /// One job's state; any role on its project (NOT_FOUND when the project is not visible,
    /// as for an unknown job).
    package func job(id: String, caller: Caller) throws(SegmentationError) -> JobDetail {
        let id = try Self.validID(id, field: "job_id")
        let detail = try run { () throws(StoreError) in try store.jobDetail(id: id) }
        guard let detail else { throw .notFound("job \(id) not found") }
        do {
            _ = try access.requireRole(.viewer, projectID: detail.job.projectID, caller: caller)
        } catch .notFound(_) {
            throw .notFound("job \(id) not found")
        } catch {
            throw SegmentationError(error)
        }
        return detail
    }

    /// The queue, service-wide and for the caller's scope (one project they can see, or all
    /// their projects when `projectID` is nil or empty).
    package func queueStats(projectID: String?, caller: Caller) throws(SegmentationError) -> QueueSnapshot {
        var scopeProject: String?
        if let projectID, !projectID.isEmpty {
            let id = try Self.validID(projectID, field: "project_id")
            do {
                _ = try access.requireRole(.viewer, projectID: id, caller: caller)
            } catch {
                throw SegmentationError(error)
            }
            scopeProject = id
        }
        let now = options.clock()
        let queue = try run { () throws(StoreError) in
            try store.queueStats(projectID: scopeProject, userID: scopeProject == nil ? caller.userID : nil)
        }
        let completions = try run { () throws(StoreError) in
            try store.completionStats(userID: nil, sinceMs: now - Self.throughputWindowMs)
        }
        return QueueSnapshot(
            queued: queue.queued, processing: queue.processing, scopeQueued: queue.scopeQueued,
            scopeProcessing: queue.scopeProcessing, position: queue.position,
            throughputPerMinute: Double(completions.completedSince) / Double(Self.throughputWindowMs / 60_000))
    }

    // MARK: Helpers

    package static func isValidModel(_ model: String) -> Bool {
        let bytes = Array(model.utf8)
        return (1...64).contains(bytes.count) && bytes.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    private func validateIDs(_ ids: [String], field: String) throws(SegmentationError) {
        guard !ids.isEmpty else { throw .invalidArgument("\(field) must not be empty") }
        guard ids.count <= options.maxIDsPerCall else {
            throw .invalidArgument("\(field) has \(ids.count) ids; at most \(options.maxIDsPerCall) are allowed")
        }
        for (index, id) in ids.enumerated() { _ = try Self.validID(id, field: "\(field)[\(index)]") }
    }

    static func validID(_ value: String, field: String) throws(SegmentationError) -> String {
        do {
            return try Validation.id(value, field: field)
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
