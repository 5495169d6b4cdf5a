import CellHub
import Dispatch
import CellHubPostgres
import CellHubSQL
import EventLoop
import StoreTestSupport
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// What the PostgreSQL store promises beyond the shared tests: several stores ("nodes") on
/// one database hand out one gap-free, commit-ordered revision sequence, and a reader that
/// tails "the log after R" while they write never skips a revision (a bigserial would: a
/// later transaction can commit a lower number first).
@Suite("PostgreSQL store: several nodes on one database")
struct PostgresNodesTests {
    @Test("writers on two nodes get one gap-free revision sequence; a tailer on a third sees every revision once, in order")
    func twoNodesOneLog() throws {
        let url = try TemporaryPostgres.freshDatabase()
        var options = PostgresStore.Options()
        options.connections = 3
        let nodes = try (0..<3).map { _ in try PostgresStore(url: url, options: options) }
        #expect(Set(nodes.map(\.epoch)).count == 1, "one database, one epoch")
        #expect(nodes[0].appliedMigrations == ["v1-initial", "v2-access-generations", "v3-presence"] && nodes[1].appliedMigrations.isEmpty)
        let owner = try nodes[0].createUser(name: "ada", isWorker: false, tokenHash: Array(repeating: 7, count: 32), payload: { _ in [] }).user
        let project = try nodes[1].createProject(ownerID: owner.id, name: "p", description: "", payload: { _ in [] }).project
        let start = try nodes[2].currentRevision()

        let writes = 40
        let done = Atomic<Int>(0)
        let seen = Mutex<[Int64]>([])
        let failures = Mutex<[String]>([])
        onThreads(5) { thread in
            if thread == 4 {
                // The tailer: "the log after my cursor", over and over, as the EventHub reads it.
                var cursor = start
                while true {
                    let finished = done.load(ordering: .acquiring) == 4
                    let events: [StoredEvent]
                    do {
                        events = try nodes[2].events(after: cursor, limit: 1_000)
                    } catch {
                        failures.withLock { $0.append("tailer: \(error)") }
                        return
                    }
                    for event in events {
                        if event.revision != cursor + 1 { failures.withLock { $0.append("after \(cursor) came \(event.revision)") } }
                        cursor = event.revision
                        seen.withLock { $0.append(event.revision) }
                    }
                    // Once every writer is done before a read, that read got the rest.
                    if finished && events.isEmpty { return }
                }
            }
            let node = nodes[thread % 2]
            for n in 0..<writes {
                do {
                    let image = NewImage(
                        name: "t\(thread)-\(n).png", contentType: "image/png", sizeBytes: 10, sha256Hex: TestStore.sha(thread * 1_000 + n))
                    _ = try node.uploadImages(projectID: project.id, uploaderID: owner.id, images: [image], payload: { _ in [] })
                } catch {
                    failures.withLock { $0.append("writer \(thread): \(error)") }
                }
            }
            done.add(1, ordering: .releasing)
        }
        #expect(failures.withLock { $0 } == [])
        #expect(seen.withLock { $0 } == Array(start + 1...start + Int64(writes * 4)))
        for node in nodes {
            #expect(try node.currentRevision() == start + Int64(writes * 4))
            #expect(try node.counters(projectID: project.id)?.imageCount == Int64(writes * 4))
        }
        #expect(try nodes[2].checkConsistency() == [])
    }

