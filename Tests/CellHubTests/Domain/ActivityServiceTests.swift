import StoreTestSupport
import Testing
@testable import CellHub
import CellHub
import CellHubSQL
import CellHubStore

/// The activity feed: who gets which entry for each change (the members of that moment,
/// never the actor's own change as a shared update), what the entries say, and paging.
@Suite struct ActivityServiceTests {
    /// (kind, activity, project name) of a user's whole feed, newest first.
    private func feed(_ d: Domain, _ caller: Caller, project: String = "") throws -> [ActivityEntry] {
        try d.activity.list(caller: caller, projectID: project, pageSize: 500).entries
    }

    @Test(arguments: StoreKind.allCases) func entriesGoToTheMembersOfTheMoment(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let d = test.domain
        let owner = try test.user("olga").caller
        let editor = try test.user("eddie").caller
        let viewer = try test.user("vera").caller
        let stranger = try test.user("sam").caller

        let project = try d.projects.create(name: "Mitosis", description: "", caller: owner).project
        // Before the shares: only the owner hears about this upload.
        _ = try d.images.upload(projectID: project.id, images: [Sample.upload("early.png", seed: 1)], caller: owner)
        _ = try d.sharing.share(projectID: project.id, grantee: .userName("eddie"), role: .editor, caller: owner)
        _ = try d.sharing.share(projectID: project.id, grantee: .userID(viewer.userID), role: .viewer, caller: owner)
        let names = (0..<7).map { "cell-\($0).png" }
        let uploaded = try d.images.upload(
            projectID: project.id, images: names.enumerated().map { Sample.upload($1, seed: 10 + $0) }, caller: editor)
        _ = try d.images.delete(projectID: project.id, imageIDs: [uploaded.images[0].id, uploaded.images[1].id], caller: editor)
        _ = try d.projects.update(projectID: project.id, name: "Mitosis 2", caller: owner)
        let queued = try d.segmentation.enqueue(projectID: project.id, target: .unsegmented, caller: editor)
        try test.work(complete: { $0 != 0 })
        _ = try d.sharing.revoke(projectID: project.id, target: .leave(true), caller: viewer)
        _ = try d.sharing.share(projectID: project.id, grantee: .userName("eddie"), role: .viewer, caller: owner)
        _ = try d.projects.delete(projectID: project.id, caller: owner)

        // Newest first. The owner's own rename and deletion give them no entry (no such
        // own-action type); the editor's changes and the batch arrive as shared updates.
        let own = try feed(d, owner)
        #expect(own.map { "\($0.kind)/\($0.activity)" } == [
            "ownAction/projectShared", // eddie → viewer
            "sharedProjectUpdate/segmentationCompleted",
            "sharedProjectUpdate/imagesDeleted",
            "sharedProjectUpdate/imagesUploaded",
            "ownAction/projectShared", // vera
            "ownAction/projectShared", // eddie
            "ownAction/imagesUploaded",
            "ownAction/projectCreated",
        ])
        #expect(own[0].sharedWith?.name == "eddie" && own[0].role == .viewer)
        #expect(own.allSatisfy { $0.projectID == project.id })

        let eddie = try feed(d, editor)
        #expect(eddie.map { "\($0.kind)/\($0.activity)" } == [
            "sharedProjectUpdate/projectDeleted",
            "projectSharedWithYou/none", // editor → viewer
            "ownAction/segmentationCompleted",
            "sharedProjectUpdate/projectUpdated",
            "ownAction/imagesDeleted",
            "ownAction/imagesUploaded",
            "projectSharedWithYou/none",
        ])
        let completed = eddie[2]
        #expect(completed.imageCount == 5 && completed.failedCount == 1 && completed.actor == nil)
        #expect(completed.projectName == "Mitosis 2")
        let upload = eddie[5]
        #expect(upload.imageCount == 7 && upload.sampleImageNames == Array(names.prefix(5)))
        #expect(upload.actor?.id == editor.userID && upload.counters == nil, "own entries carry no stats")
        let roleChange = eddie[1]
        #expect(roleChange.role == .viewer && roleChange.previousRole == .editor)
        #expect(roleChange.counters?.imageCount == 6 && roleChange.owner.name == "olga")
        #expect(eddie[6].role == .editor && eddie[6].previousRole == nil && eddie[6].counters?.imageCount == 1)
        let deleted = eddie[0]
        #expect(deleted.projectName == "Mitosis 2" && deleted.counters == nil && deleted.actor?.name == "olga")
        #expect(queued.jobs.count == 6)

        // Vera left before the deletion: she keeps what she saw, and her leave is last.
        let vera = try feed(d, viewer)
        #expect(vera.map { "\($0.kind)/\($0.activity)" } == [
            "shareRevoked/none",
            "sharedProjectUpdate/segmentationCompleted",
            "sharedProjectUpdate/projectUpdated",
            "sharedProjectUpdate/imagesDeleted",
            "sharedProjectUpdate/imagesUploaded",
            "projectSharedWithYou/none",
        ])
        #expect(vera[0].left && vera[0].role == .viewer)
        let shared = vera[4]
        #expect(shared.counters?.imageCount == 8 && shared.counters?.totalBytes ?? 0 > 0 && shared.actor?.name == "eddie")
        #expect(shared.imageCount == 7 && shared.sampleImageNames.count == 5)
        #expect(try feed(d, stranger).isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func pagingAndProjectFilter(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let d = test.domain
        let owner = try test.user("olga").caller
        let stranger = try test.user("sam").caller
        let a = try d.projects.create(name: "A", description: "", caller: owner).project
        let b = try d.projects.create(name: "B", description: "", caller: owner).project
        for index in 0..<12 {
            _ = try d.images.upload(
                projectID: index.isMultiple(of: 3) ? b.id : a.id, images: [Sample.upload("i\(index).png", seed: index)], caller: owner)
        }
        var seen: [Int64] = []
        var token = ""
        repeat {
            let page = try d.activity.list(caller: owner, pageSize: 5, pageToken: token)
            #expect(page.entries.count <= 5)
            seen += page.entries.map(\.revision)
            token = page.nextPageToken
        } while !token.isEmpty
        #expect(seen.count == 14 && seen == seen.sorted(by: >), "every entry once, newest first")

        let onlyB = try d.activity.list(caller: owner, projectID: b.id, pageSize: 3)
        #expect(onlyB.entries.count == 3 && onlyB.entries.allSatisfy { $0.projectID == b.id })
        let rest = try d.activity.list(caller: owner, projectID: b.id, pageSize: 3, pageToken: onlyB.nextPageToken)
        #expect(rest.entries.count == 2 && rest.nextPageToken.isEmpty, "4 uploads and the creation")

        #expect(code { try d.activity.list(caller: owner, projectID: a.id, pageToken: onlyB.nextPageToken) } == .invalidArgument,
                "a token belongs to its request")
        #expect(code { try d.activity.list(caller: owner, pageToken: "garbage") } == .invalidArgument)
        #expect(code { try d.activity.list(caller: owner, pageSize: -1) } == .invalidArgument)
        #expect(code { try d.activity.list(caller: stranger, projectID: a.id) } == .notFound)
        #expect(code { try d.activity.list(caller: owner, projectID: "bad id!") } == .invalidArgument)
    }
}
