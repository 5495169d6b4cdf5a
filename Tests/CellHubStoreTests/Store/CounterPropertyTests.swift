import CellHub
@testable import CellHubSQL
@testable import CellHubStore
import StoreTestSupport
import Testing
import TestSupport

/// Random operation sequences against a real store. After every step, every project's
/// counters and every user's dashboard (in several time zones) must equal a brute-force
/// recount from the raw tables, `checkConsistency` must find nothing, and the event log must
/// have grown by exactly one row for an operation that changed something, and by none
/// otherwise.
@Suite("Store: counters stay exact under random operations")
struct CounterPropertyTests {
    static let seeds: [UInt64] = Array(1...12)
    static let steps = 150
    /// Every seed on SQLite, the first four on PostgreSQL (each step is ~150 round trips there).
    static let cases: [(StoreKind, UInt64)] = seeds.map { (.sqlite, $0) } + seeds.prefix(4).map { (.postgres, $0) }

    @Test("every step leaves counters, dashboards and the event log exact", arguments: cases)
    func randomOperations(kind: StoreKind, seed: UInt64) throws {
        var run = try Run(kind, seed: seed)
        for step in 0..<Self.steps {
            try run.step(step)
        }
        #expect(run.changes > Self.steps / 3, "seed \(seed): too few operations changed anything to mean much")
    }

    /// A database written before migrations v2 to v4 (no activity feed, no per-user counters,
    /// no queue blocks, no completion minutes) upgrades to the same figures: the migrations
    /// backfill from the rows.
    @Test("upgrading a v1 database backfills the per-user counters and queue blocks exactly", arguments: [UInt64(3), 8])
    func upgradeFromV1(seed: UInt64) throws {
        var run = try Run(seed: seed)
        for step in 0..<Self.steps { try run.step(step) }
        let store = run.t.store
        let now = run.t.clock.now
        func figures(_ store: any CellHubStorage) throws -> [String] {
            try run.users.map { user in
                let dashboard = try store.dashboard(userID: user.id, todayStartMs: now - 3_600_000 * 5, weekStartMs: now - 86_400_000 * 3)
                let queue = try store.queueStats(userID: user.id)
                let completions = try store.completionStats(userID: user.id, sinceMs: now - 600_000)
                return "\(dashboard) \(queue) \(completions)"
            }
        }
        let before = try figures(store)
        // Back to the v1 shape, as a database written by the previous release.
        let raw = try SQLiteConnection(path: run.t.directory.file("cellhub.sqlite"))
        try raw.execute("""
            DROP TRIGGER jobs_queued_on_insert; DROP TRIGGER jobs_queued_on_update;
            DROP TRIGGER jobs_dequeued_on_update; DROP TRIGGER jobs_dequeued_on_delete;
            DROP TABLE queue_buckets; DROP INDEX jobs_queued_by_project; DROP INDEX jobs_completed_by_project;
            DROP INDEX project_members_with_queue; DROP INDEX project_members_by_completion;
            ALTER TABLE project_members DROP COLUMN queued; ALTER TABLE project_members DROP COLUMN last_completed_at_ms;
            DROP TABLE user_activity_counters; DROP TABLE user_counters; DROP TABLE activity_entries;
            DROP TABLE project_completion_minutes; DROP INDEX event_log_by_time;
            DELETE FROM schema_migrations WHERE name <> 'v1-initial';
            """)
        var options = Store.Options()
        options.clock = { now }
        let upgraded = try Store(path: run.t.directory.file("cellhub.sqlite"), options: options)
        #expect(upgraded.appliedMigrations == ["v2-activity-feed", "v3-user-counters", "v4-completion-minutes", "v5-stream-indexes", "v6-queue-indexes"])
        #expect(try upgraded.checkConsistency() == [], "seed \(seed)")
        #expect(try figures(upgraded) == before, "seed \(seed)")
    }
}

