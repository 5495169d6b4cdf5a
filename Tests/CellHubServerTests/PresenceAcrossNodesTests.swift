import CellHub
import CellHubProto
import CellHubServer
import Foundation
import StoreTestSupport
import Testing

/// Presence on a cluster: two EventHubs, each over its own PostgreSQL store on one database
/// (two `cellhubd serve` nodes in one process), publish their watchers through the store's
/// presence board and list each other's. Real stores, real hubs; only the transport is a
/// stand-in (`HubHarness`).
@Suite(.serialized, .timeLimit(.minutes(1)))
struct PresenceAcrossNodesTests {
    /// olga's project, shared with vera and eddie (viewers), on node `a`.
    private func sharedProject(_ a: HubHarness) throws -> (project: ProjectRecord, olga: Caller, vera: Caller, eddie: Caller) {
        let olga = try a.user("olga"), vera = try a.user("vera"), eddie = try a.user("eddie")
        let project = try a.domain.projects.create(name: "P", description: "", caller: olga).project
        for name in ["vera", "eddie"] {
            _ = try a.domain.sharing.share(projectID: project.id, grantee: .userName(name), role: .viewer, caller: olga)
        }
        return (project, olga, vera, eddie)
    }

    @Test("a watcher on node A sees a user start watching on node B (joined, both listed) and stop (left); B's snapshot lists A's watcher")
    func joinedAndLeftAcrossNodes() async throws {
        let a = try HubHarness(.postgres)
        let b = try HubHarness(anotherNodeOf: a)
        let (project, olga, vera, eddie) = try sharedProject(a)
        let onA = a.watchProject(project.id, as: olga)
        await a.settle { onA.outlet.messages.count == 2 }
        let sentinels = try await untilHeard(from: a, by: b, olga: olga, eddie: eddie)

        let onB = b.watchProject(project.id, as: vera)
        await b.settle { onB.outlet.messages.count == 2 }
        guard case .snapshot(let snapshot) = onB.outlet.messages.first?.payload else {
            Issue.record("expected a snapshot on B, got \(onB.outlet.messages.map(\.payloadName))")
            return
        }
        #expect(snapshot.watchers.map(\.userName) == ["olga", "vera"], "olga watches on A")

        await a.settle { presences(onA.outlet).count == 1 }
        #expect(presences(onA.outlet) == [Seen(.joined, "vera", ["olga", "vera"])])

        onB.end.cancel()
        _ = await b.end(onB.end)
        await a.settle { presences(onA.outlet).count == 2 }
        #expect(presences(onA.outlet).last == Seen(.left, "vera", ["olga"]))
        #expect(onA.outlet.messages.map(\.revision) == onA.outlet.messages.map(\.revision).sorted(), "presence never goes back in revision")
        onA.end.cancel()
        for end in sentinels { end.cancel() }
    }

    /// Returns once node `b`'s hub has heard of every watcher node `a` had so far (a's board
    /// writes, NOTIFY, b's board reads: asynchronous): olga starts watching a sentinel project
    /// on `a`, which eddie watches on `b`; `a` writes its watchers in order, so once eddie's
    /// stream lists olga, `b` has read every row written before hers. Returns the sentinel
    /// streams' ends, to cancel.
    private func untilHeard(
        from a: HubHarness, by b: HubHarness, olga: Caller, eddie: Caller
    ) async throws -> [Task<StreamEnd?, Never>] {
        let sentinel = try a.domain.projects.create(name: "sentinel", description: "", caller: olga).project
        _ = try a.domain.sharing.share(projectID: sentinel.id, grantee: .userName("eddie"), role: .viewer, caller: olga)
        let olgaOnA = a.watchProject(sentinel.id, as: olga)
        await a.settle { olgaOnA.outlet.messages.count == 2 }
        let eddieOnB = b.watchProject(sentinel.id, as: eddie)
        await b.settle {
            guard case .snapshot(let snapshot) = eddieOnB.outlet.messages.first?.payload else { return false }
            return snapshot.watchers.contains { $0.userName == "olga" }
                || presences(eddieOnB.outlet).contains { $0.change == .joined && $0.user == "olga" }
        }
        return [olgaOnA.end, eddieOnB.end]
    }

