import StoreTestSupport
import Testing
@testable import CellHub
import CellHub
import CellHubCrypto
import CellHubSQL
import CellHubStore

@Suite struct BlobStoreTests {
    @Test(arguments: StoreKind.allCases) func identicalContentSharesOneFile(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let owner = try test.user("owner").caller
        let d = test.domain
        let p1 = try d.projects.create(name: "P1", description: "", caller: owner).project
        let p2 = try d.projects.create(name: "P2", description: "", caller: owner).project
        let same = Sample.upload(seed: 5)
        let a = try d.images.upload(projectID: p1.id, images: [same, same], caller: owner).images
        let b = try d.images.upload(projectID: p2.id, images: [same], caller: owner).images
        let hash = SHA256.hexHash(same.content)
        #expect(try test.blobFiles() == [hash])
        #expect(d.blobs.path(of: hash).hasSuffix("/blobs/\(hash.prefix(2))/\(hash.dropFirst(2))"))
        // Deleting some references keeps the file; the last one removes it.
        _ = try d.images.delete(imageID: a[0].id, caller: owner)
        _ = try d.projects.delete(projectID: p1.id, caller: owner)
        #expect(try test.blobFiles() == [hash])
        #expect(try d.images.content(imageID: b[0].id, caller: owner).content == same.content)
        _ = try d.images.delete(projectID: p2.id, imageIDs: [b[0].id], caller: owner)
        #expect(try test.blobFiles().isEmpty)
        #expect(try test.store.checkConsistency().isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func deletingAProjectRemovesItsFiles(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let owner = try test.user("owner").caller
        let d = test.domain
        let project = try d.projects.create(name: "P", description: "", caller: owner).project
        _ = try d.images.upload(projectID: project.id, images: (0..<3).map { Sample.upload(seed: $0) }, caller: owner)
        #expect(try test.blobFiles().count == 3)
        let deleted = try d.projects.delete(projectID: project.id, caller: owner)
        #expect(deleted.deletedImageCount == 3 && deleted.orphanedBlobs.count == 3)
        #expect(try test.blobFiles().isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func sweepRemovesOrphansOnly(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let owner = try test.user("owner").caller
        let d = test.domain
        let project = try d.projects.create(name: "P", description: "", caller: owner).project
        let kept = try d.images.upload(projectID: project.id, images: [Sample.upload(seed: 1)], caller: owner).images[0]
        // A crash between the file write and the commit leaves a file (and maybe a temporary).
        let orphan = Sample.png(99)
        let orphanHash = SHA256.hexHash(orphan)
        try d.blobs.holding([orphanHash]) { () throws(BlobError) in try d.blobs.write(orphan, sha256Hex: orphanHash) }
        let temporary = "\(d.blobs.directory)/\(orphanHash.prefix(2))/.tmp-\(orphanHash.dropFirst(2))-x"
        #expect(FileManagerShim.create(temporary))
        #expect(try test.blobFiles().count == 3)
        let removed = try d.blobs.sweep()
        #expect(removed == [orphanHash])
        #expect(try test.blobFiles() == [kept.sha256Hex])
        #expect(try d.images.content(imageID: kept.id, caller: owner).sha256Hex == kept.sha256Hex)
    }

    /// A hash held by an in-flight upload is never removed, even when unreferenced.
    @Test(arguments: StoreKind.allCases) func heldHashesSurviveDeletion(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let d = test.domain
        let content = Sample.png(3)
        let hash = SHA256.hexHash(content)
        try d.blobs.holding([hash]) { () throws(BlobError) in
            try d.blobs.write(content, sha256Hex: hash)
            #expect(d.blobs.deleteUnreferenced([hash]) == 0)
            #expect(d.blobs.contains(sha256Hex: hash))
        }
        #expect(d.blobs.deleteUnreferenced([hash]) == 1)
        #expect(!d.blobs.contains(sha256Hex: hash))
    }
}