/// What an operation should have appended: its kind and project (nil for operations that
/// span projects or concern users).
private struct Expected: Equatable {
    var kind: ChangeKind
    var projectID: String?
}

/// One seeded run: the store, the users, and the random source.
private struct Run {
    let seed: UInt64
    var random: SeededRandom
    let t: TestStore
    let users: [UserRecord]
    /// Operations that appended an event.
    var changes = 0
    var lastRevision: Int64

    /// Local UTC offsets checked for "today"/"this week": UTC, India, California (PST),
    /// Chatham Islands (+12:45), Marquesas (-9:30).
    static let zoneOffsetsMinutes: [Int64] = [0, 330, -480, 765, -570]

    init(_ kind: StoreKind = .sqlite, seed: UInt64) throws {
        self.seed = seed
        random = SeededRandom(seed: seed)
        let store = try TestStore(kind)
        t = store
        users = try (0..<4).map { try store.user("user-\($0)") }
        lastRevision = try store.store.currentRevision()
    }

    mutating func step(_ step: Int) throws {
        // Mostly minutes between operations, sometimes hours: runs cross days, weeks (in
        // every zone checked) and lease expiries.
        let gap = random.chance(0.1) ? Int64.random(in: 0...21_600_000, using: &random) : Int64.random(in: 0...600_000, using: &random)
        t.clock.advance(by: gap)
        let before = try t.store.currentRevision()
        let (name, expected) = try perform()
        let context = "seed \(seed) step \(step) \(name)"

        let events = try t.store.events(after: before, limit: 10)
        if let expected {
            #expect(events.count == 1, "\(context): one event per operation")
            #expect(events.first?.revision == before + 1 && before + 1 > lastRevision, "\(context): revisions strictly increase")
            #expect(events.first.map { Expected(kind: $0.kind!, projectID: $0.projectID) } == expected, "\(context)")
            #expect(events.first?.payload == Array(name.utf8), "\(context): payload")
            changes += 1
        } else {
            #expect(events.isEmpty, "\(context): no change, no event")
        }
        lastRevision = try t.store.currentRevision()
        try verify(context)
    }

    // MARK: Checks

    func verify(_ context: String) throws {
        let inconsistencies = try t.store.checkConsistency()
        #expect(inconsistencies == [], "\(context)")

        for projectID in try t.raw.query("SELECT id FROM projects", row: { $0.string(0) }) {
            let counters = try #require(try t.store.counters(projectID: projectID))
            let actual = try t.raw.queryOne(
                """
                SELECT count(*), coalesce(sum(CASE WHEN status = 1 THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN status = 2 THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN status = 3 THEN 1 ELSE 0 END), 0),
                       coalesce(sum(CASE WHEN status = 4 THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN status = 5 THEN 1 ELSE 0 END), 0), coalesce(sum(size_bytes), 0)
                FROM images WHERE project_id = ?
                """, projectID) { row in (0..<7).map { row.int64($0) } }
            let stored = [counters.imageCount, counters.noSegmentation, counters.queued, counters.processing,
                          counters.segmented, counters.failed, counters.totalBytes]
            #expect(stored == actual, "\(context): project \(projectID)")
            #expect(counters.revision <= lastRevision && counters.updatedAtMs <= t.clock.now, "\(context)")
        }

        for user in users {
            for offset in Self.zoneOffsetsMinutes {
                let (today, week) = Self.localBoundaries(now: t.clock.now, offsetMs: offset * 60_000)
                var stored = try t.store.dashboard(userID: user.id, todayStartMs: today, weekStartMs: week)
                #expect(stored.revision == lastRevision, "\(context)")
                stored.revision = 0
                let actual = try bruteForceDashboard(userID: user.id, todayStartMs: today, weekStartMs: week)
                #expect(stored == actual, "\(context): dashboard of \(user.name) at UTC\(offset >= 0 ? "+" : "")\(offset)min")
            }
        }

        let queue = try t.store.queueStats()
        let open = try t.raw.queryOne("SELECT coalesce(sum(CASE WHEN status = 1 THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN status = 2 THEN 1 ELSE 0 END), 0) FROM segmentation_jobs") {
            [$0.int64(0), $0.int64(1)]
        }
        #expect([queue.queued, queue.processing] == open, "\(context): queue")
    }

