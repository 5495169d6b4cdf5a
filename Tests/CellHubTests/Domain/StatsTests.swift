import StoreTestSupport
import Testing
import TestSupport
@testable import CellHub
import CellHub
import CellHubSQL
import CellHubStore

@Suite struct DashboardTimeZoneTests {
    // 2026-03-08 is the US switch to daylight time (Los Angeles: UTC-8 → UTC-7).
    static let mar08_1200Z: Int64 = 1_772_971_200_000
    static let mar08_2000Z: Int64 = 1_773_000_000_000
    static let mar09_0300Z: Int64 = 1_773_025_200_000
    static let mar09_1000Z: Int64 = 1_773_050_400_000
    static let mar09_1900Z: Int64 = 1_773_082_800_000
    /// "Now": Monday 20:00 UTC = Tuesday 01:30 in Kolkata = Monday 13:00 in Los Angeles.
    static let mar09_2000Z: Int64 = 1_773_086_400_000

    struct Expected: Sendable, CustomTestStringConvertible {
        let zone: String
        let todayStartMs: Int64
        let weekStartMs: Int64
        let tomorrowStartMs: Int64
        let uploadedToday: Int64
        let completedToday: Int64
        let createdThisWeek: Int64

        var testDescription: String { zone.isEmpty ? "(empty)" : zone }
    }

    static let expectations: [Expected] = [
        // UTC: today and the week start Monday 2026-03-09 00:00Z.
        Expected(zone: "", todayStartMs: 1_773_014_400_000, weekStartMs: 1_773_014_400_000, tomorrowStartMs: 1_773_100_800_000,
                 uploadedToday: 3, completedToday: 2, createdThisWeek: 1),
        Expected(zone: "UTC", todayStartMs: 1_773_014_400_000, weekStartMs: 1_773_014_400_000, tomorrowStartMs: 1_773_100_800_000,
                 uploadedToday: 3, completedToday: 2, createdThisWeek: 1),
        // Kolkata (+5:30): already Tuesday; the week began Monday 00:00 IST = Sunday 18:30Z.
        Expected(zone: "Asia/Kolkata", todayStartMs: 1_773_081_000_000, weekStartMs: 1_772_994_600_000,
                 tomorrowStartMs: 1_773_167_400_000, uploadedToday: 1, completedToday: 1, createdThisWeek: 2),
        // Los Angeles (-7 since Sunday): Monday started 07:00Z; the week too.
        Expected(zone: "America/Los_Angeles", todayStartMs: 1_773_039_600_000, weekStartMs: 1_773_039_600_000,
                 tomorrowStartMs: 1_773_126_000_000, uploadedToday: 2, completedToday: 2, createdThisWeek: 0),
    ]

    @Test(arguments: StoreKind.allCases, expectations)
    func todayAndThisWeek(kind: StoreKind, _ expected: Expected) throws {
        let clock = FakeClock(Self.mar08_2000Z)
        let test = try TestDomain(kind, clock: clock)
        let owner = try test.user("owner").caller
        let d = test.domain
        // P1 on Sunday 20:00Z (Monday in Kolkata), P2 on Monday 03:00Z (Sunday evening in LA).
        let p1 = try d.projects.create(name: "P1", description: "", caller: owner).project
        clock.set(Self.mar09_0300Z)
        _ = try d.projects.create(name: "P2", description: "", caller: owner)
        let first = try d.images.upload(projectID: p1.id, images: [Sample.upload(seed: 1)], caller: owner).images
        clock.set(Self.mar09_1000Z)
        _ = try d.images.upload(projectID: p1.id, images: [Sample.upload(seed: 2)], caller: owner)
        _ = try d.segmentation.enqueue(projectID: p1.id, target: .images([first[0].id]), caller: owner)
        try test.work()  // completed 10:00Z
        clock.set(Self.mar09_1900Z)
        let third = try d.images.upload(projectID: p1.id, images: [Sample.upload(seed: 3)], caller: owner).images
        _ = try d.segmentation.enqueue(projectID: p1.id, target: .images([third[0].id]), caller: owner)
        try test.work()  // completed 19:00Z
        clock.set(Self.mar09_2000Z)

        let metrics = try d.stats.dashboard(caller: owner, timeZone: expected.zone)
        #expect(metrics.timeZone == (expected.zone.isEmpty ? "UTC" : expected.zone))
        #expect(metrics.todayStartMs == expected.todayStartMs)
        #expect(metrics.weekStartMs == expected.weekStartMs)
        #expect(metrics.tomorrowStartMs == expected.tomorrowStartMs)
        #expect(metrics.imagesUploadedToday == expected.uploadedToday)
        #expect(metrics.segmentationsCompletedToday == expected.completedToday)
        #expect(metrics.projectsCreatedThisWeek == expected.createdThisWeek)
        #expect(metrics.totalProjects == 2 && metrics.totalImages == 3 && metrics.segmentedImages == 2)
    }

