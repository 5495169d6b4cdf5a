import CellHub
@testable import CellHubSQL
@testable import CellHubStore
import StoreTestSupport
import Testing

@Suite("Store: images, blobs, idempotency")
struct ImagesTests {
    @Test("an upload inserts every image, moves the counters once and shares blobs by content", arguments: StoreKind.allCases)
    func upload(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let p = try t.store.createProject(ownerID: ada.id, name: "p", description: "", payload: tag("c")).project
        t.clock.advance(by: 60_000)
        // Three images, two with the same content.
        let result = try t.store.uploadImages(
            projectID: p.id, uploaderID: ada.id, images: t.images(3, sizes: 10, sha: { $0 == 2 ? 0 : $0 }), payload: tag("u"))
        guard case .stored(let uploaded) = result else { Issue.record("expected stored"); return }
        #expect(uploaded.images.map(\.name) == ["img-0.png", "img-1.png", "img-2.png"])
        #expect(uploaded.images.allSatisfy { $0.status == .noSegmentation && $0.uploadedBy == ada.ref && $0.uploadedAtMs == t.clock.now })
        #expect(uploaded.previousImageCount == 0)
        let c = uploaded.counters
        #expect(c.imageCount == 3 && c.noSegmentation == 3 && c.totalBytes == 30 && c.lastImageAddedAtMs == t.clock.now)
        #expect(c.revision == uploaded.revision && c.updatedAtMs == t.clock.now)
        #expect(try t.store.counters(projectID: p.id) == c)
        #expect(try t.raw.queryOne("SELECT ref_count FROM blobs WHERE sha256 = ?", TestStore.sha(0)) { $0.int64(0) } == 2)
        #expect(try t.store.image(id: uploaded.images[1].id) == uploaded.images[1])
        #expect(try t.store.checkConsistency() == [])
    }

    @Test("an upload larger than one multi-row INSERT keeps every image in order and counts each content's references", arguments: StoreKind.allCases)
    func uploadAcrossStatements(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let p = try t.store.createProject(ownerID: ada.id, name: "p", description: "", payload: tag("c")).project
        // Content 0 already stored once, then 120 images over three statements: content 0 in
        // every one of them (an existing row), content 1 in two, the rest unique.
        _ = try t.store.uploadImages(projectID: p.id, uploaderID: ada.id, images: t.images(1, sizes: 10, sha: { _ in 0 }), payload: tag("u"))
        let images = t.images(120, sizes: 10, sha: { n in n % 50 == 7 ? 0 : (n == 3 || n == 64 ? 1 : n + 100) })
        guard case .stored(let uploaded) = try t.store.uploadImages(projectID: p.id, uploaderID: ada.id, images: images, payload: tag("u"))
        else { Issue.record("expected stored"); return }
        #expect(uploaded.images.map(\.name) == images.map(\.name))
        #expect(uploaded.counters.imageCount == 121 && uploaded.counters.totalBytes == 1_210)
        let listed = try t.raw.query("SELECT id FROM images WHERE project_id = ? ORDER BY uploaded_at_ms, id", p.id) { $0.string(0) }
        #expect(listed.count == 121 && Set(uploaded.images.map(\.id)).isSubset(of: Set(listed)))
        #expect(try t.raw.queryOne("SELECT ref_count FROM blobs WHERE sha256 = ?", TestStore.sha(0)) { $0.int64(0) } == 4)
        #expect(try t.raw.queryOne("SELECT ref_count FROM blobs WHERE sha256 = ?", TestStore.sha(1)) { $0.int64(0) } == 2)
        #expect(try t.raw.queryOne("SELECT count(*) FROM blobs") { $0.int64(0) } == 2 + 120 - 3 - 2)
        #expect(try t.store.checkConsistency() == [])
    }