    /// The dashboard recomputed from the raw rows, sharing no SQL with the store.
    func bruteForceDashboard(userID: String, todayStartMs: Int64, weekStartMs: Int64) throws -> DashboardAggregates {
        let visible = "SELECT project_id FROM project_members WHERE user_id = ?1"
        let images = try t.raw.queryOne(
            """
            SELECT count(*), coalesce(sum(CASE WHEN status = 1 THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN status = 2 THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN status = 3 THEN 1 ELSE 0 END), 0),
                   coalesce(sum(CASE WHEN status = 4 THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN status = 5 THEN 1 ELSE 0 END), 0), coalesce(sum(size_bytes), 0),
                   coalesce(sum(CASE WHEN uploaded_at_ms >= ?2 THEN 1 ELSE 0 END), 0)
            FROM images WHERE project_id IN (\(visible))
            """, userID, todayStartMs) { row in (0..<8).map { row.int64($0) } }!
        func count(_ sql: String, _ arguments: any RawBindable...) throws -> Int64 {
            try t.raw.queryOne(sql, arguments: arguments) { $0.int64(0) } ?? -1
        }
        return DashboardAggregates(
            projectsOwned: try count("SELECT count(*) FROM projects WHERE owner_id = ?", userID),
            projectsSharedWithMe: try count("SELECT count(*) FROM project_members WHERE user_id = ? AND role <> 'owner'", userID),
            totalImages: images[0], noSegmentation: images[1], queued: images[2], processing: images[3],
            segmented: images[4], failed: images[5], storageBytes: images[6], imagesUploadedToday: images[7],
            segmentationsCompletedToday: try count(
                "SELECT count(*) FROM segmentation_jobs WHERE status = 3 AND finished_at_ms >= ?2 AND project_id IN (\(visible))",
                userID, todayStartMs),
            projectsCreatedThisWeek: try count(
                "SELECT count(*) FROM projects WHERE created_at_ms >= ?2 AND id IN (\(visible))", userID, weekStartMs),
            revision: 0)
    }

    /// Local midnight today and Monday 00:00 this week, as UTC ms, for a fixed offset.
    static func localBoundaries(now: Int64, offsetMs: Int64) -> (today: Int64, week: Int64) {
        let day: Int64 = 86_400_000
        let local = now + offsetMs
        let days = local >= 0 ? local / day : (local - day + 1) / day
        let weekday = ((days + 3) % 7 + 7) % 7 // 1970-01-01 was a Thursday; Monday = 0
        return (days * day - offsetMs, (days - weekday) * day - offsetMs)
    }

    // MARK: Operations

    /// Performs one random operation; returns its name (also its event payload) and the
    /// event it must have appended (nil when it changed nothing or failed as allowed).
    mutating func perform() throws -> (String, Expected?) {
        let projects = try t.raw.query("SELECT id, owner_id FROM projects ORDER BY id") { ($0.string(0), $0.string(1)) }
        let roll = Int.random(in: 0..<100, using: &random)
        if projects.count < 2 || roll < 6 { return try createProject() }
        let (projectID, ownerID) = projects.randomElement(using: &random)!
        switch roll {
        case ..<22: return try upload(projectID)
        case ..<27: return try deleteImage(projectID)
        case ..<32: return try deleteImages(projectID)
        case ..<44: return try enqueue(projectID)
        case ..<55: return try claim()
        case ..<68: return try complete()
        case ..<75: return try fail()
        case ..<79: return try cancel(projectID)
        case ..<82: return try expire()
        case ..<89: return try share(projectID, ownerID: ownerID)
        case ..<93: return try revoke(projectID)
        case ..<97: return try rename(projectID, ownerID: ownerID)
        default: return try deleteProject(projectID, ownerID: ownerID)
        }
    }

