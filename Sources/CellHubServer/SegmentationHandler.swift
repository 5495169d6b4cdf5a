package import CellHub
package import CellHubProto
import CellHubStore
package import RPC

/// `cellhub.v1.SegmentationService`: the client side over the domain's SegmentationService
/// (enqueue, cancel, job state, queue figures, results) and the worker side over its
/// WorkerService and JobDispatcher (ClaimJobs feeds, lease renewal, results, failures).
package struct SegmentationHandler: SegmentationServiceHandler {
    private let runner: DomainRunner
    private let dispatcher: JobDispatcher
    /// What an empty `model` resolves to (the domain's `DomainOptions.defaultModel`), echoed
    /// in EnqueueSegmentationResponse.
    private let defaultModel: String

    package init(runner: DomainRunner, dispatcher: JobDispatcher, defaultModel: String) {
        self.runner = runner
        self.dispatcher = dispatcher
        self.defaultModel = defaultModel
    }

    package func enqueueSegmentation(
        _ request: EnqueueSegmentationRequest, context: ServerContext
    ) async throws -> EnqueueSegmentationResponse {
        let segmentation = runner.domain.segmentation
        let enqueued = try await runner.call(context) { caller throws(SegmentationError) in
            try segmentation.enqueue(
                projectID: request.projectId, target: request.target?.domainTarget, model: request.model,
                priority: request.priority, force: request.force, caller: caller)
        }
        return EnqueueSegmentationResponse(enqueued, model: request.model.isEmpty ? defaultModel : request.model)
    }

    package func cancelSegmentation(
        _ request: CancelSegmentationRequest, context: ServerContext
    ) async throws -> CancelSegmentationResponse {
        let segmentation = runner.domain.segmentation
        let cancelled = try await runner.call(context) { caller throws(SegmentationError) in
            try segmentation.cancel(request.target?.domainTarget, caller: caller)
        }
        return CancelSegmentationResponse(cancelled)
    }

    package func getSegmentation(_ request: GetSegmentationRequest, context: ServerContext) async throws -> GetSegmentationResponse {
        let workers = runner.domain.workers
        let record = try await runner.call(context) { caller throws(SegmentationError) in
            try workers.result(imageID: request.imageId, caller: caller)
        }
        var response = GetSegmentationResponse()
        response.imageId = record.imageID
        response.jobId = record.jobID
        response.model = record.model
        do {
            response.result = try SegmentationResult(serializedBytes: record.result)
        } catch {
            throw RPCError(code: .internal, message: "internal error", cause: error)
        }
        response.completedAtUnixMs = record.completedAtMs
        response.processingTimeMs = record.processingMs
        return response
    }

    package func getJob(_ request: GetJobRequest, context: ServerContext) async throws -> GetJobResponse {
        let segmentation = runner.domain.segmentation
        let detail = try await runner.call(context) { caller throws(SegmentationError) in
            try segmentation.job(id: request.jobId, caller: caller)
        }
        var response = GetJobResponse()
        response.job = SegmentationJob(detail)
        return response
    }

    package func getQueueStats(_ request: GetQueueStatsRequest, context: ServerContext) async throws -> GetQueueStatsResponse {
        let segmentation = runner.domain.segmentation
        let snapshot = try await runner.call(context) { caller throws(SegmentationError) in
            try segmentation.queueStats(projectID: request.projectId, caller: caller)
        }
        return GetQueueStatsResponse(snapshot, connectedWorkers: dispatcher.connectedWorkers)
    }

    // MARK: Worker side

    package func claimJobs(
        _ request: ClaimJobsRequest, context: ServerContext, writer: ServerStreamWriter<ClaimJobsResponse>
    ) async throws {
        let caller = try await runner.authenticator.caller(context)
        guard caller.isWorker else { throw DomainErrorMapping.rpcError(SegmentationError.workerOnly, context: context, logger: runner.logger) }
        let name: String
        do {
            name = try Validation.name(request.workerName, field: "worker_name", limit: Validation.TextLimit(characters: 128, bytes: 512))
        } catch {
            throw RPCError(code: .invalidArgument, message: error.message)
        }
        guard (0...64).contains(request.maxConcurrentJobs) else {
            throw RPCError(code: .invalidArgument, message: "max_concurrent_jobs must be 0..64, got \(request.maxConcurrentJobs)")
        }
        guard request.models.count <= 64, request.models.allSatisfy(SegmentationService.isValidModel) else {
            throw RPCError(code: .invalidArgument, message: "models must be at most 64 names matching [A-Za-z0-9._-]{1,64}")
        }
        guard let push = writer.pushStream else { throw RPCError(code: .internal, message: "this transport cannot push streams") }
        let models = request.models.isEmpty ? [defaultModel] : Array(Set(request.models)).sorted()
        let end = await dispatcher.serve(
            workerName: name, models: models, capacity: max(1, Int(request.maxConcurrentJobs)),
            outlet: ClaimJobsOutlet(push, clock: runner.domain.workers.options.clock))
        guard let end else { throw CancellationError() }
        switch end {
        case .draining: throw RPCError(code: .unavailable, message: "the server is shutting down; reconnect")
        default: throw RPCError(code: .unavailable, message: "the feed ended; reconnect")
        }
    }

    package func renewJobLease(_ request: RenewJobLeaseRequest, context: ServerContext) async throws -> RenewJobLeaseResponse {
        let workers = runner.domain.workers
        let expiry = try await runner.call(context) { caller throws(SegmentationError) in
            try workers.renew(jobID: request.jobId, leaseID: request.leaseId, caller: caller)
        }
        var response = RenewJobLeaseResponse()
        response.leaseExpiresAtUnixMs = expiry
        return response
    }

    package func completeJob(_ request: CompleteJobRequest, context: ServerContext) async throws -> CompleteJobResponse {
        let result = try (request.result ?? SegmentationResult()).validated()
        guard request.processingTimeMs >= 0 else {
            throw RPCError(code: .invalidArgument, message: "processing_time_ms must not be negative")
        }
        let output = SegmentationOutput(
            cellCount: result.cellCount, result: result.serializedBytes(),
            processingMs: request.processingTimeMs > 0 ? request.processingTimeMs : nil)
        let caller = try await runner.authenticator.caller(context)
        do {
            // Stored with the dispatcher's next batch (one commit with the next claims).
            _ = try await dispatcher.complete(jobID: request.jobId, leaseID: request.leaseId, output: output, caller: caller)
        } catch {
            throw DomainErrorMapping.rpcError(error, context: context, logger: runner.logger)
        }
        return CompleteJobResponse()
    }

    package func failJob(_ request: FailJobRequest, context: ServerContext) async throws -> FailJobResponse {
        let workers = runner.domain.workers
        let failed = try await runner.call(context) { caller throws(SegmentationError) in
            try workers.fail(jobID: request.jobId, leaseID: request.leaseId, reason: request.reason, retryable: request.retryable, caller: caller)
        }
        var response = FailJobResponse()
        response.requeued = failed.requeued
        return response
    }
}
