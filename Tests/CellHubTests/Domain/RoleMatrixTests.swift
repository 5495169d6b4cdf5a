import StoreTestSupport
import Testing
@testable import CellHub
import CellHub
import CellHubSQL
import CellHubStore

/// Every operation × owner / editor / viewer / stranger: success, PERMISSION_DENIED for a
/// too-low role, NOT_FOUND (exactly as for a missing project) for a stranger.
@Suite struct RoleMatrixTests {
    enum Actor: String, CaseIterable, CustomTestStringConvertible {
        case owner, editor, viewer, stranger
        var testDescription: String { rawValue }
    }

    enum Operation: String, CaseIterable, CustomTestStringConvertible {
        case getProject, updateProject, deleteProject, share, revokeOther, listShares
        case upload, getImage, listImages, imageContent, deleteImage, deleteImages
        case enqueue, cancelProjectJobs, cancelJobs, queueStats, projectStats

        var testDescription: String { rawValue }

        /// The lowest role that may do it.
        var minimum: MemberRole {
            switch self {
            case .getProject, .listShares, .getImage, .listImages, .imageContent, .queueStats, .projectStats: .viewer
            case .upload, .deleteImage, .deleteImages, .enqueue, .cancelProjectJobs, .cancelJobs: .editor
            case .updateProject, .deleteProject, .share, .revokeOther: .owner
            }
        }
    }

    struct Fixture {
        let test: TestDomain
        let callers: [Actor: Caller]
        let other: Caller
        let projectID: String
        let imageID: String
        let jobID: String
    }

    static func fixture(_ kind: StoreKind = .sqlite) throws -> Fixture {
        let test = try TestDomain(kind)
        let owner = try test.user("owner").caller
        let editor = try test.user("editor").caller
        let viewer = try test.user("viewer").caller
        let stranger = try test.user("stranger").caller
        let other = try test.user("other").caller
        let d = test.domain
        let project = try d.projects.create(name: "Cells", description: "", caller: owner).project
        _ = try d.sharing.share(projectID: project.id, grantee: .userID(editor.userID), role: .editor, caller: owner)
        _ = try d.sharing.share(projectID: project.id, grantee: .userName("viewer"), role: .viewer, caller: owner)
        _ = try d.sharing.share(projectID: project.id, grantee: .userID(other.userID), role: .viewer, caller: owner)
        let images = try d.images.upload(projectID: project.id, images: [Sample.upload(seed: 1), Sample.upload(seed: 2)], caller: owner).images
        let queued = try d.segmentation.enqueue(projectID: project.id, target: .images([images[1].id]), caller: owner)
        return Fixture(
            test: test, callers: [.owner: owner, .editor: editor, .viewer: viewer, .stranger: stranger], other: other,
            projectID: project.id, imageID: images[0].id, jobID: queued.jobs[0].jobID)
    }

    static func run(_ operation: Operation, _ f: Fixture, as caller: Caller) throws {
        let d = f.test.domain
        switch operation {
        case .getProject: _ = try d.projects.get(projectID: f.projectID, caller: caller)
        case .updateProject: _ = try d.projects.update(projectID: f.projectID, name: "Renamed", caller: caller)
        case .deleteProject: _ = try d.projects.delete(projectID: f.projectID, caller: caller)
        case .share: _ = try d.sharing.share(projectID: f.projectID, grantee: .userID(f.other.userID), role: .editor, caller: caller)
        case .revokeOther: _ = try d.sharing.revoke(projectID: f.projectID, target: .userID(f.other.userID), caller: caller)
        case .listShares: _ = try d.sharing.members(projectID: f.projectID, caller: caller)
        case .upload: _ = try d.images.upload(projectID: f.projectID, images: [Sample.upload(seed: 9)], caller: caller)
        case .getImage: _ = try d.images.get(imageID: f.imageID, caller: caller)
        case .listImages: _ = try d.images.list(projectID: f.projectID, caller: caller)
        case .imageContent: _ = try d.images.content(imageID: f.imageID, caller: caller)
        case .deleteImage: _ = try d.images.delete(imageID: f.imageID, caller: caller)
        case .deleteImages: _ = try d.images.delete(projectID: f.projectID, imageIDs: [f.imageID], caller: caller)
        case .enqueue: _ = try d.segmentation.enqueue(projectID: f.projectID, target: .unsegmented, caller: caller)
        case .cancelProjectJobs: _ = try d.segmentation.cancel(.project(f.projectID), caller: caller)
        case .cancelJobs: _ = try d.segmentation.cancel(.jobs([f.jobID]), caller: caller)
        case .queueStats: _ = try d.segmentation.queueStats(projectID: f.projectID, caller: caller)
        case .projectStats: _ = try d.stats.projectStats(projectID: f.projectID, caller: caller)
        }
    }

    @Test(arguments: Operation.allCases, Actor.allCases)
    func matrix(operation: Operation, actor: Actor) throws {
        let f = try Self.fixture()
        let caller = f.callers[actor]!
        let expected: DomainErrorCode? = switch actor {
        case .stranger: .notFound
        case .owner: nil
        case .editor: MemberRole.editor.permits(operation.minimum) ? nil : .permissionDenied
        case .viewer: MemberRole.viewer.permits(operation.minimum) ? nil : .permissionDenied
        }
        #expect(code { try Self.run(operation, f, as: caller) } == expected)
    }

    /// A stranger's answer is the same as for a project id that does not exist.
    @Test(arguments: StoreKind.allCases, Operation.allCases)
    func strangerCannotTellMissingFromHidden(kind: StoreKind, operation: Operation) throws {
        let f = try Self.fixture(kind)
        let missing = Fixture(
            test: f.test, callers: f.callers, other: f.other, projectID: "00000000-0000-4000-8000-0000000fffff",
            imageID: "00000000-0000-4000-8000-0000000ffffe", jobID: "00000000-0000-4000-8000-0000000ffffd")
        #expect(code { try Self.run(operation, missing, as: f.callers[.owner]!) } == .notFound)
    }