    /// Runs `body`; an allowed store error means "nothing happened", anything else fails.
    func attempt<T>(_ name: String, allowed: (StoreError) -> Bool, _ body: () throws(StoreError) -> T) -> T? {
        do {
            return try body()
        } catch {
            #expect(allowed(error), "seed \(seed) \(name): unexpected \(error)")
            return nil
        }
    }

    func payload<T>(_ name: String) -> (T) -> [UInt8] { { _ in Array(name.utf8) } }

    mutating func user() -> UserRecord { users.randomElement(using: &random)! }

    mutating func createProject() throws -> (String, Expected?) {
        let name = "createProject"
        let owner = user()
        let projectName = "project \(Int.random(in: 0..<6, using: &random))"
        let created = attempt(name, allowed: { $0 == .projectNameTaken(projectName) }) { () throws(StoreError) in
            try t.store.createProject(ownerID: owner.id, name: projectName, description: "", payload: payload(name))
        }
        return (name, created.map { Expected(kind: .projectCreated, projectID: $0.project.id) })
    }

    mutating func upload(_ projectID: String) throws -> (String, Expected?) {
        let name = "upload"
        let count = random.chance(0.05) ? 120 : Int.random(in: 1...12, using: &random)
        let images = (0..<count).map { _ in
            NewImage(
                name: "cell-\(Int.random(in: 0..<1000, using: &random)).png", contentType: "image/png",
                sizeBytes: Int64.random(in: 1...50_000, using: &random), sha256Hex: TestStore.sha(Int.random(in: 0..<40, using: &random)))
        }
        let key = random.chance(0.3)
            ? IdempotencyKey(key: "key-\(Int.random(in: 0..<3, using: &random))", requestHash: [UInt8(count % 256)]) : nil
        let uploader = user()
        let result = attempt(name, allowed: { if case .idempotencyKeyReused = $0 { true } else { false } }) { () throws(StoreError) in
            try t.store.uploadImages(
                projectID: projectID, uploaderID: uploader.id, images: images, idempotency: key,
                response: { Array($0.images.map(\.id).joined(separator: ",").utf8) }, payload: payload(name))
        }
        guard case .stored(let uploaded) = result else { return (name, nil) }
        #expect(uploaded.images.count == count && uploaded.counters.imageCount == uploaded.previousImageCount + Int64(count))
        return (name, Expected(kind: .imagesUploaded, projectID: projectID))
    }

    mutating func images(of projectID: String) throws -> [String] {
        try t.raw.query("SELECT id FROM images WHERE project_id = ? ORDER BY id", projectID) { $0.string(0) }
    }

    mutating func deleteImage(_ projectID: String) throws -> (String, Expected?) {
        let name = "deleteImage"
        guard let id = try images(of: projectID).randomElement(using: &random) else { return (name, nil) }
        let deleted = try t.store.deleteImage(id: id, actor: user().id, payload: payload(name))
        #expect(deleted.deleted.map(\.id) == [id])
        return (name, Expected(kind: .imageDeleted, projectID: projectID))
    }

    mutating func deleteImages(_ projectID: String) throws -> (String, Expected?) {
        let name = "deleteImages"
        var ids = try images(of: projectID).filter { _ in random.chance(0.4) }
        let bogus = random.chance(0.3)
        if bogus { ids.append("missing-\(Int.random(in: 0..<5, using: &random))") }
        let allowMissing = random.chance(0.5)
        let deleted = attempt(name, allowed: { if case .imagesNotFound = $0 { bogus && !allowMissing } else { false } }) { () throws(StoreError) in
            try t.store.deleteImages(projectID: projectID, ids: ids, allowMissing: allowMissing, actor: user().id, payload: payload(name))
        }
        guard let deleted, deleted.revision != nil else { return (name, nil) }
        #expect(deleted.counters.imageCount == deleted.previousImageCount - Int64(deleted.deleted.count))
        return (name, Expected(kind: .imagesDeleted, projectID: projectID))
    }