    @Test func weekStartsOnMonday() throws {
        // Sunday 2026-03-08 12:00Z: the week began Monday 2026-03-02 in UTC.
        let utc = try #require(LocalCalendar(timeZone: "UTC")).boundaries(at: Self.mar08_1200Z)
        #expect(utc.weekStartMs == 1_772_409_600_000)
        #expect(utc.todayStartMs == Self.mar08_1200Z - 12 * 3_600_000)
        // The same instant on Monday itself: today is the week start.
        let monday = try #require(LocalCalendar(timeZone: "UTC")).boundaries(at: 1_772_409_600_000 + 1)
        #expect(monday.weekStartMs == 1_772_409_600_000 && monday.todayStartMs == 1_772_409_600_000)
        // Los Angeles on its 23-hour day: midnight PST to midnight PDT.
        let la = try #require(LocalCalendar(timeZone: "America/Los_Angeles")).boundaries(at: Self.mar08_2000Z)
        #expect(la.todayStartMs == 1_772_956_800_000)
        #expect(la.tomorrowStartMs - la.todayStartMs == 23 * 3_600_000)
    }

    @Test func cachedBoundariesMatchTheCalendarAcrossMidnightsAndDST() throws {
        let days = DayBoundaries()
        var random = SeededRandom(seed: 20_260_308)
        for zone in ["America/Los_Angeles", "Asia/Kolkata", "Europe/Berlin", "UTC", ""] {
            let calendar = try #require(LocalCalendar(timeZone: zone))
            // A walk over a week around the March DST change, forwards and backwards, with
            // steps from seconds to a day: every answer equals the uncached one.
            var now = Self.mar08_1200Z - 3 * 86_400_000
            for _ in 0..<400 {
                now += Int64.random(in: -20 * 3_600_000...26 * 3_600_000, using: &random) / Int64.random(in: 1...50, using: &random)
                let cached = try #require(days.boundaries(timeZone: zone, at: now))
                #expect(cached.bounds == calendar.boundaries(at: now) && cached.identifier == calendar.identifier, "\(zone) at \(now)")
            }
        }
        #expect(days.boundaries(timeZone: "Mars/Olympus", at: Self.mar08_1200Z) == nil)
    }

    @Test(arguments: ["Mars/Olympus", "utc+5", "Europe/Nowhere", String(repeating: "A", count: 100)])
    func unknownZoneIsInvalid(zone: String) throws {
        let test = try TestDomain()
        let owner = try test.user("owner").caller
        #expect(code { try test.domain.stats.dashboard(caller: owner, timeZone: zone) } == .invalidArgument)
    }

