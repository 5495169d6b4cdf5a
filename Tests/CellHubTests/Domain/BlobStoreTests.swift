import StoreTestSupport
import Testing
@testable import CellHub
import CellHub
import CellHubCrypto
import CellHubSQL
import CellHubStore

#if canImport(Glibc)
import Glibc
#endif

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
        #expect(try d.blobs.sweep() == .swept([orphanHash]))
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

    /// Nodes sharing a blob directory: one node's sweep leaves files and temporary files of
    /// another node's upload alone while they are younger than the grace period, and removes
    /// them once older; an upload that finds its file present makes it young again.
    @Test(arguments: StoreKind.allCases) func sweepOnASharedDirectoryHonoursTheGracePeriod(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let d = test.domain
        let otherNode = try BlobStore(directory: d.blobs.directory, store: test.store, orphanGraceSeconds: 600)
        // This node's upload wrote its file and a second upload of it is still being written:
        // neither has committed.
        let content = Sample.png(42)
        let hash = SHA256.hexHash(content)
        try d.blobs.holding([hash]) { () throws(BlobError) in try d.blobs.write(content, sha256Hex: hash) }
        let file = d.blobs.path(of: hash)
        let temporary = "\(d.blobs.directory)/\(hash.prefix(2))/.tmp-\(hash.dropFirst(2))-1-x"
        #expect(FileManagerShim.create(temporary))
        #expect(try otherNode.sweep() == .swept([]))
        #expect(d.blobs.contains(sha256Hex: hash) && Self.exists(temporary))

        // An hour later: the upload found the file present (refreshing it), the temporary is old.
        Self.age(file, seconds: 3_600)
        Self.age(temporary, seconds: 3_600)
        try d.blobs.holding([hash]) { () throws(BlobError) in try d.blobs.write(content, sha256Hex: hash) }
        #expect(try otherNode.sweep() == .swept([]))
        #expect(d.blobs.contains(sha256Hex: hash) && !Self.exists(temporary))

        // Never committed and old: swept.
        Self.age(file, seconds: 3_600)
        #expect(try otherNode.sweep() == .swept([hash]))
        #expect(try test.blobFiles().isEmpty)
    }

    /// Nodes on one PostgreSQL database sweep their shared blob directory one at a time:
    /// while one holds the store's orphan-sweep lock, another node's sweep skips and leaves
    /// an orphan alone; once the lock is free, that node sweeps it.
    @Test func anotherNodesSweepSkipsWhileOneSweeps() throws {
        let test = try TestDomain(.postgres)
        let d = test.domain
        let otherStore = try StoreKind.anotherPostgresNode(url: test.location)
        let otherNode = try BlobStore(directory: d.blobs.directory, store: otherStore)
        let orphan = Sample.png(44)
        let hash = SHA256.hexHash(orphan)
        try d.blobs.holding([hash]) { () throws(BlobError) in try d.blobs.write(orphan, sha256Hex: hash) }

        let whileHeld = try test.store.withOrphanSweepLock { Result { () throws(ImageError) in try otherNode.sweep() } }
        #expect(try whileHeld?.get() == .skipped)
        #expect(d.blobs.contains(sha256Hex: hash), "the skipped sweep looked at nothing")
        #expect(try otherNode.sweep() == .swept([hash]), "the lock is free again")
        #expect(try test.blobFiles().isEmpty)
    }

    /// After its commit an upload writes back a file that went missing meanwhile (another
    /// node's delete of the last reference removed it after this upload found it present).
    @Test(arguments: StoreKind.allCases) func anUploadPutsBackAFileRemovedBeforeItsCommit(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let d = test.domain
        let content = Sample.png(43)
        let hash = SHA256.hexHash(content)
        try d.blobs.holding([hash]) { () throws(BlobError) in try d.blobs.write(content, sha256Hex: hash) }
        #expect(unlink(d.blobs.path(of: hash)) == 0)
        d.blobs.restoreIfMissing(content, sha256Hex: hash)
        #expect(try d.blobs.read(sha256Hex: hash) == content)
        #expect(d.blobs.cleanupFailures.count == 0)
    }

    private static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Sets a file's modification time `seconds` into the past.
    private static func age(_ path: String, seconds: Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var times = [timespec(tv_sec: now.tv_sec - seconds, tv_nsec: 0), timespec(tv_sec: now.tv_sec - seconds, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
    }
}
