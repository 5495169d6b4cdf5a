import CellHub
@testable import CellHubSQL
@testable import CellHubStore
import StoreTestSupport
import Testing

@Suite("Store: segmentation queue")
struct SegmentationTests {
    /// A project with `count` uploaded images, and its owner.
    private func project(_ t: TestStore, images count: Int) throws -> (owner: UserRecord, project: ProjectRecord, images: [ImageRecord]) {
        let owner = try t.user("owner")
        let p = try t.store.createProject(ownerID: owner.id, name: "p", description: "", payload: tag("c")).project
        guard case .stored(let up) = try t.store.uploadImages(projectID: p.id, uploaderID: owner.id, images: t.images(count), payload: tag("u"))
        else { preconditionFailure() }
        return (owner, p, up.images)
    }

    @Test("enqueue, claim in priority then FIFO order, complete: statuses, counters, result, batch summary", arguments: StoreKind.allCases)
    func lifecycle(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let (owner, p, images) = try project(t, images: 4)
        let low = try t.store.enqueue(
            EnqueueRequest(projectID: p.id, target: .images([images[0].id, images[1].id]), model: "m", requestedBy: owner.id),
            payload: tag("q"))
        #expect(low.jobs.map(\.imageID) == [images[0].id, images[1].id] && low.firstQueuePosition == 1 && low.skippedCount == 0)
        #expect(low.counters.queued == 2 && low.counters.noSegmentation == 2)
        let high = try t.store.enqueue(
            EnqueueRequest(projectID: p.id, target: .unsegmented, model: "m", priority: 5, requestedBy: owner.id), payload: tag("q"))
        #expect(high.jobs.map(\.imageID) == [images[2].id, images[3].id] && high.firstQueuePosition == 1)
        #expect(try t.store.queuePosition(jobID: low.jobs[0].jobID) == 3)
        let again = try t.store.enqueue(EnqueueRequest(projectID: p.id, target: .unsegmented, model: "m", requestedBy: owner.id), payload: tag("q"))
        #expect(again.revision == nil && again.jobs.isEmpty && again.batchID == nil)
        #expect(throws: StoreError.imagesNotFound(["ghost"])) {
            try t.store.enqueue(EnqueueRequest(projectID: p.id, target: .images(["ghost"]), model: "m", requestedBy: owner.id), payload: tag("q"))
        }

        #expect(try t.store.claimJobs(workerName: "w", models: ["other"], limit: 4, leaseDurationMs: 1_000, payload: tag("c")).revision == nil)
        let claimed = try t.store.claimJobs(workerName: "w", models: ["m"], limit: 3, leaseDurationMs: 60_000, payload: tag("c"))
        #expect(claimed.assignments.map(\.image.id) == [images[2].id, images[3].id, images[0].id])
        #expect(claimed.assignments.allSatisfy { $0.job.status == .processing && $0.job.attempts == 1 && $0.image.status == .processing })
        #expect(claimed.counters.map(\.processing) == [3])
        #expect(try t.store.queueStats(userID: owner.id) == QueueStats(queued: 1, processing: 3, scopeQueued: 1, scopeProcessing: 3, position: 1))
        #expect(try t.store.nextLeaseExpiry() == t.clock.now + 60_000)

        t.clock.advance(by: 2_000)
        var finished: BatchSummary?
        for assignment in claimed.assignments {
            let done = try t.store.completeJob(
                jobID: assignment.job.id, leaseID: assignment.job.leaseID!,
                output: SegmentationOutput(cellCount: 7, result: [1, 2, 3]), payload: tag("done"))
            #expect(done.image.status == .segmented && done.image.cellCount == 7 && done.job.processingMs == 2_000)
            #expect(done.counters.lastSegmentationCompletedAtMs == t.clock.now)
            if let summary = done.batchFinished { finished = summary }
        }
        #expect(finished?.batchID == high.batchID && finished?.completedCount == 2 && finished?.durationMs == 2_000)
        #expect(try t.store.segmentationResult(imageID: images[0].id)?.result == [1, 2, 3])
        let counters = try #require(try t.store.counters(projectID: p.id))
        #expect(counters.segmented == 3 && counters.queued == 1 && counters.processing == 0)
        let stats = try t.store.completionStats(userID: owner.id, sinceMs: t.clock.now - 600_000)
        #expect(stats == CompletionStats(averageProcessingMs: 2_000, sampleCount: 3, completedSince: 3))

