import CellHub
@testable import CellHubSQL
@testable import CellHubStore
import Dispatch
import Synchronization
import StoreTestSupport
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Store: dashboard, event log")
struct StatsEventsTests {
    @Test("'today' and 'this week' follow the caller's zone, including a half-hour one", arguments: StoreKind.allCases)
    func dashboardTimeZones(kind: StoreKind) throws {
        // 2025-06-16 is a Monday. Start at 18:20 UTC on Sunday the 15th = 23:50 in India (+5:30).
        let sunday1820 = Int64(1_750_011_600_000)
        let t = try TestStore(kind, clock: FakeClock(sunday1820))
        let ada = try t.user("ada")
        let p = try t.store.createProject(ownerID: ada.id, name: "p", description: "", payload: tag("c")).project
        _ = try t.store.uploadImages(projectID: p.id, uploaderID: ada.id, images: t.images(2), payload: tag("u"))
        t.clock.advance(by: 20 * 60_000) // 18:40 UTC = 00:10 Monday in India, still Sunday in UTC
        _ = try t.store.uploadImages(projectID: p.id, uploaderID: ada.id, images: t.images(3), payload: tag("u"))

        let india = Int64(5 * 3_600_000 + 30 * 60_000)
        let indiaMidnight = sunday1820 + 10 * 60_000 // 18:30 UTC
        let inIndia = try t.store.dashboard(userID: ada.id, todayStartMs: indiaMidnight, weekStartMs: indiaMidnight)
        #expect(inIndia.imagesUploadedToday == 3 && inIndia.totalImages == 5)
        #expect(inIndia.projectsCreatedThisWeek == 0, "created on Sunday, India's previous week")
        #expect(indiaMidnight + india == 1_750_032_000_000, "local midnight")

        let utcMidnight = sunday1820 - (18 * 60 + 20) * 60_000
        let inUTC = try t.store.dashboard(userID: ada.id, todayStartMs: utcMidnight, weekStartMs: utcMidnight - 6 * 86_400_000)
        #expect(inUTC.imagesUploadedToday == 5 && inUTC.projectsCreatedThisWeek == 1 && inUTC.projectsOwned == 1)
        #expect(inUTC.revision == (try t.store.currentRevision()))
    }

    @Test("one event row per operation: a 500-image upload is one event, payloads hold what the closure encoded", arguments: StoreKind.allCases)
    func oneEventPerOperation(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let p = try t.store.createProject(ownerID: ada.id, name: "p", description: "", payload: tag("created")).project
        let before = try t.store.currentRevision()
        guard case .stored(let up) = try t.store.uploadImages(
            projectID: p.id, uploaderID: ada.id, images: t.images(500, sha: { $0 % 7 }),
            payload: { Array("rev \($0.revision) count \($0.images.count) prev \($0.previousImageCount)".utf8) })
        else { Issue.record("upload"); return }
        let events = try t.store.events(after: before, limit: 100)
        #expect(events.count == 1)
        #expect(events.first?.revision == before + 1 && up.revision == before + 1)
        #expect(events.first?.kind == .imagesUploaded && events.first?.projectID == p.id && events.first?.actorUserID == ada.id)
        #expect(events.first?.payload == Array("rev \(before + 1) count 500 prev 0".utf8))
        #expect(up.counters.revision == up.revision)

        let deleted = try t.store.deleteImages(projectID: p.id, ids: up.images.map(\.id), allowMissing: false, actor: ada.id, payload: tag("batch"))
        #expect(deleted.orphanedBlobs.count == 7)
        let after = try t.store.events(after: before + 1, limit: 100)
        #expect(after.map(\.kind) == [.imagesDeleted] && after.map(\.revision) == [before + 2])
    }

