import StoreTestSupport
import Testing
@testable import CellHub
import CellHub
import CellHubSQL
import CellHubStore

/// Each write hands its committed result to the payload encoder, and what the encoder
/// returns is what the event log holds for that revision.
@Suite struct EventPayloadsTests {
    struct Tags: EventPayloads {
        func projectCreated(_ change: ProjectCreated) -> [UInt8] { Array("created \(change.project.name)".utf8) }
        func imagesUploaded(_ change: ImagesUploaded) -> [UInt8] { Array("uploaded \(change.images.count)".utf8) }
        func imagesDeleted(_ change: ImagesDeleted) -> [UInt8] { Array("deleted \(change.deleted.count)".utf8) }
        func shareGranted(_ change: ShareGranted) -> [UInt8] { Array("shared \(change.member.role.rawValue)".utf8) }
    }

    @Test(arguments: StoreKind.allCases) func payloadsReachTheEventLog(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let owner = try test.user("owner").caller
        _ = try test.user("bob")
        let domain = try Domain(store: test.store, dataDirectory: test.path, payloads: Tags())
        let start = try test.store.currentRevision()
        let project = try domain.projects.create(name: "P", description: "", caller: owner).project
        _ = try domain.sharing.share(projectID: project.id, grantee: .userName("bob"), role: .viewer, caller: owner)
        let images = try domain.images.upload(projectID: project.id, images: [Sample.upload(seed: 1), Sample.upload(seed: 2)], caller: owner).images
        _ = try domain.images.delete(projectID: project.id, imageIDs: images.map(\.id), caller: owner)
        _ = try domain.projects.update(projectID: project.id, description: "d", caller: owner)  // default: empty
        let payloads = try test.store.events(after: start, limit: 10).map { String(decoding: $0.payload, as: UTF8.self) }
        #expect(payloads == ["created P", "shared viewer", "uploaded 2", "deleted 2", ""])
    }
}
