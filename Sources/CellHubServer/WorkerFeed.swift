package import CellHub
import CellHubProto
package import RPC

/// A ClaimJobs call's push side as a job dispatcher feed: assignments (with the image's
/// bytes), revocations and heartbeats as ClaimJobsResponse messages, on the call's loop.
package final class ClaimJobsOutlet: WorkerFeedOutlet {
    private let push: any ServerPushStream
    package let executor: any StreamExecutor
    private let clock: @Sendable () -> Int64

    package init(_ push: any ServerPushStream, clock: @escaping @Sendable () -> Int64) {
        self.push = push
        self.clock = clock
        executor = LoopExecutors.shared.adapter(for: push.executor)
    }

    package func send(_ claimed: WorkerService.Claimed) -> Bool {
        var assignment = CellHubProto.JobAssignment()
        assignment.jobId = claimed.job.id
        assignment.leaseId = claimed.job.leaseID ?? ""
        assignment.leaseExpiresAtUnixMs = claimed.job.leaseExpiresAtMs ?? 0
        assignment.imageId = claimed.image.id
        assignment.projectId = claimed.job.projectID
        assignment.model = claimed.job.model
        assignment.attempt = Int32(clamping: claimed.job.attempts)
        assignment.maxAttempts = Int32(clamping: claimed.job.maxAttempts)
        assignment.priority = Int32(clamping: claimed.job.priority)
        assignment.imageContent = claimed.content
        assignment.contentType = claimed.image.contentType
        assignment.sha256Hex = claimed.image.sha256Hex
        assignment.imageName = claimed.image.name
        var message = ClaimJobsResponse()
        message.item = .assignment(assignment)
        return push.push(EncodedMessage(message))
    }

    package func sendRevoked(jobID: String, leaseID: String, reason: String) -> Bool {
        var revoked = LeaseRevoked()
        revoked.jobId = jobID
        revoked.leaseId = leaseID
        revoked.reason = reason
        var message = ClaimJobsResponse()
        message.item = .leaseRevoked(revoked)
        return push.push(EncodedMessage(message))
    }

    package func sendHeartbeat() -> Bool {
        var beat = WorkerHeartbeat()
        beat.serverTimeUnixMs = clock()
        var message = ClaimJobsResponse()
        message.item = .heartbeat(beat)
        return push.push(EncodedMessage(message))
    }

    package var unsentBytes: Int { push.unsentBytes }
    package func whenDrained(_ body: @escaping () -> Void) { push.whenDrained(body) }
}

extension SegmentationResult {
    /// Checks a worker's result and fills in what it may leave 0 (the area totals).
    /// - Throws: INVALID_ARGUMENT for fewer than 3 points in a polygon, a non-finite or
    ///   negative figure, or cell_count differing from the number of polygons.
    func validated() throws(RPCError) -> SegmentationResult {
        guard cellCount == Int64(polygons.count) else {
            throw RPCError(code: .invalidArgument, message: "result.cell_count is \(cellCount) but there are \(polygons.count) polygons")
        }
        var result = self
        var total = 0.0
        for (index, polygon) in polygons.enumerated() {
            guard polygon.points.count >= 3 else {
                throw RPCError(code: .invalidArgument, message: "result.polygons[\(index)] has \(polygon.points.count) points; at least 3 are needed")
            }
            guard polygon.points.allSatisfy({ $0.x.isFinite && $0.y.isFinite }), polygon.areaPx.isFinite, polygon.areaPx >= 0 else {
                throw RPCError(code: .invalidArgument, message: "result.polygons[\(index)] has a non-finite coordinate or a negative area")
            }
            total += polygon.areaPx
        }
        guard totalAreaPx.isFinite, meanAreaPx.isFinite, totalAreaPx >= 0, meanAreaPx >= 0 else {
            throw RPCError(code: .invalidArgument, message: "result.total_area_px and mean_area_px must be finite and not negative")
        }
        if result.totalAreaPx == 0 { result.totalAreaPx = total }
        if result.meanAreaPx == 0 && !polygons.isEmpty { result.meanAreaPx = result.totalAreaPx / Double(polygons.count) }
        return result
    }
}