    @Test(arguments: StoreKind.allCases) func queueProcessingAndThroughput(kind: StoreKind) throws {
        let clock = FakeClock(Self.mar09_1000Z)
        let test = try TestDomain(kind, clock: clock)
        let owner = try test.user("owner").caller
        let other = try test.user("other").caller
        let d = test.domain
        let mine = try d.projects.create(name: "Mine", description: "", caller: owner).project
        let theirs = try d.projects.create(name: "Theirs", description: "", caller: other).project
        _ = try d.images.upload(projectID: mine.id, images: (0..<4).map { Sample.upload(seed: $0) }, caller: owner)
        _ = try d.images.upload(projectID: theirs.id, images: (0..<3).map { Sample.upload(seed: 10 + $0) }, caller: other)
        // Two of mine done 20 minutes ago (1 s each), outside the throughput window.
        _ = try d.segmentation.enqueue(projectID: mine.id, target: .unsegmented, caller: owner)
        let pending = try test.store.claimJobs(workerName: "w", models: ["builtin-otsu"], limit: 2, leaseDurationMs: 60_000, payload: { _ in [] })
        for a in pending.assignments {
            _ = try test.store.completeJob(jobID: a.job.id, leaseID: a.job.leaseID!, output: SegmentationOutput(cellCount: 1, result: [], processingMs: 1_000), payload: { _ in [] })
        }
        clock.advance(by: 20 * 60_000)
        // The other two of mine complete now (3 s each), inside the window.
        try test.work(processingMs: 3_000)
        // Theirs: queued at a higher priority, ahead of anything of mine queued later.
        _ = try d.segmentation.enqueue(projectID: theirs.id, target: .unsegmented, priority: 5, caller: other)
        let more = try d.images.upload(projectID: mine.id, images: [Sample.upload(seed: 50)], caller: owner).images
        _ = try d.segmentation.enqueue(projectID: mine.id, target: .images([more[0].id]), caller: owner)

        let metrics = try d.stats.dashboard(caller: owner, timeZone: "UTC")
        #expect(metrics.queueLength == 4)
        #expect(metrics.queuePosition == 4)
        #expect(metrics.averageProcessingTimeMs == 2_000)
        #expect(metrics.throughputPerMinute == 0.2)
        #expect(metrics.totalImages == 5 && metrics.segmentedImages == 4 && metrics.queuedImages == 1)
        #expect(metrics.efficiencyPercent == 80)
        #expect(metrics.averageImageBytes == 64)
        let queue = try d.segmentation.queueStats(projectID: nil, caller: owner)
        #expect(queue.queued == 4 && queue.scopeQueued == 1 && queue.position == 4)
        let empty = try d.stats.dashboard(caller: try test.user("new").caller, timeZone: "")
        #expect(empty.averageImageBytes == 0 && empty.efficiencyPercent == 0 && empty.averageProcessingTimeMs == 0 && empty.queuePosition == 0)
    }
}

