import StoreTestSupport
import Testing
import TestSupport
@testable import CellHub
import CellHub
import CellHubCrypto
import CellHubSQL
import CellHubStore

@Suite struct ImageServiceTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let label: String
        let images: [ImageUpload]
        let code: DomainErrorCode
        /// A fragment the message must contain (it says what is wrong).
        let says: String

        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(label: "no images", images: [], code: .invalidArgument, says: "must not be empty"),
        Case(label: "101 images", images: (0...100).map { Sample.upload(seed: $0, size: 16) }, code: .invalidArgument, says: "at most 100"),
        Case(label: "empty name", images: [Sample.upload("")], code: .invalidArgument, says: "images[0].name must not be empty"),
        Case(label: "blank name", images: [Sample.upload("   ")], code: .invalidArgument, says: "name must not be empty"),
        Case(label: "control character", images: [Sample.upload("a\u{7}b.png")], code: .invalidArgument, says: "control characters"),
        Case(label: "slash", images: [Sample.upload("dir/a.png")], code: .invalidArgument, says: "'/'"),
        Case(label: "long name", images: [Sample.upload(String(repeating: "x", count: 256))], code: .invalidArgument, says: "longer than 255"),
        Case(label: "second image bad", images: [Sample.upload(), Sample.upload("")], code: .invalidArgument, says: "images[1]"),
        Case(label: "unknown type", images: [ImageUpload(name: "a.gif", contentType: "image/gif", content: Sample.png(0))],
             code: .invalidArgument, says: "is not one of"),
        Case(label: "empty content", images: [ImageUpload(name: "a.png", contentType: "image/png", content: [])],
             code: .invalidArgument, says: "content is empty"),
        Case(label: "wrong magic", images: [ImageUpload(name: "a.png", contentType: "image/png", content: Array("hello world".utf8))],
             code: .invalidArgument, says: "unrecognised magic bytes"),
        Case(label: "jpeg declared as png", images: [ImageUpload(name: "a.png", contentType: "image/png", content: Sample.jpegMagic + [1, 2, 3])],
             code: .invalidArgument, says: "image/jpeg by its magic bytes"),
        Case(label: "tiff declared as pgm", images: [ImageUpload(name: "a.pgm", contentType: "image/x-portable-graymap", content: Sample.tiffMagic + [1])],
             code: .invalidArgument, says: "image/tiff by its magic bytes"),
        Case(label: "bad sha256", images: [ImageUpload(name: "a.png", contentType: "image/png", content: Sample.png(0), sha256Hex: String(repeating: "0", count: 64))],
             code: .invalidArgument, says: "does not match"),
        Case(label: "image over the per-image limit", images: [Sample.upload(size: 1_025)], code: .invalidArgument, says: "over the image size limit"),
        Case(label: "call over the per-call limit", images: (0..<3).map { Sample.upload(seed: $0, size: 1_000) },
             code: .resourceExhausted, says: "per-call limit"),
    ]

    /// Limits shrunk (1 KiB per image, 2 KiB per call) so the table stays small and fast.
    static func domain() throws -> TestDomain {
        try TestDomain { options in
            options.maxImageBytes = 1_024
            options.maxUploadBytes = 2_048
        }
    }

    @Test(arguments: cases)
    func uploadValidation(_ testCase: Case) throws {
        let test = try Self.domain()
        let owner = try test.user("owner").caller
        let project = try test.domain.projects.create(name: "P", description: "", caller: owner).project
        let error = domainError { try test.domain.images.upload(projectID: project.id, images: testCase.images, caller: owner) }
        #expect(error?.code == testCase.code)
        #expect(error?.message.contains(testCase.says) == true, "message: \(error?.message ?? "none")")
        // Nothing stored, no file left behind.
        #expect(try test.store.counters(projectID: project.id)?.imageCount == 0)
        #expect(try test.blobFiles().isEmpty)
    }

    @Test(arguments: [("image/png", Sample.pngMagic), ("image/jpeg", Sample.jpegMagic), ("image/tiff", Sample.tiffMagic),
                      ("image/x-portable-graymap", Sample.pgmMagic)])
    func acceptsEveryFormat(contentType: String, magic: [UInt8]) throws {
        let test = try Self.domain()
        let owner = try test.user("owner").caller
        let project = try test.domain.projects.create(name: "P", description: "", caller: owner).project
        let content = magic + [1, 2, 3]
        let sha = SHA256.hexHash(content)
        let stored = try test.domain.images.upload(
            projectID: project.id, images: [ImageUpload(name: "x", contentType: contentType, content: content, sha256Hex: sha.uppercased())],
            caller: owner)
        #expect(stored.images[0].sha256Hex == sha && stored.images[0].contentType == contentType)
        let read = try test.domain.images.content(imageID: stored.images[0].id, caller: owner)
        #expect(read.content == content && read.sha256Hex == sha && read.contentType == contentType && read.sizeBytes == Int64(content.count))
    }

    @Test(arguments: StoreKind.allCases) func idempotentReplay(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let owner = try test.user("owner").caller
        let editor = try test.user("editor").caller
        let d = test.domain
        let project = try d.projects.create(name: "P", description: "", caller: owner).project
        _ = try d.sharing.share(projectID: project.id, grantee: .userID(editor.userID), role: .editor, caller: owner)
        let batch = [Sample.upload("a.png", seed: 1), Sample.upload("b.png", seed: 2)]
        let first = try d.images.upload(projectID: project.id, images: batch, idempotencyKey: "key-1", caller: editor)
        #expect(!first.replayed && first.stored != nil)
        // Status changes later do not change the replay: it answers what the first call did.
        _ = try d.segmentation.enqueue(projectID: project.id, target: .unsegmented, caller: owner)
        test.clock.advance(by: 60_000)
        let again = try d.images.upload(projectID: project.id, images: batch, idempotencyKey: "key-1", caller: editor)
        #expect(again.replayed && again.stored == nil)
        #expect(again.images == first.images)
        #expect(try d.stats.projectStats(projectID: project.id, caller: owner).imageCount == 2)
        // Same key, other request: refused. Other caller, same key: a new upload.
        #expect(code { try d.images.upload(projectID: project.id, images: [batch[0]], idempotencyKey: "key-1", caller: editor) } == .failedPrecondition)
        let owners = try d.images.upload(projectID: project.id, images: batch, idempotencyKey: "key-1", caller: owner)
        #expect(!owners.replayed)
        #expect(try d.stats.projectStats(projectID: project.id, caller: owner).imageCount == 4)
        #expect(code { try d.images.upload(projectID: project.id, images: batch, idempotencyKey: "bad key", caller: owner) } == .invalidArgument)
    }

    @Test(arguments: StoreKind.allCases) func pageTokens(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let owner = try test.user("owner").caller
        let other = try test.user("other").caller
        let d = test.domain
        var projectIDs: [String] = []
        for index in 0..<7 {
            test.clock.advance(by: index % 2 == 0 ? 0 : 1)  // ties broken by id
            projectIDs.append(try d.projects.create(name: "Project \(index)", description: "", caller: owner).project.id)
        }
        _ = try d.projects.create(name: "Unrelated", description: "", caller: owner)
        // Round trip: pages of 3 walk every match exactly once, newest first.
        var seen: [String] = []
        var token = ""
        var pages = 0
        repeat {
            let page = try d.projects.list(caller: owner, pageSize: 3, pageToken: token, nameContains: "project")
            #expect(page.totalSize == 7)
            seen += page.projects.map(\.id)
            token = page.nextPageToken
            pages += 1
        } while !token.isEmpty
        #expect(pages == 3)
        #expect(Set(seen) == Set(projectIDs) && seen.count == 7)
        let first = try d.projects.list(caller: owner, pageSize: 3, nameContains: "project")
        // Tampered (one character changed), mismatched filters, another caller, garbage.
        var tampered = Array(first.nextPageToken)
        tampered[tampered.count / 2] = tampered[tampered.count / 2] == "A" ? "B" : "A"
        #expect(code { try d.projects.list(caller: owner, pageSize: 3, pageToken: String(tampered), nameContains: "project") } == .invalidArgument)
        #expect(code { try d.projects.list(caller: owner, pageSize: 3, pageToken: first.nextPageToken, nameContains: "proj") } == .invalidArgument)
        #expect(code { try d.projects.list(caller: owner, pageSize: 3, pageToken: first.nextPageToken, filter: .owned, nameContains: "project") } == .invalidArgument)
        #expect(code { try d.projects.list(caller: other, pageSize: 3, pageToken: first.nextPageToken, nameContains: "project") } == .invalidArgument)
        #expect(code { try d.projects.list(caller: owner, pageToken: "not a token!") } == .invalidArgument)
        #expect(code { try d.projects.list(caller: owner, pageSize: -1) } == .invalidArgument)
        // A different page size with the same filters continues the walk.
        #expect(try d.projects.list(caller: owner, pageSize: 10, pageToken: first.nextPageToken, nameContains: "project").projects.count == 4)

        // Images: status filter is part of the token.
        let project = projectIDs[0]
        _ = try d.images.upload(projectID: project, images: (0..<5).map { Sample.upload("i\($0).png", seed: $0) }, caller: owner)
        var imageIDs: [String] = []
        token = ""
        repeat {
            let page = try d.images.list(projectID: project, caller: owner, pageSize: 2, pageToken: token, statuses: [.noSegmentation])
            imageIDs += page.images.map(\.id)
            token = page.nextPageToken
        } while !token.isEmpty
        #expect(Set(imageIDs).count == 5)
        let imagePage = try d.images.list(projectID: project, caller: owner, pageSize: 2)
        #expect(code { try d.images.list(projectID: project, caller: owner, pageSize: 2, pageToken: imagePage.nextPageToken, statuses: [.queued]) } == .invalidArgument)
        #expect(code { try d.images.list(projectID: projectIDs[1], caller: owner, pageSize: 2, pageToken: imagePage.nextPageToken) } == .invalidArgument)
    }

    @Test func base64urlRoundTrip() {
        var random = SeededRandom(seed: 7)
        for length in 0..<40 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
        }
        #expect(Base64URL.decode("A") == nil)
        #expect(Base64URL.decode("AB") == nil)  // non-canonical trailing bits
    }

    @Test(arguments: StoreKind.allCases) func deleteBatchIsOneOperation(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let owner = try test.user("owner").caller
        let d = test.domain
        let project = try d.projects.create(name: "P", description: "", caller: owner).project
        let images = try d.images.upload(projectID: project.id, images: (0..<4).map { Sample.upload(seed: $0) }, caller: owner).images
        let missing = "00000000-0000-4000-8000-00000000beef"
        #expect(code { try d.images.delete(projectID: project.id, imageIDs: [images[0].id, missing], caller: owner) } == .notFound)
        #expect(code { try d.images.delete(projectID: project.id, imageIDs: [], caller: owner) } == .invalidArgument)
        #expect(code { try d.images.delete(projectID: project.id, imageIDs: ["nope"], caller: owner) } == .invalidArgument)
        let before = try test.store.currentRevision()
        let deleted = try d.images.delete(
            projectID: project.id, imageIDs: [images[0].id, images[1].id, images[0].id, missing], allowMissing: true, caller: owner)
        #expect(deleted.deleted.count == 2 && deleted.missingIDs == [missing])
        #expect(try test.store.currentRevision() == before + 1)
        let stats = try d.stats.projectStats(projectID: project.id, caller: owner)
        #expect(stats.imageCount == 2 && stats.totalBytes == 128)
    }
}