    @Test(arguments: StoreKind.allCases) func memberMayLeaveButNotRemoveOthers(kind: StoreKind) throws {
        let f = try Self.fixture(kind)
        let d = f.test.domain
        let viewer = f.callers[.viewer]!
        let editor = f.callers[.editor]!
        #expect(code { try d.sharing.revoke(projectID: f.projectID, target: .userID(editor.userID), caller: viewer) } == .permissionDenied)
        #expect(code { try d.sharing.revoke(projectID: f.projectID, target: .leave(false), caller: viewer) } == .invalidArgument)
        let left = try d.sharing.revoke(projectID: f.projectID, target: .leave(true), caller: viewer)
        #expect(left.left && left.revoked.user.id == viewer.userID)
        #expect(code { try d.projects.get(projectID: f.projectID, caller: viewer) } == .notFound)
        // Revoking by one's own id is leaving too.
        #expect(try d.sharing.revoke(projectID: f.projectID, target: .userID(editor.userID), caller: editor).left)
    }

    @Test(arguments: StoreKind.allCases) func shareRules(kind: StoreKind) throws {
        let f = try Self.fixture(kind)
        let d = f.test.domain
        let owner = f.callers[.owner]!
        // With oneself (the owner): invalid; owner role: invalid; unknown user: not found.
        #expect(code { try d.sharing.share(projectID: f.projectID, grantee: .userID(owner.userID), role: .viewer, caller: owner) } == .invalidArgument)
        #expect(code { try d.sharing.share(projectID: f.projectID, grantee: .userName("viewer"), role: .owner, caller: owner) } == .invalidArgument)
        #expect(code { try d.sharing.share(projectID: f.projectID, grantee: nil, role: .viewer, caller: owner) } == .invalidArgument)
        #expect(code { try d.sharing.share(projectID: f.projectID, grantee: .userName("nobody"), role: .viewer, caller: owner) } == .notFound)
        #expect(code { try d.sharing.revoke(projectID: f.projectID, target: .userID(owner.userID), caller: owner) } == .invalidArgument)
        #expect(code { try d.sharing.revoke(projectID: f.projectID, target: .userName("stranger"), caller: owner) } == .notFound)
        // Same role again: no change; a new role: changed, place kept.
        let same = try d.sharing.share(projectID: f.projectID, grantee: .userName("viewer"), role: .viewer, caller: owner)
        #expect(same.revision == nil && !same.created)
        let changed = try d.sharing.share(projectID: f.projectID, grantee: .userName("viewer"), role: .editor, caller: owner)
        #expect(changed.previousRole == .viewer && changed.revision != nil)
        let members = try d.sharing.members(projectID: f.projectID, caller: f.callers[.viewer]!)
        #expect(members.map(\.user.name) == ["owner", "editor", "viewer", "other"])
        #expect(members.map(\.role) == [.owner, .editor, .editor, .viewer])
    }

    @Test(arguments: StoreKind.allCases) func authentication(kind: StoreKind) throws {
        let test = try TestDomain(kind)
        let (caller, token) = try test.user("alice")
        #expect(try test.domain.auth.authenticate(token: token) == caller)
        #expect(try test.domain.auth.authenticate(authorization: "Bearer \(token)") == caller)
        #expect(try test.domain.auth.authenticate(authorization: "bearer  \(token)") == caller)
        #expect(code { try test.domain.auth.authenticate(authorization: nil) } == .unauthenticated)
        #expect(code { try test.domain.auth.authenticate(authorization: "Basic \(token)") } == .unauthenticated)
        #expect(code { try test.domain.auth.authenticate(token: "chub_nothex") } == .unauthenticated)
        #expect(code { try test.domain.auth.authenticate(token: APIToken.generate()) } == .unauthenticated)
        _ = try test.store.revokeUser(id: caller.userID, payload: { _ in [] })
        #expect(code { try test.domain.auth.authenticate(token: token) } == .unauthenticated)
        #expect(code { try test.domain.auth.requireWorker(caller) } == .permissionDenied)
    }

    @Test("a cached caller is answered without the store until a revocation by any process")
    func cachedCallersFollowRevocations() throws {
        let test = try TestDomain()
        let (alice, aliceToken) = try test.user("alice")
        let (bob, bobToken) = try test.user("bob")
        #expect(test.domain.auth.cachedCaller(token: aliceToken) == nil, "never seen")
        #expect(try test.domain.auth.authenticate(token: aliceToken) == alice)
        #expect(try test.domain.auth.authenticate(token: bobToken) == bob)
        #expect(test.domain.auth.cachedCaller(token: aliceToken) == alice)
        // `cellhubd users revoke` is another process with its own store on the same file.
        let admin = try Store(path: test.sqlite.path)
        _ = try admin.revokeUser(id: alice.userID, payload: { _ in [] })
        #expect(test.domain.auth.cachedCaller(token: aliceToken) == nil, "the revocation emptied the cache")
        #expect(code { try test.domain.auth.authenticate(token: aliceToken) } == .unauthenticated)
        #expect(try test.domain.auth.authenticate(token: bobToken) == bob, "others look up again, and pass")
        #expect(test.domain.auth.cachedCaller(token: bobToken) == bob)
        // A revocation that changes nothing (already revoked) leaves the cache alone.
        _ = try admin.revokeUser(id: alice.userID, payload: { _ in [] })
        #expect(test.domain.auth.cachedCaller(token: bobToken) == bob)
    }
}
