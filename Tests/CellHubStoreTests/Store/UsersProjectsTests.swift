import CellHub
@testable import CellHubSQL
@testable import CellHubStore
import StoreTestSupport
import Testing

@Suite("Store: users, projects, shares")
struct UsersProjectsTests {
    @Test("users are found by token hash until revoked; names are unique", arguments: StoreKind.allCases)
    func users(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let worker = try t.user("w1", worker: true)
        #expect(try t.store.user(tokenHash: t.tokenHash("ada")) == ada)
        #expect(try t.store.user(tokenHash: t.tokenHash("nobody")) == nil)
        #expect(try t.store.user(named: "w1")?.isWorker == true)
        #expect(throws: StoreError.userNameTaken("ada")) { try t.user("ada") }
        #expect(try t.store.users().map(\.name) == ["ada", "w1"])

        let revoked = try t.store.revokeUser(id: worker.id, payload: tag("revoked"))
        #expect(revoked.revision != nil && revoked.revokedTokenCount == 1 && revoked.user.revokedAtMs == t.clock.now)
        #expect(try t.store.user(tokenHash: t.tokenHash("w1")) == nil)
        #expect(try t.store.revokeUser(id: worker.id, payload: tag("again")).revision == nil)
        #expect(throws: StoreError.notFound(.user, id: "nope")) { try t.store.revokeUser(id: "nope", payload: tag("x")) }
    }