    mutating func enqueue(_ projectID: String) throws -> (String, Expected?) {
        let name = "enqueue"
        var target = EnqueueTarget.unsegmented
        var bogus = false
        if random.chance(0.6) {
            var ids = try images(of: projectID).filter { _ in random.chance(0.5) }
            bogus = random.chance(0.1)
            if bogus { ids.append("missing") }
            target = .images(ids)
        }
        let request = EnqueueRequest(
            projectID: projectID, target: target, model: random.chance(0.8) ? "m" : "n",
            priority: Int.random(in: 0...10, using: &random), force: random.chance(0.3), requestedBy: user().id,
            maxAttempts: Int.random(in: 1...3, using: &random))
        let queued = attempt(name, allowed: { if case .imagesNotFound = $0 { bogus } else { false } }) { () throws(StoreError) in
            try t.store.enqueue(request, payload: payload(name))
        }
        guard let queued, queued.revision != nil else { return (name, nil) }
        #expect(queued.firstQueuePosition >= 1)
        return (name, Expected(kind: .segmentationQueued, projectID: projectID))
    }

    mutating func claim() throws -> (String, Expected?) {
        let name = "claim"
        let claimed = try t.store.claimJobs(
            workerName: "worker", models: random.chance(0.5) ? ["m"] : ["m", "n"], limit: Int.random(in: 1...5, using: &random),
            leaseDurationMs: Int64.random(in: 3_600_000...21_600_000, using: &random), payload: payload(name))
        guard claimed.revision != nil else { return (name, nil) }
        let projects = Set(claimed.assignments.map(\.job.projectID))
        return (name, Expected(kind: .segmentationStarted, projectID: projects.count == 1 ? projects.first : nil))
    }

    /// A random processing job with its lease.
    mutating func leasedJob() throws -> (id: String, lease: String, projectID: String)? {
        try t.raw.query("SELECT id, lease_id, project_id FROM segmentation_jobs WHERE status = 2 ORDER BY seq") {
            ($0.string(0), $0.string(1), $0.string(2))
        }.randomElement(using: &random)
    }

    mutating func complete() throws -> (String, Expected?) {
        let name = "complete"
        guard let job = try leasedJob() else { return (name, nil) }
        let output = SegmentationOutput(
            cellCount: Int64.random(in: 0...500, using: &random), result: [1],
            processingMs: random.chance(0.5) ? Int64.random(in: 1...100_000, using: &random) : nil)
        let done = attempt(name, allowed: { $0 == .lease(jobID: job.id, .expired) }) { () throws(StoreError) in
            try t.store.completeJob(jobID: job.id, leaseID: job.lease, output: output, payload: payload(name))
        }
        return (name, done.map { _ in Expected(kind: .segmentationCompleted, projectID: job.projectID) })
    }

    mutating func fail() throws -> (String, Expected?) {
        let name = "fail"
        guard let job = try leasedJob() else { return (name, nil) }
        let retryable = random.chance(0.6)
        let failed = attempt(name, allowed: { $0 == .lease(jobID: job.id, .expired) }) { () throws(StoreError) in
            try t.store.failJob(jobID: job.id, leaseID: job.lease, reason: "broken", retryable: retryable, payload: payload(name))
        }
        return (name, failed.map { _ in Expected(kind: .segmentationFailed, projectID: job.projectID) })
    }

