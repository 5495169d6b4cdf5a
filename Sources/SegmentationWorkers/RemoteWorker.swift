import CellHubProto
package import Logging
import RPC
package import RPCHTTP2
import Synchronization
import CellHub

#if canImport(Glibc)
import Glibc
#endif

/// `cellhubd worker`: the built-in model as its own process, over gRPC. It holds one
/// ClaimJobs stream (reconnecting forever with jittered exponential backoff), runs each
/// assignment on one of `concurrency` threads, renews leases at half their remaining time
/// while a job runs, and reports with CompleteJob or FailJob. Leases survive a dropped
/// stream, so jobs in flight are still completed after a reconnect.
package final class RemoteWorker: Sendable {
    package struct Options: Sendable {
        package var name: String
        package var concurrency: Int
        package var initialBackoff: Duration = .milliseconds(200)
        package var maxBackoff: Duration = .seconds(15)
        package var callTimeout: Duration = .seconds(30)

        package init(name: String, concurrency: Int) {
            self.name = name
            self.concurrency = concurrency
        }
    }

    private let client: GRPCClient
    private let metadata: Metadata
    private let options: Options
    private let logger: Logger
    private let threads: [SerialWorker]
    private let nextThread = Atomic<Int>(0)
    /// Jobs revoked while they run (their result is not sent).
    private let revoked = Mutex<Set<String>>([])
    /// Jobs taken and not yet reported.
    private let inFlight = Atomic<Int>(0)

    package init(client: GRPCClient, token: String, options: Options, logger: Logger) {
        self.client = client
        self.metadata = Metadata([("authorization", "Bearer \(token)")])
        self.options = options
        self.logger = logger
        threads = (0..<max(1, options.concurrency)).map { SerialWorker(name: "segment-\($0 + 1)") }
    }

    /// Claims and runs jobs until the task is cancelled or the server refuses the worker
    /// (a status that reconnecting cannot fix: the error is thrown).
    package func run() async throws {
        var backoff = options.initialBackoff
        var request = ClaimJobsRequest()
        request.workerName = options.name
        request.models = [BuiltinModel.name]
        request.maxConcurrentJobs = Int32(clamping: threads.count)
        while !Task.isCancelled {
            let stream = client.serverStreaming(SegmentationService.claimJobs, request, options: CallOptions(metadata: metadata))
            do {
                for try await response in stream {
                    backoff = options.initialBackoff
                    switch response.item {
                    case .assignment(let assignment): start(assignment)
                    case .leaseRevoked(let revocation):
                        revoked.withLock { _ = $0.insert(revocation.jobId) }
                        logger.info("lease revoked", metadata: ["job": "\(revocation.jobId)", "reason": "\(revocation.reason)"])
                    case .heartbeat, nil: break
                    }
                }
                logger.info("the job feed ended; reconnecting")
            } catch let error as RPCError where Self.isFinal(error.code) {
                throw error
            } catch {
                logger.warning("the job feed failed; reconnecting", metadata: ["error": "\(error)", "after": "\(backoff)"])
            }
            try? await Task.sleep(for: Self.jittered(backoff))
            backoff = min(options.maxBackoff, backoff * 2)
        }
        for thread in threads { thread.stop() }
    }

    /// Statuses that no retry changes: a token that is not a worker's, a bad request.
    private static func isFinal(_ code: StatusCode) -> Bool {
        code == .permissionDenied || code == .unauthenticated || code == .invalidArgument || code == .unimplemented
    }

    private static func jittered(_ base: Duration) -> Duration {
        base * Double.random(in: 0.8...1.2)
    }

    /// Waits (blocking) until every job taken has been reported; false at the timeout.
    package func waitUntilIdle(timeoutSeconds: Double) -> Bool {
        let deadline = SystemValues.milliseconds() + Int64(timeoutSeconds * 1_000)
        while inFlight.load(ordering: .acquiring) > 0 {
            guard SystemValues.milliseconds() < deadline else { return false }
            usleep(10_000)
        }
        return true
    }

    private func start(_ assignment: CellHubProto.JobAssignment) {
        inFlight.wrappingAdd(1, ordering: .relaxed)
        let thread = threads[nextThread.wrappingAdd(1, ordering: .relaxed).oldValue % threads.count]
        let renewal = Task { await renewLease(assignment) }
        thread.execute { [self] in
            let outcome = BuiltinModel.run(content: assignment.imageContent, contentType: assignment.contentType)
            Task {
                renewal.cancel()
                await report(outcome, for: assignment)
                inFlight.wrappingSubtract(1, ordering: .releasing)
            }
        }
    }

    /// Renews the lease at half its remaining time until the job ends or the lease is gone.
    private func renewLease(_ assignment: CellHubProto.JobAssignment) async {
        var expiresAt = assignment.leaseExpiresAtUnixMs
        var request = RenewJobLeaseRequest()
        request.jobId = assignment.jobId
        request.leaseId = assignment.leaseId
        while !Task.isCancelled {
            let remaining = expiresAt - SystemValues.milliseconds()
            do {
                try await Task.sleep(for: .milliseconds(max(100, remaining / 2)))
                expiresAt = try await client.unary(SegmentationService.renewJobLease, request, options: callOptions()).message.leaseExpiresAtUnixMs
            } catch is CancellationError {
                return
            } catch {
                logger.warning("renewing a lease failed", metadata: ["job": "\(assignment.jobId)", "error": "\(error)"])
                if let error = error as? RPCError, error.code == .failedPrecondition || error.code == .notFound { return }
            }
        }
    }

    private func report(_ outcome: Result<SegmentationResult, BuiltinModel.Failure>, for assignment: CellHubProto.JobAssignment) async {
        if revoked.withLock({ $0.remove(assignment.jobId) }) != nil { return }
        // A connection lost right now is retried for a while: the lease outlives it.
        var attempt = 0
        while true {
            do {
                try await send(outcome, for: assignment)
                return
            } catch let error as RPCError where (error.code == .unavailable || error.code == .deadlineExceeded) && attempt < 5 {
                attempt += 1
                try? await Task.sleep(for: Self.jittered(options.initialBackoff * (1 << attempt)))
            } catch {
                // The lease expires on the server and the job is retried: nothing is lost.
                logger.warning("reporting a job failed", metadata: ["job": "\(assignment.jobId)", "error": "\(error)"])
                return
            }
        }
    }

    private func send(_ outcome: Result<SegmentationResult, BuiltinModel.Failure>, for assignment: CellHubProto.JobAssignment) async throws {
        switch outcome {
        case .success(let result):
            var request = CompleteJobRequest()
            request.jobId = assignment.jobId
            request.leaseId = assignment.leaseId
            request.result = result
            _ = try await client.unary(SegmentationService.completeJob, request, options: callOptions())
            logger.info("job completed", metadata: ["job": "\(assignment.jobId)", "cells": "\(result.cellCount)"])
        case .failure(let failure):
            var request = FailJobRequest()
            request.jobId = assignment.jobId
            request.leaseId = assignment.leaseId
            request.reason = failure.reason
            request.retryable = failure.retryable
            _ = try await client.unary(SegmentationService.failJob, request, options: callOptions())
            logger.info("job failed", metadata: ["job": "\(assignment.jobId)", "reason": "\(failure.reason)"])
        }
    }

    private func callOptions() -> CallOptions {
        CallOptions(timeout: options.callTimeout, metadata: metadata)
    }
}