@Suite struct StatsRecountTests {
    /// Random operations by three users over shared projects; after each step every project's
    /// stats (served from the cache) equal a brute-force recount over its image list, and the
    /// dashboards equal sums over the projects each user can see.
    @Test(arguments: StoreKind.allCases, [1, 2, 3, 42] as [UInt64])
    func statsEqualBruteForce(kind: StoreKind, seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let test = try TestDomain(kind)
        let d = test.domain
        let users = [try test.user("ann").caller, try test.user("bob").caller, try test.user("cy").caller]
        var projects: [String] = []
        var succeeded = 0
        var finished = 0
        for step in 0..<150 {
            test.clock.advance(by: Int64.random(in: 0...120_000, using: &random))
            let projectID = projects.randomElement(using: &random)
            // Mostly a member of the chosen project (with its role), sometimes anyone.
            var actor = users.randomElement(using: &random)!
            if let projectID, Int.random(in: 0..<5, using: &random) > 0 {
                let members = try test.store.members(projectID: projectID)
                let member = members.filter { $0.role != .viewer }.randomElement(using: &random) ?? members[0]
                actor = users.first { $0.userID == member.user.id }!
            }
            let choice = projects.isEmpty ? 0 : Int.random(in: 0..<10, using: &random)
            do {
                switch choice {
                case 0:
                    projects.append(try d.projects.create(name: "p\(step)", description: "", caller: actor).project.id)
                case 1:
                    let role: MemberRole = Bool.random(using: &random) ? .editor : .viewer
                    let grantee = users.randomElement(using: &random)!
                    _ = try d.sharing.share(projectID: projectID!, grantee: .userID(grantee.userID), role: role, caller: actor)
                case 2, 3:
                    let count = Int.random(in: 1...4, using: &random)
                    let uploads = (0..<count).map { _ in
                        Sample.upload(seed: Int.random(in: 0..<12, using: &random), size: Int.random(in: 16...200, using: &random))
                    }
                    _ = try d.images.upload(projectID: projectID!, images: uploads, caller: actor)
                case 4:
                    let page = try d.images.list(projectID: projectID!, caller: actor, pageSize: 3)
                    if let image = page.images.randomElement(using: &random) { _ = try d.images.delete(imageID: image.id, caller: actor) }
                case 5:
                    let page = try d.images.list(projectID: projectID!, caller: actor, pageSize: 5)
                    if !page.images.isEmpty {
                        _ = try d.images.delete(projectID: projectID!, imageIDs: page.images.prefix(3).map(\.id), caller: actor)
                    }
                case 6:
                    _ = try d.segmentation.enqueue(
                        projectID: projectID!, target: .unsegmented, force: Bool.random(using: &random), caller: actor)
                case 7:
                    try test.work(complete: { _ in Bool.random(using: &random) }, processingMs: Int64.random(in: 1...5_000, using: &random))
                case 8:
                    if Bool.random(using: &random) {
                        _ = try d.segmentation.cancel(.project(projectID!), caller: actor)
                    } else {
                        _ = try d.sharing.revoke(projectID: projectID!, target: .leave(true), caller: actor)
                    }
                default:
                    if Int.random(in: 0..<4, using: &random) == 0 {
                        _ = try d.projects.delete(projectID: projectID!, caller: actor)
                        projects.removeAll { $0 == projectID }
                    } else {
                        _ = try d.projects.update(projectID: projectID!, description: "step \(step)", caller: actor)
                    }
                }
                succeeded += 1
            } catch let error as any DomainError {
                // Role refusals and no-longer-visible projects are part of the random walk.
                #expect([.permissionDenied, .notFound, .invalidArgument].contains(error.code), "step \(step): \(error)")
            }
            try check(test, users: users, projects: projects, step: step)
            finished += try projects.count { try test.store.counters(projectID: $0)!.segmented + test.store.counters(projectID: $0)!.failed > 0 }
        }
        #expect(try test.store.checkConsistency().isEmpty)
        // The walk did real work: most steps succeeded and jobs finished both ways.
        #expect(succeeded > 75)
        #expect(finished > 0, "seed \(seed): no job ever finished")
    }

    private func check(_ test: TestDomain, users: [Caller], projects: [String], step: Int) throws {
        let d = test.domain
        var visible: [String: [String]] = [:]
        for projectID in projects {
            let owner = try #require(try test.store.project(id: projectID)).owner
            let caller = Caller(userID: owner.id, name: owner.name)
            var images: [ImageMetadata] = []
            var token = ""
            repeat {
                let page = try d.images.list(projectID: projectID, caller: caller, pageSize: 7, pageToken: token)
                images += page.images
                token = page.nextPageToken
            } while !token.isEmpty
            let stats = try d.stats.projectStats(projectID: projectID, caller: caller)
            let count = { (status: ImageStatus) in Int64(images.count { $0.status == status }) }
            #expect(stats.imageCount == Int64(images.count), "step \(step)")
            #expect(stats.noSegmentationCount == count(.noSegmentation), "step \(step)")
            #expect(stats.queuedCount == count(.queued), "step \(step)")
            #expect(stats.processingCount == count(.processing), "step \(step)")
            #expect(stats.segmentedCount == count(.segmented), "step \(step)")
            #expect(stats.failedCount == count(.failed), "step \(step)")
            #expect(stats.totalBytes == images.reduce(0) { $0 + $1.sizeBytes }, "step \(step)")
            #expect(stats.progress == (images.isEmpty ? 0 : Double(count(.segmented)) / Double(images.count)), "step \(step)")
            // The cache never serves anything older than the store.
            #expect(stats.revision == UInt64(try #require(try test.store.counters(projectID: projectID)).revision), "step \(step)")
            for member in try test.store.members(projectID: projectID) {
                visible[member.user.id, default: []].append(projectID)
            }
        }
        for user in users {
            let metrics = try d.stats.dashboard(caller: user, timeZone: "Europe/Prague")
            let mine = visible[user.userID, default: []]
            var images: Int64 = 0, segmented: Int64 = 0, bytes: Int64 = 0
            for projectID in mine {
                let stats = try d.stats.projectStats(projectID: projectID)
                images += stats.imageCount
                segmented += stats.segmentedCount
                bytes += stats.totalBytes
            }
            #expect(metrics.totalProjects == Int64(mine.count), "step \(step)")
            #expect(metrics.totalImages == images && metrics.segmentedImages == segmented && metrics.storageBytes == bytes, "step \(step)")
            #expect(metrics.efficiencyPercent == (images == 0 ? 0 : Double(segmented) / Double(images) * 100), "step \(step)")
        }
    }
}