    @Test("deleting more images than one statement takes: every one found, in the order asked, duplicates and strangers aside", arguments: StoreKind.allCases)
    func deleteAcrossStatements(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let p = try t.store.createProject(ownerID: ada.id, name: "p", description: "", payload: tag("c")).project
        let other = try t.store.createProject(ownerID: ada.id, name: "q", description: "", payload: tag("c")).project
        guard case .stored(let uploaded) = try t.store.uploadImages(
            projectID: p.id, uploaderID: ada.id, images: t.images(130, sizes: 10, sha: { $0 % 7 }), payload: tag("u")),
              case .stored(let elsewhere) = try t.store.uploadImages(
            projectID: other.id, uploaderID: ada.id, images: t.images(1, sizes: 10, sha: { _ in 99 }), payload: tag("u"))
        else { Issue.record("expected stored"); return }
        // 120 of the 130, newest first, each asked twice, plus an unknown id and another project's image.
        let chosen = Array(uploaded.images.map(\.id).reversed().prefix(120))
        let asked = chosen.flatMap { [$0, $0] } + ["nope", elsewhere.images[0].id]
        let deleted = try t.store.deleteImages(projectID: p.id, ids: asked, allowMissing: true, actor: ada.id, payload: tag("d"))
        #expect(deleted.deleted.map(\.id) == chosen)
        #expect(deleted.missingIDs == ["nope", elsewhere.images[0].id])
        #expect(deleted.counters.imageCount == 10 && deleted.freedBytes == 1_200)
        #expect(try t.raw.queryOne("SELECT count(*) FROM images WHERE project_id = ?", p.id) { $0.int64(0) } == 10)
        #expect(deleted.orphanedBlobs == [], "the 10 left still reference all 7 contents")
        #expect(try t.store.checkConsistency() == [])
    }

    @Test("image lists page newest first with totals, filter by status and by name", arguments: StoreKind.allCases)
    func list(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let p = try t.store.createProject(ownerID: ada.id, name: "p", description: "", payload: tag("c")).project
        var all: [ImageRecord] = []
        for batch in 0..<4 {
            t.clock.advance(by: 1_000)
            var images = t.images(3, sha: { batch * 3 + $0 })
            images[0].name = "Kern-\(batch).TIFF"
            guard case .stored(let uploaded) = try t.store.uploadImages(projectID: p.id, uploaderID: ada.id, images: images, payload: tag("u"))
            else { return }
            all += uploaded.images
        }
        _ = try t.store.enqueue(EnqueueRequest(projectID: p.id, target: .images([all[0].id, all[5].id]), model: "m", requestedBy: ada.id), payload: tag("q"))
        let expected = all.sorted { ($0.uploadedAtMs, $0.id) > ($1.uploadedAtMs, $1.id) }.map(\.id)
        var seen: [String] = []
        var cursor: ImageCursor?
        repeat {
            let page = try t.store.images(projectID: p.id, limit: 5, after: cursor)
            #expect(page.totalCount == 12)
            seen += page.items.map(\.id)
            cursor = page.next
        } while cursor != nil
        #expect(seen == expected)

        let queued = try t.store.images(projectID: p.id, statuses: [.queued], limit: 50)
        #expect(Set(queued.items.map(\.id)) == [all[0].id, all[5].id] && queued.totalCount == 2)
        let both = try t.store.images(projectID: p.id, statuses: [.queued, .noSegmentation], limit: 1)
        #expect(both.totalCount == 12 && both.items.count == 1 && both.next != nil)
        let named = try t.store.images(projectID: p.id, nameContains: "kern-", limit: 3)
        #expect(named.totalCount == 4 && named.items.count == 3 && named.items.allSatisfy { $0.name.hasPrefix("Kern-") })
        let namedQueued = try t.store.images(projectID: p.id, statuses: [.queued], nameContains: "KERN", limit: 50)
        #expect(namedQueued.items.map(\.id) == [all[0].id] && namedQueued.totalCount == 1)
    }

