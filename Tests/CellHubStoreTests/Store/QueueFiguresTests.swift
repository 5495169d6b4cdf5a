import CellHub
@testable import CellHubSQL
@testable import CellHubStore
import StoreTestSupport
import Testing
import TestSupport

/// Queue positions (counted from the queue blocks) and completion figures (merged from the
/// projects that completed last) against brute-force SQL over every job, on a queue that
/// spans several 1,024-job blocks and priorities, with claims, requeues, cancellations and a
/// project deleted while its jobs wait.
@Suite("Store: queue positions and completion figures at scale")
struct QueueFiguresTests {
    @Test(arguments: StoreKind.allCases, [7, 11] as [UInt64])
    func matchBruteForce(kind: StoreKind, seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let t = try TestStore(kind)
        let users = try (0..<4).map { try t.user("u\($0)") }
        var projects: [(id: String, owner: UserRecord)] = []
        for index in 0..<12 {
            let owner = users[index % users.count]
            let project = try t.store.createProject(ownerID: owner.id, name: "p\(index)", description: "", payload: tag("c")).project
            _ = try t.store.uploadImages(projectID: project.id, uploaderID: owner.id, images: t.images(250, sha: { $0 % 7 }), payload: tag("u"))
            projects.append((project.id, owner))
        }
        // u0 also sees two of u1's projects.
        for (id, _) in projects.filter({ $0.owner.id == users[1].id }).prefix(2) {
            _ = try t.store.share(projectID: id, userID: users[0].id, role: .viewer, actor: users[1].id, payload: tag("s"))
        }
        // 3,000 jobs over 11 priorities, enqueued in random order of projects.
        for (id, owner) in projects.shuffled(using: &random) {
            let images = try t.store.images(projectID: id, limit: 500).items.map(\.id)
            for chunk in stride(from: 0, to: images.count, by: 50) {
                _ = try t.store.enqueue(
                    EnqueueRequest(
                        projectID: id, target: .images(Array(images[chunk..<min(chunk + 50, images.count)])), model: "m",
                        priority: Int.random(in: 0...10, using: &random), requestedBy: owner.id),
                    payload: tag("q"))
            }
        }
        // Workers take some, complete most at distinct times, fail some retryably.
        for round in 0..<6 {
            let claimed = try t.store.claimJobs(workerName: "w", models: ["m"], limit: 120, leaseDurationMs: 600_000, payload: tag("l"))
            for (index, assignment) in claimed.assignments.enumerated() {
                t.clock.advance(by: 997)
                if index % 9 == 0 {
                    _ = try t.store.failJob(
                        jobID: assignment.job.id, leaseID: assignment.job.leaseID!, reason: "again", retryable: true, payload: tag("f"))
                } else {
                    _ = try t.store.completeJob(
                        jobID: assignment.job.id, leaseID: assignment.job.leaseID!,
                        output: SegmentationOutput(cellCount: 1, result: [], processingMs: Int64(100 + round * 37 + index)),
                        payload: tag("d"))
                }
            }
        }
        _ = try t.store.cancelJobs(.project(projects[3].id), actor: projects[3].owner.id, payload: tag("x"))
        _ = try t.store.deleteProject(id: projects[5].id, actor: projects[5].owner.id, payload: tag("del"))
        #expect(try t.store.checkConsistency() == [])

        // Every queued job's position is the number of queued jobs a claim takes before it.
        let queued = try t.raw.query("SELECT id, priority, seq FROM segmentation_jobs WHERE status = 1") {
            ($0.string(0), $0.int64(1), $0.int64(2))
        }
        #expect(queued.count > 1_500, "a queue spanning several blocks")
        let order = queued.sorted { ($0.1, -$0.2) > ($1.1, -$1.2) }
        for (rank, job) in order.enumerated() where rank % 37 == 0 || rank == order.count - 1 {
            #expect(try t.store.queuePosition(jobID: job.0) == Int64(rank + 1))
        }

        // Windows starting inside a minute, on a minute boundary, and spanning many minutes:
        // whole minutes come from the minute rows, the partial one from the jobs.
        let now = t.clock.now
        let windows = [now - 120_000, now - 600_000, (now - 300_000) / 60_000 * 60_000, now - 59_999, now - 3_000_000]
        for (index, user) in users.enumerated() {
            let since = windows[index % windows.count]
            let visible = "SELECT project_id FROM project_members WHERE user_id = '\(user.id)'"
            let head = try t.raw.queryOne(
                "SELECT id FROM segmentation_jobs WHERE status = 1 AND project_id IN (\(visible)) ORDER BY priority DESC, seq LIMIT 1"
            ) { $0.string(0) }
            let expectedPosition = try head.map { try t.store.queuePosition(jobID: $0) } ?? 0
            let open = try t.raw.queryOne(
                "SELECT coalesce(sum(CASE WHEN status = 1 THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN status = 2 THEN 1 ELSE 0 END), 0) FROM segmentation_jobs WHERE project_id IN (\(visible))"
            ) { ($0.int64(0), $0.int64(1)) }!
            let stats = try t.store.queueStats(userID: user.id)
            #expect(stats.position == expectedPosition && stats.scopeQueued == open.0 && stats.scopeProcessing == open.1)

            let last100 = try t.raw.queryOne(
                """
                SELECT coalesce(avg(processing_ms), 0.0), count(*) FROM (SELECT processing_ms FROM segmentation_jobs
                WHERE status = 3 AND project_id IN (\(visible)) ORDER BY finished_at_ms DESC LIMIT 100) AS recent
                """) { ($0.double(0), $0.int(1)) }!
            let recent = try t.raw.queryOne(
                "SELECT count(*) FROM segmentation_jobs WHERE status = 3 AND finished_at_ms >= ? AND project_id IN (\(visible))", since
            ) { $0.int64(0) }!
            let completions = try t.store.completionStats(userID: user.id, sinceMs: since)
            #expect(completions == CompletionStats(averageProcessingMs: last100.0, sampleCount: last100.1, completedSince: recent))
        }
        for since in windows {
            let all = try t.raw.queryOne("SELECT count(*) FROM segmentation_jobs WHERE status = 3 AND finished_at_ms >= ?", since) {
                $0.int64(0)
            }!
            #expect(try t.store.completionStats(userID: nil, sinceMs: since).completedSince == all, "service-wide since \(since)")
        }
        let firstOverall = try #require(order.first)
        #expect(try t.store.queueStats().position == 1 && t.store.queuePosition(jobID: firstOverall.0) == 1)
    }
}