    @Test("a write that fails after taking its revision rolls the revision back: the next write takes the same number")
    func rollbackLeavesNoHole() throws {
        let store = try StoreKind.postgres.makeStore(directory: "/nonexistent", clock: { 1_750_000_000_000 }, makeID: { SystemValues.randomUUID() })
        let owner = try store.createUser(name: "ada", isWorker: false, tokenHash: Array(repeating: 1, count: 32), payload: { _ in [] }).user
        let project = try store.createProject(ownerID: owner.id, name: "p", description: "", payload: { _ in [] }).project
        let before = try store.currentRevision()
        // The upload's revision is taken, then an image row breaks a CHECK constraint (a
        // content hash of the wrong length): the transaction rolls back as a whole.
        let bad = NewImage(name: "bad.png", contentType: "image/png", sizeBytes: 10, sha256Hex: "short")
        #expect(throws: StoreError.self) {
            try store.uploadImages(projectID: project.id, uploaderID: owner.id, images: [bad], payload: { _ in [] })
        }
        #expect(try store.currentRevision() == before)
        let good = NewImage(name: "good.png", contentType: "image/png", sizeBytes: 10, sha256Hex: TestStore.sha(1))
        guard case .stored(let uploaded) = try store.uploadImages(projectID: project.id, uploaderID: owner.id, images: [good], payload: { _ in [] })
        else { Issue.record("expected stored"); return }
        #expect(uploaded.revision == before + 1)
        #expect(try store.events(after: 0, limit: 100).map(\.revision) == Array(1...before + 1))
    }

    @Test("concurrent writes on a node share transactions (group commit); one that fails after taking its revision fails alone and leaves no hole")
    func groupCommitOnOneNode() throws {
        var options = PostgresStore.Options()
        options.connections = 4
        let store = try PostgresStore(url: try TemporaryPostgres.freshDatabase(), options: options)
        let owner = try store.createUser(name: "ada", isWorker: false, tokenHash: Array(repeating: 1, count: 32), payload: { _ in [] }).user
        let project = try store.createProject(ownerID: owner.id, name: "p", description: "", payload: { _ in [] }).project
        let before = try store.currentRevision()
        let transactionsBefore = store.writeTransactions
        let threads = 8, perThread = 30
        let stored = Atomic<Int>(0), refused = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        onThreads(threads) { thread in
            for n in 0..<perThread {
                // Every 5th upload breaks a CHECK constraint after its revision was taken.
                let bad = n % 5 == 4
                let image = NewImage(
                    name: "t\(thread)-\(n).png", contentType: "image/png", sizeBytes: 10,
                    sha256Hex: bad ? "short" : TestStore.sha(thread * 1_000 + n + 10))
                do {
                    guard case .stored = try store.uploadImages(projectID: project.id, uploaderID: owner.id, images: [image], payload: { _ in [] })
                    else { failures.withLock { $0.append("\(image.name) not stored") }; continue }
                    stored.wrappingAdd(1, ordering: .relaxed)
                } catch {
                    if bad { refused.wrappingAdd(1, ordering: .relaxed) } else { failures.withLock { $0.append("\(image.name): \(error)") } }
                }
            }
        }
        #expect(failures.withLock { Array($0.prefix(3)) } == [])
        let writes = threads * perThread
        #expect(refused.load(ordering: .relaxed) == writes / 5 && stored.load(ordering: .relaxed) == writes - writes / 5)
        // One revision per stored upload, consecutive: the failed ones' savepoints took theirs back.
        let revisions = try store.events(after: before, limit: 10_000).map(\.revision)
        #expect(revisions == Array((before + 1)...(before + Int64(stored.load(ordering: .relaxed)))))
        let transactions = store.writeTransactions - transactionsBefore
        #expect(transactions < writes, "8 writers: some must have shared a transaction (\(transactions) for \(writes))")
        #expect(try store.checkConsistency() == [])
    }

    @Test("nodes opening one new database at once migrate it once (advisory lock) and share its epoch; an unknown migration refuses the open")
    func migrationsUnderTheAdvisoryLock() throws {
        let url = try TemporaryPostgres.freshDatabase()
        let opened = Mutex<[(epoch: String, applied: [String])]>([])
        let failures = Mutex<[String]>([])
        onThreads(4) { _ in
            do {
                let store = try PostgresStore(url: url)
                opened.withLock { $0.append((store.epoch, store.appliedMigrations)) }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let results = opened.withLock { $0 }
        #expect(results.count == 4 && Set(results.map(\.epoch)).count == 1)
        #expect(
            results.filter { !$0.applied.isEmpty }.map(\.applied) == [["v1-initial", "v2-access-generations", "v3-presence"]], "exactly one node migrated")

        let raw = try PostgresRawConnection(url: url)
        _ = try raw.rows("INSERT INTO schema_migrations (name, applied_at_ms) VALUES ('v99-from-the-future', 0)", [])
        #expect(throws: StoreError.unknownMigration("v99-from-the-future")) { try PostgresStore(url: url) }
    }

    @Test("a commit on one node wakes another node's commit listeners through LISTEN, within a second", arguments: ListenerDriverKind.allCases)
    func commitWakesOtherNode(driver: ListenerDriverKind) throws {
        // No safety poll within the test: the wake-up can only come from the notification.
        try withTwoListeningNodes(driver, safetyPollIntervalMs: 600_000) { a, b, _ in
            let woken = DispatchSemaphore(value: 0)
            a.onCommit { woken.signal() }
            let before = try a.currentRevision()
            _ = try b.createUser(name: "ada", isWorker: false, tokenHash: Array(repeating: 7, count: 32), payload: { _ in [] })
            #expect(woken.wait(timeout: .now() + 1) == .success, "a woke within 1 s")
            #expect(try a.events(after: before, limit: 10).map(\.revision) == [before + 1])
        }
    }

    @Test("a revocation or a share on one node moves the other node's access generations", arguments: ListenerDriverKind.allCases)
    func generationsCrossNodes(driver: ListenerDriverKind) throws {
        try withTwoListeningNodes(driver, safetyPollIntervalMs: 600_000) { a, b, _ in
            let owner = try b.createUser(name: "ada", isWorker: false, tokenHash: Array(repeating: 1, count: 32), payload: { _ in [] }).user
            let guest = try b.createUser(name: "bob", isWorker: false, tokenHash: Array(repeating: 2, count: 32), payload: { _ in [] }).user
            let project = try b.createProject(ownerID: owner.id, name: "p", description: "", payload: { _ in [] }).project

            let memberships = a.membershipGeneration, credentials = a.credentialsGeneration
            _ = try b.share(projectID: project.id, userID: guest.id, role: .viewer, actor: owner.id, payload: { _ in [] })
            #expect(waitUntil { a.membershipGeneration != memberships }, "a's role caches see b's share")
            #expect(a.credentialsGeneration == credentials, "a share revokes no credentials")

            let afterShare = a.membershipGeneration
            _ = try b.revokeShare(projectID: project.id, userID: guest.id, actor: owner.id, payload: { _ in [] })
            #expect(waitUntil { a.membershipGeneration != afterShare }, "a's role caches see b's revocation")

            _ = try b.revokeUser(id: guest.id, payload: { _ in [] })
            #expect(waitUntil { a.credentialsGeneration != credentials }, "a's token caches see b's revocation")
        }
    }

    @Test("after its LISTEN connection is killed, a node still sees the next commit of another node, and listens again", arguments: ListenerDriverKind.allCases)
    func listenConnectionKilled(driver: ListenerDriverKind) throws {
        try withTwoListeningNodes(driver, safetyPollIntervalMs: PostgresStore.Options().safetyPollIntervalMs) { a, b, url in
            let killed = try #require(a.listenerBackendPID)
            let woken = DispatchSemaphore(value: 0)
            a.onCommit { woken.signal() }
            let raw = try PostgresRawConnection(url: url)
            #expect(try raw.rows("SELECT pg_terminate_backend(?)", [String(killed)]) == [["t"]])

            let before = try a.currentRevision()
            _ = try b.createUser(name: "ada", isWorker: false, tokenHash: Array(repeating: 7, count: 32), payload: { _ in [] })
            #expect(woken.wait(timeout: .now() + 3) == .success, "a woke (reconnected listener or safety poll)")
            #expect(try a.events(after: before, limit: 10).map(\.revision) == [before + 1])
            #expect(waitUntil(seconds: 5) { a.listenerBackendPID.map { $0 != killed } ?? false }, "a listens on a new connection")

            // And the new connection hears: with the safety poll out of the way, a wakes again.
            while woken.wait(timeout: .now()) == .success {}
            _ = try b.createUser(name: "bob", isWorker: false, tokenHash: Array(repeating: 8, count: 32), payload: { _ in [] })
            #expect(woken.wait(timeout: .now() + 1) == .success)
        }
    }

    @Test("a loop-driven listener that stops closes its connection, hears nothing more, and lets its loop stop")
    func loopListenerStops() throws {
        let url = try TemporaryPostgres.freshDatabase()
        var options = PostgresStore.Options()
        options.connections = 2
        options.safetyPollIntervalMs = 50  // timers in flight when it stops
        let a = try PostgresStore(url: url, options: options), b = try PostgresStore(url: url, options: options)
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        try #require(waitUntil { a.listenerBackendPID != nil }, "a's thread listens")
        let threads = try #require(a.listenerBackendPID)
        a.listen(on: group.loops[0])
        try #require(waitUntil { a.listenerBackendPID.map { $0 != threads } ?? false }, "a listens on the loop, on a new connection")
        let onLoop = try #require(a.listenerBackendPID)
        let raw = try PostgresRawConnection(url: url)
        func connected(_ pid: Int32) throws -> Bool {
            try raw.rows("SELECT count(*) FROM pg_stat_activity WHERE pid = ?", [String(pid)]) == [["1"]]
        }
        #expect(waitUntil { (try? connected(threads)) == false }, "the thread's connection was closed")

        a.stopListening()
        #expect(a.listenerBackendPID == nil)
        #expect(waitUntil { (try? connected(onLoop)) == false }, "the loop's connection was closed")
        a.stopListening()  // idempotent
        let woken = DispatchSemaphore(value: 0)
        a.onCommit { woken.signal() }
        _ = try b.createUser(name: "ada", isWorker: false, tokenHash: Array(repeating: 7, count: 32), payload: { _ in [] })
        // No notification and no safety poll wakes a stopped listener: 20 safety intervals pass.
        #expect(woken.wait(timeout: .now() + 1) == .timedOut, "a stopped listener woke nobody")
    }

    @Test("while one node holds the orphan-sweep lock, another node's attempt returns nil without running; then it gets it")
    func orphanSweepLockIsOneNodeAtATime() throws {
        let url = try TemporaryPostgres.freshDatabase()
        var options = PostgresStore.Options()
        options.connections = 1  // the lock is not taken from the pool: a pool of one cannot wait for itself
        options.listens = false
        let a = try PostgresStore(url: url, options: options), b = try PostgresStore(url: url, options: options)
        var ran = 0
        let whileHeld = try a.withOrphanSweepLock { () -> Result<Void?, StoreError> in
            ran += 1
            // The pool still serves the sweep's reads while the lock is held.
            #expect((try? a.currentRevision()) != nil)
            return Result { () throws(StoreError) in try b.withOrphanSweepLock { ran += 1 } }
        }
        #expect(try #require(whileHeld).get() == nil, "b found the lock held and did not run")
        #expect(ran == 1)
        #expect(try b.withOrphanSweepLock { ran += 1 } != nil, "released when a's body returned")
        #expect(try a.withOrphanSweepLock { 7 } == 7)
        #expect(ran == 2)
    }

    @Test("two nodes expiring the same leases at once: the later waits for the earlier, finds nothing, and nothing is re-queued twice")
    func concurrentLeaseExpiry() throws {
        let url = try TemporaryPostgres.freshDatabase()
        let clock = Atomic<Int64>(1_750_000_000_000)
        var options = PostgresStore.Options()
        options.connections = 2
        options.listens = false
        options.clock = { clock.load(ordering: .relaxed) }
        let nodes = try (0..<2).map { _ in try PostgresStore(url: url, options: options) }
        let owner = try nodes[0].createUser(name: "ada", isWorker: false, tokenHash: Array(repeating: 3, count: 32), payload: { _ in [] }).user
        let project = try nodes[0].createProject(ownerID: owner.id, name: "p", description: "", payload: { _ in [] }).project
        let images = (0..<6).map {
            NewImage(name: "i\($0).png", contentType: "image/png", sizeBytes: 10, sha256Hex: TestStore.sha($0))
        }
        _ = try nodes[0].uploadImages(projectID: project.id, uploaderID: owner.id, images: images, payload: { _ in [] })
        _ = try nodes[1].enqueue(
            EnqueueRequest(projectID: project.id, target: .unsegmented, model: "m", requestedBy: owner.id, maxAttempts: 10),
            payload: { _ in [] })

        for round in 1...5 {
            // Leases taken on both nodes, then every one of them expired.
            var held = Set<String>()
            for node in nodes {
                let claimed = try node.claimJobs(workerName: "w", models: ["m"], limit: 3, leaseDurationMs: 1_000, payload: { _ in [] })
                held.formUnion(claimed.assignments.map(\.job.id))
            }
            #expect(held.count == 6)
            clock.add(2_000, ordering: .relaxed)
            let before = try nodes[0].currentRevision()
            let requeued = Mutex<[String]>([])
            let failures = Mutex<[String]>([])
            onThreads(4) { thread in
                do {
                    let expired = try nodes[thread % 2].expireLeases(payload: { _ in [] })
                    requeued.withLock { $0 += expired.requeued.map(\.id) }
                    if !expired.failed.isEmpty { failures.withLock { $0.append("round \(round): failed \(expired.failed.map(\.id))") } }
                } catch {
                    failures.withLock { $0.append("round \(round), node \(thread % 2): \(error)") }
                }
            }
            #expect(failures.withLock { $0 } == [])
            #expect(requeued.withLock { $0 }.sorted() == held.sorted(), "every lease ended once, round \(round)")
            #expect(try nodes[1].currentRevision() == before + 1, "one leasesExpired event, round \(round)")
            let counters = try #require(try nodes[1].counters(projectID: project.id))
            #expect((counters.queued, counters.processing) == (6, 0))
        }
        #expect(try nodes[0].checkConsistency() == [])
    }

    @Test("the listener reports its failures: the first at once, then at most one per interval, saying how many it left out", arguments: ListenerDriverKind.allCases)
    func listenerFailuresAreReported(driver: ListenerDriverKind) throws {
        let reports = Mutex<[String]>([])
        try withTwoListeningNodes(driver, safetyPollIntervalMs: 600_000, configureA: { options in
            options.reportFault = { report in reports.withLock { $0.append(report) } }
            options.faultReportIntervalMs = 1_500
        }) { a, _, url in
            let raw = try PostgresRawConnection(url: url)
            /// Kills a's LISTEN connection and waits until it listens on a new one.
            func kill() throws {
                let killed = try #require(a.listenerBackendPID)
                #expect(try raw.rows("SELECT pg_terminate_backend(?)", [String(killed)]) == [["t"]])
                try #require(waitUntil(seconds: 5) { a.listenerBackendPID.map { $0 != killed } ?? false }, "a listens again")
        }
        try kill()
        #expect(waitUntil { reports.withLock { $0.count } == 1 })
        let first = try #require(reports.withLock { $0.first })
        #expect(first.hasPrefix("PostgreSQL change listener: the LISTEN connection broke (reconnecting now): "), "\(first)")
        #expect(!first.contains("\n"), "one log line: \(first)")
        #expect(first.contains("(failure 1;"), "\(first)")
        // Within the interval: counted, not reported. Then killed until the interval has
        // passed and a second report comes, naming how many it left out.
        try kill()
        #expect(reports.withLock { $0.count } == 1)
        let deadline = DispatchTime.now() + 10
        while reports.withLock({ $0.count }) < 2, DispatchTime.now() < deadline { try kill() }
        let all = reports.withLock { $0 }
        #expect(all.count == 2)
        #expect(all.last.map { $0.contains("more since the last report") } == true, "\(all)")
        }
    }
}