@Suite struct CachedProjectStatsTests {
    @Test("stats from memory need the caller's role read once, follow every write, and stop at any access change by any process")
    func cachedStatsFollowAccess() throws {
        let test = try TestDomain()
        let (owner, viewer) = (try test.user("owner").caller, try test.user("viewer").caller)
        let d = test.domain
        let project = try d.projects.create(name: "P", description: "", caller: owner).project
        _ = try d.sharing.share(projectID: project.id, grantee: .userID(viewer.userID), role: .viewer, caller: owner)
        #expect(d.stats.cachedProjectStats(projectID: project.id, caller: viewer) == nil, "role never read")
        #expect(try d.stats.projectStats(projectID: project.id, caller: viewer).imageCount == 0)
        #expect(d.stats.cachedProjectStats(projectID: project.id, caller: viewer)?.value.imageCount == 0)
        #expect(d.stats.cachedProjectStats(projectID: project.id, caller: owner) == nil, "roles are per user")

        // Writes move the cached counters at once.
        _ = try d.images.upload(projectID: project.id, images: [Sample.upload(seed: 1)], caller: owner)
        #expect(d.stats.cachedProjectStats(projectID: project.id, caller: viewer)?.value.imageCount == 1)

        // A revocation through the domain: the next read needs the store, which refuses.
        _ = try d.sharing.revoke(projectID: project.id, target: .userID(viewer.userID), caller: owner)
        #expect(d.stats.cachedProjectStats(projectID: project.id, caller: viewer) == nil)
        #expect(code { try d.stats.projectStats(projectID: project.id, caller: viewer) } == .notFound)

        // Another process (its own store on the same file) changing a share: same.
        _ = try d.sharing.share(projectID: project.id, grantee: .userID(viewer.userID), role: .viewer, caller: owner)
        _ = try d.stats.projectStats(projectID: project.id, caller: viewer)
        #expect(d.stats.cachedProjectStats(projectID: project.id, caller: viewer) != nil)
        let other = try Store(path: test.sqlite.path)
        _ = try other.revokeShare(projectID: project.id, userID: viewer.userID, actor: owner.userID, payload: { _ in [] })
        #expect(d.stats.cachedProjectStats(projectID: project.id, caller: viewer) == nil)
        #expect(code { try d.stats.projectStats(projectID: project.id, caller: viewer) } == .notFound)

        // A deleted project is gone for its owner too.
        _ = try d.stats.projectStats(projectID: project.id, caller: owner)
        #expect(d.stats.cachedProjectStats(projectID: project.id, caller: owner) != nil)
        _ = try d.projects.delete(projectID: project.id, caller: owner)
        #expect(d.stats.cachedProjectStats(projectID: project.id, caller: owner) == nil)
        #expect(code { try d.stats.projectStats(projectID: project.id, caller: owner) } == .notFound)
    }
}

extension CachedProjectStatsTests {
    /// What a reader keeps with a value read from memory (the server: its encoded reply).
    final class Companion: Sendable {
        let label: String
        init(_ label: String) { self.label = label }
    }

