import StoreTestSupport
import Testing
@testable import CellHub
import CellHub
import CellHubSQL
import CellHubStore

@Suite struct SegmentationServiceTests {
    @Test(arguments: StoreKind.allCases) func enqueueValidationAndDefaults(kind: StoreKind) throws {
        let test = try TestDomain { $0.queueLimit = 3 }
        let owner = try test.user("owner").caller
        let d = test.domain
        let project = try d.projects.create(name: "P", description: "", caller: owner).project
        let images = try d.images.upload(projectID: project.id, images: (0..<4).map { Sample.upload(seed: $0) }, caller: owner).images
        #expect(code { try d.segmentation.enqueue(projectID: project.id, target: nil, caller: owner) } == .invalidArgument)
        #expect(code { try d.segmentation.enqueue(projectID: project.id, target: .images([]), caller: owner) } == .invalidArgument)
        #expect(code { try d.segmentation.enqueue(projectID: project.id, target: .unsegmented, priority: 11, caller: owner) } == .invalidArgument)
        #expect(code { try d.segmentation.enqueue(projectID: project.id, target: .unsegmented, priority: -1, caller: owner) } == .invalidArgument)
        #expect(code { try d.segmentation.enqueue(projectID: project.id, target: .unsegmented, model: "bad model", caller: owner) } == .invalidArgument)
        #expect(code { try d.segmentation.enqueue(projectID: project.id, target: .images(["00000000-0000-4000-8000-00000000beef"]), caller: owner) } == .notFound)
        // Over the queue limit: nothing queued.
        #expect(code { try d.segmentation.enqueue(projectID: project.id, target: .unsegmented, caller: owner) } == .resourceExhausted)
        let queued = try d.segmentation.enqueue(projectID: project.id, target: .images([images[0].id, images[1].id]), priority: 10, caller: owner)
        #expect(queued.jobs.count == 2 && queued.firstQueuePosition == 1)
        #expect(try test.store.job(id: queued.jobs[0].jobID)?.model == "builtin-otsu")
        let stats = try d.stats.projectStats(projectID: project.id, caller: owner)
        #expect(stats.queuedCount == 2 && stats.noSegmentationCount == 2)
    }

    @Test(arguments: StoreKind.allCases) func cancelRules(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let owner = try test.user("owner").caller
        let d = test.domain
        let project = try d.projects.create(name: "P", description: "", caller: owner).project
        _ = try d.images.upload(projectID: project.id, images: (0..<3).map { Sample.upload(seed: $0) }, caller: owner)
        let first = try d.segmentation.enqueue(projectID: project.id, target: .unsegmented, caller: owner)
        try test.work()
        let doneJob = first.jobs[0].jobID
        // A finished job listed by id: FAILED_PRECONDITION, nothing cancelled.
        _ = try d.segmentation.enqueue(projectID: project.id, target: .unsegmented, force: true, caller: owner)
        let open = try d.segmentation.queueStats(projectID: project.id, caller: owner)
        #expect(open.scopeQueued == 3)
        #expect(code { try d.segmentation.cancel(.jobs([doneJob]), caller: owner) } == .failedPrecondition)
        #expect(code { try d.segmentation.cancel(nil, caller: owner) } == .invalidArgument)
        // A batch whose jobs all finished matches nothing; unknown and invisible batches are NOT_FOUND.
        #expect(try d.segmentation.cancel(.batch(first.batchID!), caller: owner).cancelled.isEmpty)
        let stranger = try test.user("stranger").caller
        #expect(code { try d.segmentation.cancel(.batch(first.batchID!), caller: stranger) } == .notFound)
        #expect(code { try d.segmentation.cancel(.batch(Store.randomUUID()), caller: owner) } == .notFound)
        #expect(code { try d.segmentation.cancel(.batch("not an id!"), caller: owner) } == .invalidArgument)
        let cancelled = try d.segmentation.cancel(.project(project.id), caller: owner)
        #expect(cancelled.cancelled.count == 3)
        let stats = try d.stats.projectStats(projectID: project.id, caller: owner)
        #expect(stats.queuedCount == 0 && stats.noSegmentationCount == 3 && stats.imageCount == 3)
    }
}
