import CellHub
import CellHubProto
import CellHubServer
import CellHubSQL
import CellHubStore
import Foundation
import RPC
import StoreTestSupport
import Testing

/// The event log as `cellhubd serve` writes it: one row per operation, whose ChangeRecord
/// names every affected image, job and user and carries the stats after the change.
@Suite struct ChangeRecordPayloadsTests {
    @Test(arguments: StoreKind.allCases) func oneRecordPerOperationWithEveryAffectedID(kind: StoreKind) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cellhub-log-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try kind.makeStore(directory: directory, clock: { SystemValues.milliseconds() }, makeID: { SystemValues.randomUUID() })
        let domain = try Domain(store: store, dataDirectory: directory, payloads: ChangeRecordPayloads())
        func caller(_ name: String) throws -> Caller {
            let user = try store.createUser(name: name, isWorker: false, tokenHash: Array(name.utf8) + Array(repeating: 0, count: 32 - name.utf8.count), payload: { _ in [] }).user
            return Caller(userID: user.id, name: user.name)
        }
        let olga = try caller("olga")
        let eddie = try caller("eddie")
        let start = try store.currentRevision()

        let project = try domain.projects.create(name: "Mitosis", description: "cells", caller: olga).project
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        // 250 images in three calls of at most 100: three upload records, each complete.
        var uploaded: [String] = []
        for call in 0..<3 {
            let uploads = (0..<(call < 2 ? 100 : 50)).map { ImageUpload(name: "c\(call)-\($0).png", contentType: "image/png", content: png + [UInt8(call), UInt8($0)]) }
            uploaded += try domain.images.upload(projectID: project.id, images: uploads, caller: olga).images.map(\.id)
        }
        let doomed = Array(uploaded[10..<130])
        _ = try domain.images.delete(projectID: project.id, imageIDs: doomed, caller: olga)
        _ = try domain.sharing.share(projectID: project.id, grantee: .userName("eddie"), role: .editor, caller: olga)
        let queued = try domain.segmentation.enqueue(projectID: project.id, target: .images(Array(uploaded[0..<5])), caller: eddie)
        _ = try domain.segmentation.cancel(.batch(queued.batchID!), caller: eddie)
        _ = try domain.sharing.revoke(projectID: project.id, target: .leave(true), caller: eddie)
        _ = try domain.projects.update(projectID: project.id, name: "Mitosis 2", caller: olga)
        _ = try domain.projects.delete(projectID: project.id, caller: olga)

        let rows = try store.events(after: start, limit: 100)
        #expect(rows.map(\.kind) == [
            .projectCreated, .imagesUploaded, .imagesUploaded, .imagesUploaded, .imagesDeleted, .shareGranted,
            .segmentationQueued, .segmentationCancelled, .shareRevoked, .projectUpdated, .projectDeleted,
        ])
        let records = try rows.map { try ChangeRecord(serializedBytes: $0.payload) }
        #expect(records[0].projectName == "Mitosis" && records[0].projectDescription == "cells" && records[0].stats.first?.imageCount == 0)
        #expect(records[1...3].flatMap(\.imageIds) == uploaded, "every uploaded id, in order, once")
        #expect(records[3].previousImageCount == 200 && records[3].stats.first?.imageCount == 250 && records[3].imageNames.count == 50)
        #expect(records[4].imageIds == doomed && records[4].imageNames.count == 120 && records[4].previousImageCount == 250)
        #expect(records[4].stats.first?.imageCount == 130 && records[4].bytes > 0)
        #expect(records[5].users.map(\.userName) == ["eddie"] && records[5].role == .editor && records[5].previousRole == .unspecified)
        #expect(records[6].imageIds == Array(uploaded[0..<5]) && records[6].jobIds.count == 5 && records[6].batchId == queued.batchID)
        #expect(records[6].stats.first?.queuedCount == 5)
        #expect(records[7].jobIds == records[6].jobIds && records[7].stats.first?.queuedCount == 0)
        #expect(records[8].users.map(\.userName) == ["eddie"] && records[8].left && records[8].role == .editor)
        #expect(records[9].projectName == "Mitosis 2" && records[9].changedFields == ["name"])
        #expect(records[10].users.map(\.userName) == ["olga"] && records[10].previousImageCount == 130 && records[10].stats.isEmpty)
    }
}