    @Test("a companion kept with cached stats or a dashboard comes back with the same value and is dropped when it moves")
    func companionsFollowTheirValue() throws {
        let test = try TestDomain()
        let (owner, viewer) = (try test.user("owner").caller, try test.user("viewer").caller)
        let d = test.domain
        let project = try d.projects.create(name: "P", description: "", caller: owner).project
        _ = try d.sharing.share(projectID: project.id, grantee: .userID(viewer.userID), role: .viewer, caller: owner)
        _ = try d.stats.projectStats(projectID: project.id, caller: viewer)
        _ = try d.stats.projectStats(projectID: project.id, caller: owner)
        let first = try #require(d.stats.cachedProjectStats(projectID: project.id, caller: viewer))
        #expect(first.companion == nil)
        d.stats.keep(Companion("0 images"), with: first)
        #expect((d.stats.cachedProjectStats(projectID: project.id, caller: viewer)?.companion as? Companion)?.label == "0 images")
        #expect((d.stats.cachedProjectStats(projectID: project.id, caller: owner)?.companion as? Companion)?.label == "0 images",
                "one per project, shared by its viewers")

        _ = try d.images.upload(projectID: project.id, images: [Sample.upload(seed: 1)], caller: owner)
        let second = try #require(d.stats.cachedProjectStats(projectID: project.id, caller: viewer))
        #expect(second.value.imageCount == 1 && second.companion == nil, "the counters moved: the companion went with them")
        d.stats.keep(Companion("stale"), with: first)
        #expect(d.stats.cachedProjectStats(projectID: project.id, caller: viewer)?.companion == nil, "kept with older counters: refused")

        let dashboard = try d.stats.dashboard(caller: viewer, timeZone: "UTC")
        let cached = try #require(d.stats.cachedDashboard(caller: viewer, timeZone: "UTC"))
        #expect(cached.value == dashboard && cached.companion == nil)
        d.stats.keep(Companion("dashboard"), with: cached, caller: viewer, timeZone: "UTC")
        #expect((d.stats.cachedDashboard(caller: viewer, timeZone: "UTC")?.companion as? Companion)?.label == "dashboard")
        #expect(d.stats.cachedDashboard(caller: viewer, timeZone: "")?.companion == nil)
        _ = try d.images.upload(projectID: project.id, images: [Sample.upload(seed: 2)], caller: owner)
        _ = try d.stats.dashboard(caller: viewer, timeZone: "UTC")
        #expect(d.stats.cachedDashboard(caller: viewer, timeZone: "UTC")?.companion == nil)
        d.stats.keep(Companion("stale"), with: cached, caller: viewer, timeZone: "UTC")
        #expect(d.stats.cachedDashboard(caller: viewer, timeZone: "UTC")?.companion == nil, "kept with an older dashboard: refused")
    }

    @Test("a viewer's role kept for a project whose counters were evicted does not answer with the old counters")
    func evictedCountersDoNotAnswer() throws {
        let test = try TestDomain { $0.statsCacheCapacity = 2 }
        let owner = try test.user("owner").caller
        let d = test.domain
        let first = try d.projects.create(name: "P1", description: "", caller: owner).project
        _ = try d.stats.projectStats(projectID: first.id, caller: owner)
        #expect(d.stats.cachedProjectStats(projectID: first.id, caller: owner) != nil)
        // Two more projects fill the cache past its capacity: it starts over.
        for name in ["P2", "P3"] { _ = try d.projects.create(name: name, description: "", caller: owner) }
        #expect(d.stats.cachedProjectStats(projectID: first.id, caller: owner) == nil)
        // A write to the evicted project is recorded afresh; the old role entry must not serve it.
        _ = try d.images.upload(projectID: first.id, images: [Sample.upload(seed: 1)], caller: owner)
        #expect(d.stats.cachedProjectStats(projectID: first.id, caller: owner) == nil, "the evicted counters (0 images) must not answer")
        #expect(try d.stats.projectStats(projectID: first.id, caller: owner).imageCount == 1)
        #expect(d.stats.cachedProjectStats(projectID: first.id, caller: owner)?.value.imageCount == 1)
    }
}

