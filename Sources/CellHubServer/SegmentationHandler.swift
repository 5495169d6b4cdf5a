import CellHub
package import CellHubProto
import CellHubStore
package import RPC

/// `cellhub.v1.SegmentationService`, client side, over the domain's SegmentationService:
/// enqueue, cancel, job state, queue figures. Results are stored by the worker RPCs, which come
/// with a later issue: GetSegmentation and those answer UNIMPLEMENTED (after authentication).
package struct SegmentationHandler: SegmentationServiceHandler {
    private let runner: DomainRunner
    /// What an empty `model` resolves to (the domain's `DomainOptions.defaultModel`), echoed
    /// in EnqueueSegmentationResponse.
    private let defaultModel: String

    package init(runner: DomainRunner, defaultModel: String) {
        self.runner = runner
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
        try await runner.unimplemented(context, "results are stored by CompleteJob, which comes with the worker issue")
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
        return GetQueueStatsResponse(snapshot)
    }

    package func claimJobs(
        _ request: ClaimJobsRequest, context: ServerContext, writer: ServerStreamWriter<ClaimJobsResponse>
    ) async throws {
        try await runner.unimplemented(context, Self.workersLater)
    }

    package func renewJobLease(_ request: RenewJobLeaseRequest, context: ServerContext) async throws -> RenewJobLeaseResponse {
        try await runner.unimplemented(context, Self.workersLater)
    }

    package func completeJob(_ request: CompleteJobRequest, context: ServerContext) async throws -> CompleteJobResponse {
        try await runner.unimplemented(context, Self.workersLater)
    }

    package func failJob(_ request: FailJobRequest, context: ServerContext) async throws -> FailJobResponse {
        try await runner.unimplemented(context, Self.workersLater)
    }

    private static let workersLater = "workers come with a later issue"
}