/// Who waits on the LISTEN socket: the store's own thread (how it opens), or an event loop
/// (`PostgresStore.listen(on:)`, as `serve` does).
enum ListenerDriverKind: String, CaseIterable, CustomTestStringConvertible {
    case thread, loop

    var testDescription: String { rawValue }
}

/// Runs `body` with two stores ("nodes") on a fresh database once the first one's LISTEN
/// connection is open (it opens off the caller's thread: a commit before that would be heard
/// only by the safety poll), driven by `driver`: with `.loop` on the one loop of a group that
/// lives as long as `body`, and leaves it before the loop stops.
private func withTwoListeningNodes(
    _ driver: ListenerDriverKind, safetyPollIntervalMs: Int64, configureA: (inout PostgresStore.Options) -> Void = { _ in },
    _ body: (_ a: PostgresStore, _ b: PostgresStore, _ url: String) throws -> Void
) throws {
    let url = try TemporaryPostgres.freshDatabase()
    var options = PostgresStore.Options()
    options.connections = 2
    options.safetyPollIntervalMs = safetyPollIntervalMs
    var optionsA = options
    configureA(&optionsA)
    let a = try PostgresStore(url: url, options: optionsA), b = try PostgresStore(url: url, options: options)
    let group = try EventLoopGroup(loopCount: 1)
    defer {
        a.stopListening()
        group.shutdown()
    }
    if driver == .loop { a.listen(on: group.loops[0]) }
    try #require(waitUntil { a.listenerBackendPID != nil }, "a's LISTEN connection is open")
    try body(a, b, url)
}

/// Polls `condition` until it holds or `seconds` passed (a value another thread moves has no
/// event to wait on); true when it held.
private func waitUntil(seconds: Double = 2, _ condition: () -> Bool) -> Bool {
    let deadline = DispatchTime.now() + seconds
    while DispatchTime.now() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}