    @Test("a new project has its owner, zero counters stamped with its revision, and a unique name per owner", arguments: StoreKind.allCases)
    func createProject(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let bob = try t.user("bob")
        let created = try t.store.createProject(ownerID: ada.id, name: "Zellen", description: "d", payload: tag("created"))
        let project = created.project
        #expect(project.callerRole == .owner && project.owner == ada.ref && project.shareCount == 0)
        #expect(project.counters.imageCount == 0 && project.counters.revision == created.revision)
        #expect(project.counters.updatedAtMs == t.clock.now && project.createdAtMs == t.clock.now)
        #expect(throws: StoreError.projectNameTaken("Zellen")) {
            try t.store.createProject(ownerID: ada.id, name: "Zellen", description: "", payload: tag("x"))
        }
        _ = try t.store.createProject(ownerID: bob.id, name: "Zellen", description: "", payload: tag("other owner"))
        #expect(throws: StoreError.notFound(.user, id: "ghost")) {
            try t.store.createProject(ownerID: "ghost", name: "p", description: "", payload: tag("x"))
        }
        #expect(try t.store.project(id: project.id, for: bob.id) == nil, "not visible to a non-member")
        #expect(try t.store.project(id: project.id)?.callerRole == nil)
    }

    @Test("updates change only what differs; a rename onto another of the owner's names is refused", arguments: StoreKind.allCases)
    func updateProject(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let a = try t.store.createProject(ownerID: ada.id, name: "a", description: "", payload: tag("c")).project
        _ = try t.store.createProject(ownerID: ada.id, name: "b", description: "", payload: tag("c"))
        t.clock.advance(by: 1000)
        let same = try t.store.updateProject(id: a.id, actor: ada.id, name: "a", description: "", payload: tag("u"))
        #expect(same.revision == nil && same.changedFields.isEmpty)
        let renamed = try t.store.updateProject(id: a.id, actor: ada.id, name: "A2", payload: tag("u"))
        #expect(renamed.changedFields == [.name] && renamed.project.name == "A2" && renamed.project.updatedAtMs == t.clock.now)
        let both = try t.store.updateProject(id: a.id, actor: ada.id, name: "A3", description: "new", payload: tag("u"))
        #expect(both.changedFields == [.name, .description])
        #expect(throws: StoreError.projectNameTaken("b")) {
            try t.store.updateProject(id: a.id, actor: ada.id, name: "b", payload: tag("u"))
        }
        #expect(throws: StoreError.notFound(.project, id: "nope")) {
            try t.store.updateProject(id: "nope", actor: ada.id, name: "x", payload: tag("u"))
        }
    }

    @Test("keyset paging lists owned and shared projects newest first, ties by id, with filters", arguments: StoreKind.allCases)
    func listProjects(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let bob = try t.user("bob")
        var expected: [String] = []
        for n in 0..<7 {
            // Pairs share a millisecond, so the id tie-break matters.
            if n % 2 == 0 { t.clock.advance(by: 10) }
            let owner = n % 3 == 0 ? bob : ada
            let project = try t.store.createProject(
                ownerID: owner.id, name: n == 4 ? "Große ZELLEN" : "p\(n)", description: "", payload: tag("c")
            ).project
            if owner.id == bob.id {
                _ = try t.store.share(projectID: project.id, userID: ada.id, role: .viewer, actor: bob.id, payload: tag("s"))
            }
            expected.append(project.id)
        }
        let newestFirst = try expected.compactMap { try t.store.project(id: $0) }
            .sorted { ($0.createdAtMs, $0.id) > ($1.createdAtMs, $1.id) }.map(\.id)
        #expect(newestFirst.count == 7)

        var seen: [String] = []
        var cursor: ProjectCursor?
        repeat {
            let page = try t.store.projects(for: ada.id, limit: 3, after: cursor)
            #expect(page.totalCount == 7)
            seen += page.items.map(\.id)
            cursor = page.next
        } while cursor != nil
        #expect(seen == newestFirst)

        let owned = try t.store.projects(for: ada.id, filter: .owned, limit: 50)
        let shared = try t.store.projects(for: ada.id, filter: .shared, limit: 50)
        #expect(owned.totalCount == 4 && owned.items.allSatisfy { $0.callerRole == .owner })
        #expect(shared.totalCount == 3 && shared.items.allSatisfy { $0.callerRole == .viewer && $0.shareCount == 1 })
        #expect(owned.next == nil)

        let search = try t.store.projects(for: ada.id, nameContains: "große zellen", limit: 50)
        #expect(search.items.map(\.name) == ["Große ZELLEN"] && search.totalCount == 1)
        #expect(try t.store.projects(for: bob.id, limit: 50).totalCount == 3)
    }

    @Test("shares: add, same role is no change, role change keeps grant order, owner is off limits, revoke and leave", arguments: StoreKind.allCases)
    func shares(kind: StoreKind) throws {
        let t = try TestStore(kind)
        let ada = try t.user("ada")
        let bob = try t.user("bob")
        let cy = try t.user("cy")
        let p = try t.store.createProject(ownerID: ada.id, name: "p", description: "", payload: tag("c")).project
        t.clock.advance(by: 5)
        let first = try t.store.share(projectID: p.id, userID: bob.id, role: .viewer, actor: ada.id, payload: tag("s"))
        #expect(first.created && first.previousRole == nil && first.revision != nil)
        #expect(first.member.sharedBy == ada.ref && first.member.sharedAtMs == t.clock.now)
        t.clock.advance(by: 5)
        _ = try t.store.share(projectID: p.id, userID: cy.id, role: .editor, actor: ada.id, payload: tag("s"))
        let again = try t.store.share(projectID: p.id, userID: bob.id, role: .viewer, actor: ada.id, payload: tag("s"))
        #expect(!again.created && again.revision == nil && again.previousRole == .viewer)
        t.clock.advance(by: 5)
        let promoted = try t.store.share(projectID: p.id, userID: bob.id, role: .editor, actor: ada.id, payload: tag("s"))
        #expect(!promoted.created && promoted.previousRole == .viewer && promoted.member.role == .editor)
        #expect(promoted.members.map(\.user.name) == ["ada", "bob", "cy"], "owner first, then grant order")
        #expect(try t.store.role(projectID: p.id, userID: bob.id) == .editor)

        #expect(throws: StoreError.ownerMembership(projectID: p.id)) {
            try t.store.share(projectID: p.id, userID: ada.id, role: .viewer, actor: ada.id, payload: tag("s"))
        }
        #expect(throws: StoreError.ownerMembership(projectID: p.id)) {
            try t.store.revokeShare(projectID: p.id, userID: ada.id, actor: ada.id, payload: tag("r"))
        }
        #expect(throws: StoreError.notFound(.user, id: "ghost")) {
            try t.store.share(projectID: p.id, userID: "ghost", role: .viewer, actor: ada.id, payload: tag("s"))
        }
        #expect(throws: StoreError.notFound(.project, id: "nope")) {
            try t.store.share(projectID: "nope", userID: bob.id, role: .viewer, actor: ada.id, payload: tag("s"))
        }

        let revoked = try t.store.revokeShare(projectID: p.id, userID: bob.id, actor: ada.id, payload: tag("r"))
        #expect(!revoked.left && revoked.revoked.role == .editor && revoked.members.map(\.user.name) == ["ada", "cy"])
        let left = try t.store.revokeShare(projectID: p.id, userID: cy.id, actor: cy.id, payload: tag("r"))
        #expect(left.left)
        #expect(throws: StoreError.notFound(.member, id: cy.id)) {
            try t.store.revokeShare(projectID: p.id, userID: cy.id, actor: ada.id, payload: tag("r"))
        }
        #expect(try t.store.allMemberships() == [Membership(projectID: p.id, userID: ada.id, role: .owner)])
    }
}