@Suite struct OtherNodesStatsTests {
    @Test("on PostgreSQL, a node's project stats and dashboard follow another node's writes (its own caches would miss them)")
    func statsFollowAnotherNodesWrites() throws {
        let test = try TestDomain(.postgres)
        let owner = try test.user("owner").caller
        let a = test.domain
        let project = try a.projects.create(name: "P", description: "", caller: owner).project
        #expect(try a.stats.projectStats(projectID: project.id, caller: owner).imageCount == 0)
        let b = try Domain(store: try StoreKind.anotherPostgresNode(url: test.location), dataDirectory: test.path)
        _ = try b.images.upload(projectID: project.id, images: [Sample.upload(seed: 1)], caller: owner)
        #expect(try a.stats.projectStats(projectID: project.id, caller: owner).imageCount == 1)
        #expect(a.stats.cachedProjectStats(projectID: project.id, caller: owner) == nil, "answered from memory")
        #expect(try a.stats.dashboard(caller: owner, timeZone: "UTC").totalImages == 1)
        _ = try b.images.upload(projectID: project.id, images: [Sample.upload(seed: 2)], caller: owner)
        #expect(a.stats.cachedDashboard(caller: owner, timeZone: "UTC") == nil, "a dashboard kept across another node's commit")
        #expect(try a.stats.dashboard(caller: owner, timeZone: "UTC").totalImages == 2)
    }
}

@Suite struct CachedDashboardTests {
    @Test("a dashboard from memory is the last one read, per user and zone, until any commit, a membership change by any process, or midnight")
    func cachedDashboardFollowsCommits() throws {
        // 10:00 UTC: eleven minutes later is still the same day.
        let test = try TestDomain(clock: FakeClock(DashboardTimeZoneTests.mar09_1000Z))
        let (owner, viewer) = (try test.user("owner").caller, try test.user("viewer").caller)
        let d = test.domain
        let project = try d.projects.create(name: "P", description: "", caller: owner).project
        _ = try d.sharing.share(projectID: project.id, grantee: .userID(viewer.userID), role: .viewer, caller: owner)
        #expect(d.stats.cachedDashboard(caller: viewer, timeZone: "UTC") == nil, "never read")
        let read = try d.stats.dashboard(caller: viewer, timeZone: "UTC")
        #expect(d.stats.cachedDashboard(caller: viewer, timeZone: "UTC")?.value == read)
        #expect(d.stats.cachedDashboard(caller: viewer, timeZone: "") == nil, "zones are keys as requested")
        #expect(d.stats.cachedDashboard(caller: owner, timeZone: "UTC") == nil, "dashboards are per user")

        // Any commit: the next read goes to the store and sees it.
        _ = try d.images.upload(projectID: project.id, images: [Sample.upload(seed: 1)], caller: owner)
        #expect(d.stats.cachedDashboard(caller: viewer, timeZone: "UTC") == nil)
        #expect(try d.stats.dashboard(caller: viewer, timeZone: "UTC").totalImages == 1)
        #expect(d.stats.cachedDashboard(caller: viewer, timeZone: "UTC")?.value.totalImages == 1)

        // A share revoked by another process (its own store on the same file).
        let other = try Store(path: test.sqlite.path)
        _ = try other.revokeShare(projectID: project.id, userID: viewer.userID, actor: owner.userID, payload: { _ in [] })
        #expect(d.stats.cachedDashboard(caller: viewer, timeZone: "UTC") == nil)
        #expect(try d.stats.dashboard(caller: viewer, timeZone: "UTC").totalProjects == 0)

        // A completion inside the throughput window: not kept (the window slides off it).
        _ = try d.segmentation.enqueue(projectID: project.id, target: .unsegmented, caller: owner)
        try test.work()
        #expect(try d.stats.dashboard(caller: owner, timeZone: "UTC").throughputPerMinute > 0)
        #expect(d.stats.cachedDashboard(caller: owner, timeZone: "UTC") == nil)
        test.clock.advance(by: 11 * 60_000)
        #expect(try d.stats.dashboard(caller: owner, timeZone: "UTC").throughputPerMinute == 0)
        #expect(d.stats.cachedDashboard(caller: owner, timeZone: "UTC")?.value.segmentedImages == 1)

        // Midnight: "today" moved, so the kept one is stale.
        test.clock.set(DashboardTimeZoneTests.mar09_1000Z + 14 * 3_600_000)
        #expect(d.stats.cachedDashboard(caller: owner, timeZone: "UTC") == nil)
    }
}