    mutating func cancel(_ projectID: String) throws -> (String, Expected?) {
        let name = "cancel"
        let jobs = try t.raw.query("SELECT id, batch_id, status, project_id FROM segmentation_jobs ORDER BY seq") {
            (id: $0.string(0), batch: $0.string(1), open: $0.int64(2) <= 2, projectID: $0.string(3))
        }
        let target: CancelTarget
        var cancellable: Set<String> = []
        switch Int.random(in: 0..<3, using: &random) {
        case 0:
            target = .project(projectID)
        case 1:
            guard let batch = jobs.randomElement(using: &random)?.batch else { return (name, nil) }
            target = .batch(batch)
        default:
            let picked = jobs.filter { _ in random.chance(0.2) }
            guard !picked.isEmpty else { return (name, nil) }
            target = .jobs(picked.map(\.id))
            cancellable = Set(picked.filter { !$0.open }.map(\.id))
        }
        let cancelled = attempt(name, allowed: { error in
            if case .jobFinished(let id, _) = error { cancellable.contains(id) } else { false }
        }) { () throws(StoreError) in
            try t.store.cancelJobs(target, actor: user().id, payload: payload(name))
        }
        guard let cancelled, cancelled.revision != nil else { return (name, nil) }
        let projects = Set(cancelled.cancelled.map(\.projectID))
        return (name, Expected(kind: .segmentationCancelled, projectID: projects.count == 1 ? projects.first : nil))
    }

    mutating func expire() throws -> (String, Expected?) {
        let name = "expire"
        let swept = try t.store.expireLeases(payload: payload(name))
        guard swept.revision != nil else { return (name, nil) }
        let projects = Set((swept.requeued + swept.failed).map(\.projectID))
        return (name, Expected(kind: .leasesExpired, projectID: projects.count == 1 ? projects.first : nil))
    }

    mutating func share(_ projectID: String, ownerID: String) throws -> (String, Expected?) {
        let name = "share"
        let grantee = user()
        let role: MemberRole = random.chance(0.5) ? .editor : .viewer
        let shared = attempt(name, allowed: { $0 == .ownerMembership(projectID: projectID) && grantee.id == ownerID }) { () throws(StoreError) in
            try t.store.share(projectID: projectID, userID: grantee.id, role: role, actor: ownerID, payload: payload(name))
        }
        guard let shared, shared.revision != nil else { return (name, nil) }
        return (name, Expected(kind: .shareGranted, projectID: projectID))
    }

    mutating func revoke(_ projectID: String) throws -> (String, Expected?) {
        let name = "revoke"
        let members = try t.raw.query("SELECT user_id FROM project_members WHERE project_id = ? AND role <> 'owner'", projectID) {
            $0.string(0)
        }
        guard let member = members.randomElement(using: &random) else { return (name, nil) }
        _ = try t.store.revokeShare(projectID: projectID, userID: member, actor: member, payload: payload(name))
        return (name, Expected(kind: .shareRevoked, projectID: projectID))
    }

    mutating func rename(_ projectID: String, ownerID: String) throws -> (String, Expected?) {
        let name = "rename"
        let newName = "project \(Int.random(in: 0..<6, using: &random))"
        let updated = attempt(name, allowed: { $0 == .projectNameTaken(newName) }) { () throws(StoreError) in
            try t.store.updateProject(id: projectID, actor: ownerID, name: newName, payload: payload(name))
        }
        guard let updated, updated.revision != nil else { return (name, nil) }
        return (name, Expected(kind: .projectUpdated, projectID: projectID))
    }

    mutating func deleteProject(_ projectID: String, ownerID: String) throws -> (String, Expected?) {
        let name = "deleteProject"
        let deleted = try t.store.deleteProject(id: projectID, actor: ownerID, payload: payload(name))
        // Every reported orphan is really gone from the blobs table, and no other is.
        for sha in deleted.orphanedBlobs {
            #expect(try !t.store.isBlobReferenced(sha256Hex: sha))
        }
        return (name, Expected(kind: .projectDeleted, projectID: projectID))
    }
}