    @Test("a user watching on both nodes is one watcher: no PRESENCE when their second node's stream opens or closes, left only when gone from both")
    func aUserOnBothNodesIsListedOnce() async throws {
        let a = try HubHarness(.postgres)
        let b = try HubHarness(anotherNodeOf: a)
        let (project, olga, vera, eddie) = try sharedProject(a)
        let olgaOnA = a.watchProject(project.id, as: olga)
        await a.settle { olgaOnA.outlet.messages.count == 2 }
        let veraOnA = a.watchProject(project.id, as: vera)
        await a.settle { presences(olgaOnA.outlet).count == 1 && veraOnA.outlet.messages.count == 2 }
        #expect(presences(olgaOnA.outlet) == [Seen(.joined, "vera", ["olga", "vera"])])
        let sentinels = try await untilHeard(from: a, by: b, olga: olga, eddie: eddie)

        let veraOnB = b.watchProject(project.id, as: vera)
        await b.settle { veraOnB.outlet.messages.count == 2 }
        guard case .snapshot(let snapshot) = veraOnB.outlet.messages.first?.payload else {
            Issue.record("expected a snapshot on B, got \(veraOnB.outlet.messages.map(\.payloadName))")
            return
        }
        #expect(snapshot.watchers.map(\.userName) == ["olga", "vera"], "vera once, though on both nodes")
        // Sentinel: eddie joins on B after vera; B writes its watchers in order, so when A
        // lists eddie it has read vera's row on B too.
        let eddieOnB = b.watchProject(project.id, as: eddie)
        await b.settle { eddieOnB.outlet.messages.count == 2 }
        await a.settle { presences(olgaOnA.outlet).count == 2 }
        #expect(presences(olgaOnA.outlet).last == Seen(.joined, "eddie", ["eddie", "olga", "vera"]), "no PRESENCE for vera's stream on B")

        // vera closes B, then eddie (sentinel): A sees eddie leave, vera stays (still on A).
        veraOnB.end.cancel()
        _ = await b.end(veraOnB.end)
        eddieOnB.end.cancel()
        _ = await b.end(eddieOnB.end)
        await a.settle { presences(olgaOnA.outlet).count == 3 }
        #expect(presences(olgaOnA.outlet).last == Seen(.left, "eddie", ["olga", "vera"]))

        // vera on B again, then she closes A: still watching (on B), so no PRESENCE; then B.
        let again = b.watchProject(project.id, as: vera)
        await b.settle { again.outlet.messages.count == 2 }
        let sentinel = b.watchProject(project.id, as: eddie)
        await b.settle { sentinel.outlet.messages.count == 2 }
        await a.settle { presences(olgaOnA.outlet).count == 4 }
        #expect(presences(olgaOnA.outlet).last == Seen(.joined, "eddie", ["eddie", "olga", "vera"]))
        veraOnA.end.cancel()
        _ = await a.end(veraOnA.end)
        await a.idle(.milliseconds(100))
        #expect(presences(olgaOnA.outlet).count == 4, "vera still watches on B: \(presences(olgaOnA.outlet))")
        again.end.cancel()
        _ = await b.end(again.end)
        await a.settle { presences(olgaOnA.outlet).count == 5 }
        #expect(presences(olgaOnA.outlet).last == Seen(.left, "vera", ["eddie", "olga"]))
        sentinel.end.cancel()
        olgaOnA.end.cancel()
        for end in sentinels { end.cancel() }
    }

    @Test("a node that stops cleanly withdraws its watchers at once, not after the expiry")
    func aStoppedNodesWatchersLeaveAtOnce() async throws {
        let a = try HubHarness(.postgres)
        let b = try HubHarness(anotherNodeOf: a)
        let (project, olga, vera, _) = try sharedProject(a)
        let onA = a.watchProject(project.id, as: olga)
        await a.settle { onA.outlet.messages.count == 2 }
        let onB = b.watchProject(project.id, as: vera)
        await b.settle { onB.outlet.messages.count == 2 }
        await a.settle { presences(onA.outlet).count == 1 }
        let stoppedAt = ContinuousClock.now
        b.hub.stop()
        await a.settle(timeout: .seconds(10)) { presences(onA.outlet).count == 2 }
        #expect(presences(onA.outlet).last == Seen(.left, "vera", ["olga"]))
        #expect(ContinuousClock.now - stoppedAt < .seconds(4), "well inside the 5 s expiry")
        onA.end.cancel()
    }

    @Test("a node that dies without withdrawing (its rows stay, its heartbeat stops) loses its watchers within expiry + one heartbeat")
    func aDeadNodesWatchersExpire() async throws {
        let a = try HubHarness(.postgres)
        let (project, olga, vera, _) = try sharedProject(a)
        let b = try HubHarness(anotherNodeOf: a, presenceHeartbeatIntervalMs: 100, presenceExpiryMs: 800)
        let onB = b.watchProject(project.id, as: olga)
        await b.settle { onB.outlet.messages.count == 2 }
        // A node's rows, written as a node writes them, and then no heartbeat ever: what
        // kill -9 leaves behind.
        let dead = UUID().uuidString
        try StoreKind.executeOnPostgres("""
            INSERT INTO nodes (node_id, started_at, last_seen_at) VALUES ('\(dead)', clock_timestamp(), clock_timestamp());
            INSERT INTO presence (node_id, project_id, user_id, user_name, since_at)
                VALUES ('\(dead)', '\(project.id)', '\(vera.userID)', 'vera', clock_timestamp());
            NOTIFY cellhub_presence;
            """, url: a.location)
        let wroteAt = ContinuousClock.now
        await b.settle { presences(onB.outlet).count == 1 }
        #expect(presences(onB.outlet) == [Seen(.joined, "vera", ["olga", "vera"])])
        await b.settle(timeout: .seconds(10)) { presences(onB.outlet).count == 2 }
        let after = ContinuousClock.now - wroteAt
        #expect(presences(onB.outlet).last == Seen(.left, "vera", ["olga"]))
        #expect(after >= .milliseconds(800), "not before the expiry")
        #expect(after < .milliseconds(800 + 100 + 1_500), "within expiry + heartbeat (+ slack for a busy machine): \(after)")
        onB.end.cancel()
    }
}

/// One PRESENCE as a stream saw it.
private struct Seen: Equatable, CustomStringConvertible {
    enum Change { case joined, left }
    var change: Change
    var user: String
    var watchers: [String]

    init(_ change: Change, _ user: String, _ watchers: [String]) {
        self.change = change
        self.user = user
        self.watchers = watchers
    }

    var description: String { "\(change) \(user) \(watchers)" }
}

private func presences(_ outlet: TestOutlet<ProjectEvent>) -> [Seen] {
    outlet.messages.compactMap { message in
        guard case .presence(let presence) = message.payload else { return nil }
        return Seen(presence.change == .joined ? .joined : .left, presence.user?.userName ?? "?", presence.watchers.map(\.userName))
    }
}