    @Test("concurrent writers from many threads get distinct, gap-free revisions and exact counters", arguments: StoreKind.allCases)
    func concurrentWriters(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let p = try t.store.createProject(ownerID: ada.id, name: "p", description: "", payload: tag("c")).project
        let before = try t.store.currentRevision()
        let store = t.store
        let images = t.images(10)
        let revisions = Revisions()
        onThreads(16) { n in
            do {
                if case .stored(let up) = try store.uploadImages(projectID: p.id, uploaderID: ada.id, images: images, payload: tag("u")) {
                    revisions.add(up.revision)
                }
                _ = try store.dashboard(userID: ada.id, todayStartMs: 0, weekStartMs: 0)
            } catch {
                Issue.record("writer \(n): \(error)")
            }
        }
        #expect(revisions.sorted == Array(before + 1...before + 16))
        #expect(try t.store.counters(projectID: p.id)?.imageCount == 160)
        #expect(try t.store.checkConsistency() == [])
    }

    @Test("revisions survive pruning; the bounds tell whether a position can resume", arguments: StoreKind.allCases)
    func pruning(kind: StoreKind) throws {
        let t = try TestStore(kind)
        _ = try t.user("a")
        t.clock.advance(by: 10_000)
        _ = try t.user("b")
        let cut = t.clock.now
        t.clock.advance(by: 10_000)
        _ = try t.user("c")
        #expect(try t.store.eventLogBounds() == EventLogBounds(prunedThrough: 0, current: 3))
        #expect(try t.store.pruneEvents(committedBefore: cut + 1) == 2)
        #expect(try t.store.eventLogBounds() == EventLogBounds(prunedThrough: 2, current: 3))
        #expect(try t.store.events(after: 0, limit: 10).map(\.revision) == [3])
        #expect(try t.store.pruneEvents(committedBefore: t.clock.now + 1) == 1)
        #expect(try t.store.currentRevision() == 3, "the revision counter does not go back when the log is empty")
        let d = try t.store.createUser(name: "d", isWorker: false, tokenHash: t.tokenHash("d"), payload: tag("x"))
        #expect(d.revision == 4)
    }

    @Test("a store re-opened on the same file keeps its epoch, revisions and counters")
    func reopen() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("s.sqlite")
        let epoch: String
        do {
            let store = try Store(path: path)
            let user = try store.createUser(name: "a", isWorker: false, tokenHash: Array(repeating: 1, count: 32), payload: tag("x")).user
            _ = try store.createProject(ownerID: user.id, name: "p", description: "", payload: tag("x"))
            epoch = store.epoch
        }
        let store = try Store(path: path)
        #expect(store.epoch == epoch && store.appliedMigrations.isEmpty)
        #expect(try store.currentRevision() == 2)
        #expect(try store.checkConsistency() == [])
    }

    @Test("a hand-broken counter is reported by recount and checkConsistency")
    func detectsDrift() throws {
        let t = try TestStore()
        let ada = try t.user("ada")
        let p = try t.store.createProject(ownerID: ada.id, name: "p", description: "", payload: tag("c")).project
        _ = try t.store.uploadImages(projectID: p.id, uploaderID: ada.id, images: t.images(2), payload: tag("u"))
        let writer = try SQLiteConnection(path: t.directory.file("cellhub.sqlite"))
        try writer.run("UPDATE project_counters SET total_bytes = total_bytes + 5 WHERE project_id = ?", p.id)
        try writer.run("UPDATE blobs SET ref_count = 3 WHERE sha256 = ?", TestStore.sha(0))
        #expect(try t.store.recount(projectID: p.id) == [Inconsistency(scope: "project \(p.id)", field: "total_bytes", stored: 205, actual: 200)])
        let all = try t.store.checkConsistency()
        // The user's sums are checked against the project's counters, so they differ too.
        #expect(all.count == 3 && all.contains { $0.field == "ref_count" && $0.stored == 3 && $0.actual == 1 })
        #expect(all.contains(Inconsistency(scope: "user \(ada.id)", field: "total_bytes", stored: 200, actual: 205)))
        try writer.run("UPDATE project_counters SET total_bytes = total_bytes - 5 WHERE project_id = ?", p.id)
        try writer.run("UPDATE blobs SET ref_count = 1 WHERE sha256 = ?", TestStore.sha(0))
        #expect(try t.store.checkConsistency() == [])
        // Drift in the derived rows: a user counter, a user bucket, a member row, a queue block,
        // a completion minute.
        try writer.run("UPDATE user_counters SET projects_owned = 2 WHERE user_id = ?", ada.id)
        try writer.run("UPDATE user_activity_counters SET uploaded = uploaded + 1 WHERE user_id = ?", ada.id)
        try writer.run("UPDATE project_members SET queued = 4 WHERE user_id = ?", ada.id)
        try writer.run("INSERT INTO queue_buckets (priority, block, queued) VALUES (3, 0, 1)")
        try writer.run("INSERT INTO project_completion_minutes (project_id, minute, completed) VALUES (?, 5, 2)", p.id)
        #expect(try Set(t.store.checkConsistency().map(\.field)) == [
            "projects_owned", "uploaded@quarter_hour \(ActivityBucket.quarterHour(t.clock.now))", "queued",
            "queued@priority 3 block 0", "completed@minute 5",
        ])
        // The CHECK constraint refuses a drift that breaks image_count = Σ statuses.
        #expect(throws: SQLiteError.self) { try writer.run("UPDATE project_counters SET queued = 1 WHERE project_id = ?", p.id) }
    }
}