        // Force re-segments a segmented image; its old result stays readable meanwhile.
        let forced = try t.store.enqueue(
            EnqueueRequest(projectID: p.id, target: .images([images[0].id, images[1].id]), model: "m", force: true, requestedBy: owner.id),
            payload: tag("q"))
        #expect(forced.jobs.map(\.imageID) == [images[0].id] && forced.skippedCount == 1, "the queued one is skipped")
        #expect(try t.store.segmentationResult(imageID: images[0].id) != nil)
        #expect(try t.store.checkConsistency() == [])
    }

    @Test("a batch of results and the next claims: each result on its own, claims sized by the results that held, one commit", arguments: StoreKind.allCases)
    func completeThenClaimInOneTransaction(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let (owner, p, images) = try project(t, images: 6)
        _ = try t.store.enqueue(EnqueueRequest(projectID: p.id, target: .unsegmented, model: "m", requestedBy: owner.id), payload: tag("q"))
        let held = try t.store.claimJobs(workerName: "w", models: ["m"], limit: 3, leaseDurationMs: 60_000, payload: tag("c")).assignments
        let output = SegmentationOutput(cellCount: 4, result: [9])
        let completions = [
            JobCompletion(jobID: held[0].job.id, leaseID: held[0].job.leaseID!, output: output),
            JobCompletion(jobID: held[1].job.id, leaseID: "forged", output: output),
            JobCompletion(jobID: "ghost", leaseID: "l", output: output),
            JobCompletion(jobID: held[2].job.id, leaseID: held[2].job.leaseID!, output: output),
        ]
        let transactions = (t.store as? Store)?.writeTransactions
        var seen: [String] = []
        let (completed, claimed) = try t.store.completeJobs(
            completions,
            thenClaim: { done in
                seen = done
                // Each job that completed frees one slot of a worker holding three.
                return [ClaimRequest(workerName: "w", models: ["m"], limit: done.count), ClaimRequest(workerName: "idle", models: ["m"], limit: 0)]
            },
            leaseDurationMs: 60_000, completedPayload: tag("done"), claimedPayload: tag("c"))
        if let transactions { #expect(t.sqlite.writeTransactions == transactions + 1, "one transaction for the whole batch") }
        #expect(seen == [held[0].job.id, held[2].job.id])
        #expect(try completed[0].get().image.status == .segmented && completed[0].get().image.cellCount == 4)
        #expect(throws: StoreError.lease(jobID: held[1].job.id, .unknownLease)) { try completed[1].get() }
        #expect(throws: StoreError.notFound(.job, id: "ghost")) { try completed[2].get() }
        #expect(try completed[3].get().job.status == .completed)
        #expect(claimed.count == 2 && claimed[0].assignments.count == 2 && claimed[1].assignments.isEmpty && claimed[1].revision == nil)
        #expect(Set(claimed[0].assignments.map(\.image.id)) == Set(images[3...4].map(\.id)))
        // The refused result changed nothing: its job still processes under its lease.
        #expect(try t.store.job(id: held[1].job.id)?.status == .processing)
        let counters = try #require(try t.store.counters(projectID: p.id))
        #expect(counters.segmented == 2 && counters.processing == 3 && counters.queued == 1)
        #expect(try t.store.checkConsistency() == [])
    }

    @Test("a batch's counter moves are written once at its end, and each result carries the counters as of itself", arguments: StoreKind.allCases)
    func batchedCounterMoves(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let (owner, p, _) = try project(t, images: 6)
        let sharee = try t.user("sharee")
        _ = try t.store.share(projectID: p.id, userID: sharee.id, role: .viewer, actor: owner.id, payload: tag("s"))
        _ = try t.store.enqueue(EnqueueRequest(projectID: p.id, target: .unsegmented, model: "m", requestedBy: owner.id), payload: tag("q"))
        let held = try t.store.claimJobs(workerName: "w", models: ["m"], limit: 3, leaseDurationMs: 60_000, payload: tag("c")).assignments
        let before = try #require(try t.store.counters(projectID: p.id))
        let completions = held.map { JobCompletion(jobID: $0.job.id, leaseID: $0.job.leaseID!, output: SegmentationOutput(cellCount: 2, result: [1])) }
        let (completed, claimed) = try t.store.completeJobs(
            completions, thenClaim: { done in [ClaimRequest(workerName: "w", models: ["m"], limit: done.count)] },
            leaseDurationMs: 60_000, completedPayload: tag("done"), claimedPayload: tag("c"))
        // Each result's counters are what a transaction of its own would have returned.
        for (k, result) in completed.enumerated() {
            let counters = try result.get().counters
            #expect((counters.segmented, counters.processing, counters.queued) == (Int64(k + 1), before.processing - Int64(k + 1), before.queued))
            #expect(counters.revision == (try result.get().revision) && counters.lastSegmentationCompletedAtMs > 0)
        }
        let revisions = try completed.map { try $0.get().revision }
        #expect(revisions == revisions.sorted() && Set(revisions).count == 3)
        let last = try #require(claimed.first?.counters.first)
        #expect((last.segmented, last.processing, last.queued) == (3, 3, 0) && last.revision == claimed[0].revision)
        // The row written at the end is the last operation's counters, to the revision.
        #expect(try t.store.counters(projectID: p.id) == last)
        for user in [owner, sharee] {
            let dashboard = try t.store.dashboard(userID: user.id, todayStartMs: 0, weekStartMs: 0)
            #expect((dashboard.queued, dashboard.processing, dashboard.segmented) == (0, 3, 3), "\(user.name)'s dashboard")
            #expect(dashboard.segmentationsCompletedToday == 3, "\(user.name)'s activity bucket")
        }
        #expect(try t.store.checkConsistency() == [])
    }

    @Test("a savepoint that rolls back takes its counter moves out of the batch's ledger too")
    func ledgerFollowsSavepoints() throws {
        struct Refused: Error {}
        let t = try TestStore()
        let (_, p, _) = try project(t, images: 2)
        var kept = CounterDelta(), dropped = CounterDelta()
        kept.move(from: .noSegmentation, to: .failed)
        dropped.move(from: .noSegmentation, to: .segmented)
        try t.sqlite.write { tx in
            try tx.deferringCounters { tx in
                _ = try tx.apply(kept, to: p.id, revision: 1)
                #expect(throws: Refused.self) {
                    try tx.savepoint {
                        #expect(try tx.apply(dropped, to: p.id, revision: 2).segmented == 1)
                        throw Refused()
                    }
                }
                #expect(try tx.counters(of: p.id)?.segmented == 0)
            }
        }
        let row = try #require(try t.store.counters(projectID: p.id))
        #expect((row.noSegmentation, row.failed, row.segmented, row.revision) == (1, 1, 0, 1))
    }

    @Test("in a batch, a move below zero is refused at once, as the CHECK constraint refuses it outside one")
    func ledgerRefusesNegativeCounts() throws {
        let t = try TestStore()
        let (_, p, _) = try project(t, images: 1)
        var impossible = CounterDelta()
        impossible.move(from: .processing, to: .segmented)  // nothing is processing
        let refused = { (error: any Error) -> Bool in
            guard case .database(let fault) = error as? StoreError else { return false }
            return fault.description.contains("CHECK constraint failed")
        }
        #expect(performing: { try t.sqlite.write { tx in _ = try tx.apply(impossible, to: p.id, revision: 1) } }, throws: refused)
        // Refused by the move itself, not by the write at the batch's end (nothing is left to write).
        _ = try t.sqlite.write { tx in
            try tx.deferringCounters { tx in
                _ = #expect(performing: { _ = try tx.apply(impossible, to: p.id, revision: 1) }, throws: { refused(StoreError.wrapping($0)) })
            }
        }
        #expect(try t.store.counters(projectID: p.id)?.noSegmentation == 1)
    }

    @Test("retryable failures re-queue until attempts run out; the last one fails the image", arguments: StoreKind.allCases)
    func failures(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let (owner, p, images) = try project(t, images: 1)
        _ = try t.store.enqueue(EnqueueRequest(projectID: p.id, target: .unsegmented, model: "m", requestedBy: owner.id, maxAttempts: 2), payload: tag("q"))
        var job = try t.store.claimJobs(workerName: "w", models: ["m"], limit: 1, leaseDurationMs: 1_000, payload: tag("c")).assignments[0].job
        #expect(throws: StoreError.lease(jobID: job.id, .unknownLease), "one attempt so far: no other lease ever existed") {
            try t.store.renewLease(jobID: job.id, leaseID: "forged", durationMs: 1)
        }
        let retry = try t.store.failJob(jobID: job.id, leaseID: job.leaseID!, reason: "oom", retryable: true, payload: tag("f"))
        #expect(retry.requeued && retry.image.status == .queued && retry.job.error == "oom" && retry.batchFinished == nil)
        #expect(throws: StoreError.lease(jobID: job.id, .expired)) {
            try t.store.completeJob(jobID: job.id, leaseID: job.leaseID!, output: SegmentationOutput(cellCount: 0, result: []), payload: tag("x"))
        }
        job = try t.store.claimJobs(workerName: "w", models: ["m"], limit: 1, leaseDurationMs: 1_000, payload: tag("c")).assignments[0].job
        #expect(job.attempts == 2)
        let final = try t.store.failJob(jobID: job.id, leaseID: job.leaseID!, reason: "oom again", retryable: true, payload: tag("f"))
        #expect(!final.requeued && final.image.status == .failed && final.image.failureReason == "oom again")
        #expect(final.job.status == .failed && final.batchFinished?.failedCount == 1)
        #expect(final.counters.failed == 1 && final.counters.processing == 0)
        #expect(throws: StoreError.lease(jobID: job.id, .jobFinished)) {
            try t.store.failJob(jobID: job.id, leaseID: job.leaseID!, reason: "x", retryable: false, payload: tag("f"))
        }
        // After two attempts only the last lease is kept: another id may be the first
        // attempt's, so it is refused as superseded (FAILED_PRECONDITION), not unknown.
        #expect(throws: StoreError.lease(jobID: job.id, .superseded)) {
            try t.store.renewLease(jobID: job.id, leaseID: "forged", durationMs: 1)
        }
        #expect(throws: StoreError.notFound(.job, id: "ghost")) { try t.store.renewLease(jobID: "ghost", leaseID: "l", durationMs: 1) }
        // A FAILED image can be queued again without force.
        #expect(try t.store.enqueue(EnqueueRequest(projectID: p.id, target: .images([images[0].id]), model: "m", requestedBy: owner.id), payload: tag("q")).jobs.count == 1)
        #expect(try t.store.checkConsistency() == [])
    }

    @Test("expired leases are refused, renewals extend them, and the sweep re-queues or fails", arguments: StoreKind.allCases)
    func leases(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let (owner, p, _) = try project(t, images: 2)
        _ = try t.store.enqueue(EnqueueRequest(projectID: p.id, target: .unsegmented, model: "m", requestedBy: owner.id, maxAttempts: 1), payload: tag("q"))
        let jobs = try t.store.claimJobs(workerName: "w", models: ["m"], limit: 2, leaseDurationMs: 1_000, payload: tag("c")).assignments.map(\.job)
        t.clock.advance(by: 900)
        #expect(try t.store.renewLease(jobID: jobs[0].id, leaseID: jobs[0].leaseID!, durationMs: 5_000) == t.clock.now + 5_000)
        t.clock.advance(by: 200)
        #expect(throws: StoreError.lease(jobID: jobs[1].id, .expired)) {
            try t.store.completeJob(jobID: jobs[1].id, leaseID: jobs[1].leaseID!, output: SegmentationOutput(cellCount: 0, result: []), payload: tag("x"))
        }
        let swept = try t.store.expireLeases(payload: tag("sweep"))
        #expect(swept.failed.map(\.id) == [jobs[1].id] && swept.requeued.isEmpty && swept.failed[0].error == "lease expired")
        #expect(swept.batchesFinished.isEmpty, "the renewed job is still open")
        #expect(try t.store.expireLeases(payload: tag("sweep")).revision == nil)
        #expect(try t.store.nextLeaseExpiry() == t.clock.now - 200 + 5_000)
        #expect(try t.store.checkConsistency() == [])
    }

    @Test("cancelling: by jobs (finished ones refuse the call), by batch, by project", arguments: StoreKind.allCases)
    func cancel(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let (owner, p, images) = try project(t, images: 4)
        let first = try t.store.enqueue(
            EnqueueRequest(projectID: p.id, target: .images([images[0].id, images[1].id]), model: "m", requestedBy: owner.id), payload: tag("q"))
        let second = try t.store.enqueue(
            EnqueueRequest(projectID: p.id, target: .images([images[2].id, images[3].id]), model: "m", requestedBy: owner.id), payload: tag("q"))
        let claimed = try t.store.claimJobs(workerName: "w", models: ["m"], limit: 1, leaseDurationMs: 10_000, payload: tag("c")).assignments[0].job
        _ = try t.store.completeJob(jobID: claimed.id, leaseID: claimed.leaseID!, output: SegmentationOutput(cellCount: 1, result: [0]), payload: tag("d"))

        #expect(throws: StoreError.jobFinished(jobID: claimed.id, status: .completed)) {
            try t.store.cancelJobs(.jobs([first.jobs[1].jobID, claimed.id]), actor: owner.id, payload: tag("x"))
        }
        #expect(try t.store.job(id: first.jobs[1].jobID)?.status == .queued, "nothing was cancelled")
        #expect(throws: StoreError.notFound(.batch, id: "nope")) { try t.store.cancelJobs(.batch("nope"), actor: owner.id, payload: tag("x")) }

        let byBatch = try t.store.cancelJobs(.batch(first.batchID!), actor: owner.id, payload: tag("x"))
        #expect(byBatch.cancelled.map(\.jobID) == [first.jobs[1].jobID] && byBatch.counters[0].noSegmentation == 1)
        let processing = try t.store.claimJobs(workerName: "w", models: ["m"], limit: 1, leaseDurationMs: 10_000, payload: tag("c")).assignments[0].job
        let byProject = try t.store.cancelJobs(.project(p.id), actor: owner.id, payload: tag("x"))
        #expect(byProject.cancelled.count == 2 && byProject.processingCount == 1)
        #expect(byProject.cancelled.first { $0.jobID == processing.id }?.leaseID == processing.leaseID)
        #expect(throws: StoreError.lease(jobID: processing.id, .jobCancelled)) {
            try t.store.failJob(jobID: processing.id, leaseID: processing.leaseID!, reason: "x", retryable: true, payload: tag("f"))
        }
        #expect(try t.store.cancelJobs(.project(p.id), actor: owner.id, payload: tag("x")).revision == nil)
        #expect(second.batchID != nil)
        let counters = try #require(try t.store.counters(projectID: p.id))
        #expect(counters.noSegmentation == 3 && counters.segmented == 1 && counters.queued == 0 && counters.processing == 0)
        #expect(try t.store.checkConsistency() == [])
    }

    @Test("the queue limit refuses an enqueue that would exceed it", arguments: StoreKind.allCases)
    func queueLimit(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let (owner, p, _) = try project(t, images: 3)
        #expect(throws: StoreError.queueFull(limit: 2)) {
            try t.store.enqueue(EnqueueRequest(projectID: p.id, target: .unsegmented, model: "m", requestedBy: owner.id, queueLimit: 2), payload: tag("q"))
        }
        #expect(try t.store.counters(projectID: p.id)?.queued == 0)
    }

    @Test("one claim call for several workers: one transaction, queue order across them, an event each that claimed", arguments: StoreKind.allCases)
    func batchedClaims(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let (owner, p, _) = try project(t, images: 5)
        let queued = try t.store.enqueue(
            EnqueueRequest(projectID: p.id, target: .unsegmented, model: "m", requestedBy: owner.id), payload: tag("q")).jobs.map(\.imageID)
        let transactions = (t.store as? Store)?.writeTransactions
        let claims = try t.store.claimJobs(
            [ClaimRequest(workerName: "a", models: ["m"], limit: 2), ClaimRequest(workerName: "b", models: ["other"], limit: 4),
             ClaimRequest(workerName: "c", models: ["m"], limit: 1), ClaimRequest(workerName: "d", models: ["m"], limit: 9)],
            leaseDurationMs: 60_000, payload: tag("c"))
        if let transactions { #expect(t.sqlite.writeTransactions == transactions + 1) }
        #expect(claims.map { $0.assignments.map(\.image.id) } == [Array(queued[0..<2]), [], [queued[2]], Array(queued[3...])])
        #expect(claims.map { $0.assignments.map(\.job.workerName) } == [["a", "a"], [], ["c"], ["d", "d"]])
        // Each claim saw the ones before it: its counters, its own revision.
        #expect(claims.map { $0.counters.map(\.processing) } == [[2], [], [3], [5]])
        let revisions = claims.compactMap(\.revision)
        #expect(revisions.count == 3 && revisions == revisions.sorted() && claims[1].revision == nil)
        let events = try t.store.events(after: revisions[0] - 1, limit: 10)
        #expect(events.map(\.revision) == revisions && events.allSatisfy { $0.kind == .segmentationStarted })
        #expect(try t.store.checkConsistency() == [])
    }
}