    @Test("an idempotency key replays the stored response, refuses another request, and expires", arguments: StoreKind.allCases)
    func idempotency(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let p = try t.store.createProject(ownerID: ada.id, name: "p", description: "", payload: tag("c")).project
        let q = try t.store.createProject(ownerID: ada.id, name: "q", description: "", payload: tag("c")).project
        let key = IdempotencyKey(key: "k1", requestHash: [1, 2, 3])
        let first = try t.store.uploadImages(
            projectID: p.id, uploaderID: ada.id, images: t.images(2), idempotency: key,
            response: { Array("ids:\($0.images.map(\.id))".utf8) }, payload: tag("u"))
        guard case .stored(let stored) = first else { Issue.record("expected stored"); return }
        let revision = try t.store.currentRevision()

        let replay = try t.store.uploadImages(projectID: p.id, uploaderID: ada.id, images: t.images(2), idempotency: key, payload: tag("u"))
        #expect(replay == .replayed(response: Array("ids:\(stored.images.map(\.id))".utf8)))
        #expect(try t.store.currentRevision() == revision, "a replay appends no event")
        #expect(try t.store.counters(projectID: p.id)?.imageCount == 2)

        #expect(throws: StoreError.idempotencyKeyReused("k1")) {
            try t.store.uploadImages(
                projectID: p.id, uploaderID: ada.id, images: t.images(1), idempotency: IdempotencyKey(key: "k1", requestHash: [9]),
                payload: tag("u"))
        }
        // The key is scoped per project.
        guard case .stored = try t.store.uploadImages(projectID: q.id, uploaderID: ada.id, images: t.images(1), idempotency: key, payload: tag("u"))
        else { Issue.record("another project's key is independent"); return }
        // After the window the key is forgotten.
        t.clock.advance(by: 24 * 3_600_000 + 1)
        guard case .stored = try t.store.uploadImages(projectID: p.id, uploaderID: ada.id, images: t.images(2), idempotency: key, payload: tag("u"))
        else { Issue.record("an expired key must not replay"); return }
        #expect(try t.store.counters(projectID: p.id)?.imageCount == 4)
        #expect(try t.store.pruneIdempotencyKeys(createdBefore: t.clock.now) == 1)
    }

    @Test("deleting images moves counters down, cancels their jobs and reports blobs nobody references", arguments: StoreKind.allCases)
    func delete(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let p = try t.store.createProject(ownerID: ada.id, name: "p", description: "", payload: tag("c")).project
        let q = try t.store.createProject(ownerID: ada.id, name: "q", description: "", payload: tag("c")).project
        guard case .stored(let up) = try t.store.uploadImages(projectID: p.id, uploaderID: ada.id, images: t.images(5, sizes: 7), payload: tag("u")),
              case .stored = try t.store.uploadImages(projectID: q.id, uploaderID: ada.id, images: t.images(1), payload: tag("u"))
        else { Issue.record("upload"); return }
        let ids = up.images.map(\.id)
        let queued = try t.store.enqueue(EnqueueRequest(projectID: p.id, target: .images([ids[0], ids[1]]), model: "m", requestedBy: ada.id), payload: tag("q"))
        let claimed = try t.store.claimJobs(workerName: "w", models: ["m"], limit: 1, leaseDurationMs: 60_000, payload: tag("claim"))
        #expect(claimed.assignments.map(\.job.imageID) == [ids[0]])

        // One image: its processing job is cancelled with its lease reported.
        let one = try t.store.deleteImage(id: ids[0], actor: ada.id, payload: tag("d"))
        #expect(one.deleted.map(\.id) == [ids[0]] && one.freedBytes == 7 && one.previousImageCount == 5)
        #expect(one.cancelledJobs.map(\.jobID) == [queued.jobs[0].jobID] && one.cancelledJobs[0].leaseID != nil)
        #expect(one.orphanedBlobs == [], "project q still references content 0")
        #expect(try t.store.job(id: queued.jobs[0].jobID)?.status == .cancelled)
        #expect(throws: StoreError.notFound(.image, id: ids[0])) { try t.store.deleteImage(id: ids[0], actor: ada.id, payload: tag("d")) }

        // A batch with a missing id fails as a whole unless missing ids are allowed.
        let before = try t.store.counters(projectID: p.id)
        #expect(throws: StoreError.imagesNotFound(["ghost"])) {
            try t.store.deleteImages(projectID: p.id, ids: [ids[1], "ghost"], allowMissing: false, actor: ada.id, payload: tag("d"))
        }
        #expect(try t.store.counters(projectID: p.id) == before)
        let batch = try t.store.deleteImages(
            projectID: p.id, ids: [ids[1], "ghost", ids[2], ids[1]], allowMissing: true, actor: ada.id, payload: tag("d"))
        #expect(batch.deleted.map(\.id) == [ids[1], ids[2]] && batch.missingIDs == ["ghost"] && batch.freedBytes == 14)
        #expect(batch.cancelledJobs.count == 1 && batch.cancelledJobs[0].leaseID == nil, "a queued job has no lease")
        #expect(batch.orphanedBlobs == [TestStore.sha(1), TestStore.sha(2)])
        #expect(batch.counters.imageCount == 2 && batch.counters.queued == 0 && batch.counters.totalBytes == 14)
        let none = try t.store.deleteImages(projectID: p.id, ids: ["ghost"], allowMissing: true, actor: ada.id, payload: tag("d"))
        #expect(none.revision == nil && none.deleted.isEmpty)
        #expect(try t.store.queueStats().queued == 0 && t.store.queueStats().processing == 0)
        #expect(try t.store.checkConsistency() == [])
    }

    @Test("deleting a project cascades everything and releases only its own blobs", arguments: StoreKind.allCases)
    func deleteProject(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let bob = try t.user("bob")
        let p = try t.store.createProject(ownerID: ada.id, name: "p", description: "", payload: tag("c")).project
        let q = try t.store.createProject(ownerID: ada.id, name: "q", description: "", payload: tag("c")).project
        _ = try t.store.share(projectID: p.id, userID: bob.id, role: .editor, actor: ada.id, payload: tag("s"))
        _ = try t.store.uploadImages(projectID: p.id, uploaderID: bob.id, images: t.images(4), idempotency: IdempotencyKey(key: "k", requestHash: [1]), payload: tag("u"))
        _ = try t.store.uploadImages(projectID: q.id, uploaderID: ada.id, images: t.images(1, sha: { _ in 3 }), payload: tag("u"))
        _ = try t.store.enqueue(EnqueueRequest(projectID: p.id, target: .unsegmented, model: "m", requestedBy: ada.id), payload: tag("q"))
        _ = try t.store.claimJobs(workerName: "w", models: ["m"], limit: 1, leaseDurationMs: 1_000, payload: tag("claim"))

        let deleted = try t.store.deleteProject(id: p.id, actor: ada.id, payload: tag("dp"))
        #expect(deleted.deletedImageCount == 4 && deleted.cancelledJobs.count == 4)
        #expect(deleted.cancelledJobs.count { $0.leaseID != nil } == 1)
        #expect(deleted.formerMembers.map(\.user.name) == ["ada", "bob"])
        #expect(deleted.orphanedBlobs == [TestStore.sha(0), TestStore.sha(1), TestStore.sha(2)])
        #expect(try t.store.project(id: p.id) == nil && t.store.counters(projectID: p.id) == nil)
        for table in ["images", "project_members", "segmentation_jobs", "project_activity_counters", "idempotency_keys"] {
            #expect(try t.raw.queryOne("SELECT count(*) FROM \(table) WHERE project_id = ?", p.id) { $0.int64(0) } == 0, "\(table)")
        }
        #expect(try t.store.queueStats() == QueueStats(queued: 0, processing: 0, scopeQueued: 0, scopeProcessing: 0, position: 0))
        #expect(try t.store.isBlobReferenced(sha256Hex: TestStore.sha(3)) && !t.store.isBlobReferenced(sha256Hex: TestStore.sha(0)))
        #expect(try t.store.checkConsistency() == [])
    }
}