/// Revisions collected from several threads.
private final class Revisions: Sendable {
    private let values = Mutex<[Int64]>([])

    func add(_ revision: Int64) { values.withLock { $0.append(revision) } }

    var sorted: [Int64] { values.withLock { $0.sorted() } }
}

@Suite("Store: checkpoints off the commit path")
struct CheckpointTests {
    @Test("a growing WAL is checkpointed by the background thread, and the data survives reopening")
    func backgroundCheckpoint() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("cellhub.sqlite")
        var uploaded = 0
        do {
            let store = try Store(path: path)
            let ada = try store.createUser(name: "ada", isWorker: false, tokenHash: Array(repeating: 7, count: 32), payload: { _ in [] }).user
            let project = try store.createProject(ownerID: ada.id, name: "p", description: "", payload: { _ in [] }).project
            // Enough rows for well over 1,000 WAL frames.
            for batch in 0..<60 {
                let images = (0..<100).map { index in
                    NewImage(name: "i\(batch)-\(index).png", contentType: "image/png", sizeBytes: 10, sha256Hex: TestStore.sha(batch * 100 + index))
                }
                _ = try store.uploadImages(projectID: project.id, uploaderID: ada.id, images: images, payload: { _ in [] })
                uploaded += images.count
            }
            var waited = 0
            while store.checkpointer.checkpointsRun == 0 && waited < 100 {
                usleep(20_000)
                waited += 1
            }
            #expect(store.checkpointer.checkpointsRun > 0, "the checkpoint thread ran")
        }
        let reopened = try Store(path: path)
        let users = try reopened.users()
        let projects = try reopened.projects(for: users[0].id, limit: 10).items
        #expect(projects.first?.counters.imageCount == Int64(uploaded))
        #expect(try reopened.checkConsistency() == [])
    }

    @Test("commits that never pause under reads that never pause: the WAL still starts over")
    func walRestartsUnderSteadyReads() throws {
        // Control: a reader that holds one snapshot throughout keeps every frame in the WAL, so
        // the workload is big enough to outgrow the bound whenever nothing starts the WAL over.
        // (Steady short reads pin it too on a 2-core machine, but not on every machine: with
        // cores to spare, a PASSIVE pass can catch up between two commits.)
        let grown = try walAfterLoad(restartFrames: Int.max, readers: .pinned)
        let bounded = try walAfterLoad(restartFrames: 1_000, readers: .steady)
        #expect(grown.bytes > 48 << 20, "the control wrote enough to outgrow the bound (\(grown.bytes) bytes)")
        #expect(grown.restarts == 0)
        #expect(bounded.restarts > 0, "the writer restarted the WAL")
        #expect(bounded.bytes < 24 << 20, "WAL \(bounded.bytes) bytes with restarts, \(grown.bytes) without")
    }

    @Test("a checkpoint pass runs once per 1,000 frames the WAL grew, not after every commit past them")
    func checkpointPassesFollowGrowth() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("cellhub.sqlite")
        var options = Store.Options()
        options.walRestartFrames = Int.max
        let store = try Store(path: path, options: options)
        let ada = try store.createUser(name: "ada", isWorker: false, tokenHash: Array(repeating: 7, count: 32), payload: { _ in [] }).user
        let project = try store.createProject(ownerID: ada.id, name: "p", description: "", payload: { _ in [] }).project
        // A reader pinned to the first snapshot keeps every frame in the WAL, so its final size
        // is every frame written; small commits, so one pass per commit would be hundreds.
        let pinned = try SQLiteConnection(path: path, mode: .readOnly, busyTimeoutMs: 1_000)
        try pinned.execute("BEGIN; SELECT count(*) FROM users;")
        for index in 0..<1_500 {
            let image = NewImage(name: "i\(index).png", contentType: "image/png", sizeBytes: 10, sha256Hex: TestStore.sha(index))
            _ = try store.uploadImages(projectID: project.id, uploaderID: ada.id, images: [image], payload: { _ in [] })
        }
        try pinned.execute("COMMIT")
        var info = stat()
        #expect(stat(path + "-wal", &info) == 0)
        let frames = Int(info.st_size) / (4_096 + 24)
        var waited = 0
        while store.checkpointer.checkpointsRun == 0 && waited < 100 {
            usleep(20_000)
            waited += 1
        }
        #expect(frames > 3 * Checkpointer.thresholdFrames, "the load outgrew the threshold a few times (\(frames) frames)")
        #expect(store.checkpointer.checkpointsRun >= 1)
        #expect(store.checkpointer.checkpointsRun <= frames / Checkpointer.thresholdFrames + 1,
                "\(store.checkpointer.checkpointsRun) passes for \(frames) frames")
    }

    @Test("the writer keeps statement journals in memory (no temporary file per savepoint)")
    func writerJournalsInMemory() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let writer = try SQLiteConnection(path: directory.file("cellhub.sqlite"), mode: .readWrite)
        #expect(try writer.queryOne("PRAGMA temp_store") { $0.int64(0) } == 2)
    }

    private enum Readers {
        /// One read transaction open from before the first write to after the last.
        case pinned
        /// Two threads reading in a loop, each read a short transaction.
        case steady
    }

    /// Uploads 200 batches of 100 images under `readers`: the WAL file's size and the
    /// restarts the writer made.
    private func walAfterLoad(restartFrames: Int, readers: Readers) throws -> (bytes: Int, restarts: Int) {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("cellhub.sqlite")
        var options = Store.Options()
        options.walRestartFrames = restartFrames
        let store = try Store(path: path, options: options)
        let ada = try store.createUser(name: "ada", isWorker: false, tokenHash: Array(repeating: 7, count: 32), payload: { _ in [] }).user
        let project = try store.createProject(ownerID: ada.id, name: "p", description: "", payload: { _ in [] }).project
        let stop = Atomic<Bool>(false)
        let group = DispatchGroup()
        var pinned: SQLiteConnection?
        switch readers {
        case .pinned:
            pinned = try SQLiteConnection(path: path, mode: .readOnly, busyTimeoutMs: 1_000)
            try pinned?.execute("BEGIN; SELECT count(*) FROM users;")
        case .steady:
            for _ in 0..<2 {
                DispatchQueue.global().async(group: group) {
                    while !stop.load(ordering: .relaxed) { _ = try? store.users() }
                }
            }
        }
        for batch in 0..<200 {
            let images = (0..<100).map { index in
                NewImage(name: "i\(batch)-\(index).png", contentType: "image/png", sizeBytes: 10, sha256Hex: TestStore.sha(batch * 100 + index))
            }
            _ = try store.uploadImages(projectID: project.id, uploaderID: ada.id, images: images, payload: { _ in [] })
        }
        stop.store(true, ordering: .relaxed)
        group.wait()
        try pinned?.execute("COMMIT")
        var info = stat()
        guard stat(path + "-wal", &info) == 0 else { return (0, store.checkpointer.restartsRun) }
        return (Int(info.st_size), store.checkpointer.restartsRun)
    }
}
