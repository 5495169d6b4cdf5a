import CellHub
import CellHubProto
import CellHubServer
import CellHubSQL
import CellHubStore
import Foundation
import RPC
import StoreTestSupport
import Testing

/// The EventHub with the real store underneath (SQLite, the server's ChangeRecord payloads
/// and wire encoding): what each stream receives for real operations, coalescing, ordering,
/// resume, presence, revocation and slow consumers. Only the transport is a stand-in.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct EventHubTests {
    @Test(arguments: StoreKind.allCases) func snapshotThenCaughtUpThenLiveStatsAndCountChange(kind: StoreKind) async throws {
        let h = try HubHarness(kind)
        let olga = try h.user("olga")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        let stream = h.watchProject(project.id, as: olga)
        await h.settle { stream.outlet.messages.count == 2 }
        #expect(stream.outlet.messages.map(\.payloadName) == ["snapshot", "caughtUp"])
        let snapshotRevision = stream.outlet.messages[0].revision
        #expect(stream.outlet.messages[1].revision == snapshotRevision)
        guard case .snapshot(let snapshot) = stream.outlet.messages[0].payload else { return }
        #expect(snapshot.project?.stats?.revision == snapshotRevision)
        #expect(snapshot.watchers.map(\.userName) == ["olga"] && snapshot.members.map(\.user?.userName) == ["olga"])

        let ids = try h.upload(3, to: project.id, as: olga)
        await h.settle { stream.outlet.messages.count == 4 }
        let live = Array(stream.outlet.messages.dropFirst(2))
        #expect(live.map(\.payloadName) == ["count", "stats"], "the change's discrete events, then the state")
        #expect(live.map(\.sequence) == [1, 0], "discrete events are numbered within their revision; state is 0")
        guard case .statsUpdate(let update) = live[1].payload, case .imageCountChange(let change) = live[0].payload else { return }
        #expect(update.stats?.imageCount == 3 && update.stats?.revision == live[1].revision)
        #expect(update.affectedImages?.imageIds == ids && update.changeCount == 1 && update.firstRevision == live[1].revision)
        #expect(update.operations.map(\.operation) == [.imagesUploaded] && update.operations.first?.imageCount == 3)
        #expect((change.previousImageCount, change.newImageCount, change.changeType) == (0, 3, .added))
        #expect(live.allSatisfy { $0.actorUserName == "olga" && $0.epoch == h.store.epoch })
        stream.end.cancel()
        #expect(await h.end(stream.end) == nil)
    }

    /// A stream joining a shard whose heartbeat timer is armed far ahead (another stream's long
    /// interval) gets its first PROGRESS after its own interval, not the other's.
    @Test func aShortHeartbeatJoiningALongOneIsOnTime() async throws {
        let h = try HubHarness(.sqlite)
        let olga = try h.user("olga")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        let slow = h.watchProject(project.id, as: olga)
        await h.settle { slow.outlet.messages.count == 2 }
        // The shard's first scan (after 1 s) re-arms its timer for the slow stream: 60 s away.
        await h.settle(timeout: .milliseconds(1_200)) { false }
        let fast = h.watchProject(project.id, as: olga, heartbeatMs: 300)
        await h.settle(timeout: .seconds(2)) { fast.outlet.messages.contains { $0.payloadName == "progress" } }
        #expect(fast.outlet.messages.map(\.payloadName).prefix(3) == ["snapshot", "caughtUp", "progress"])
        #expect(!slow.outlet.messages.contains { $0.payloadName == "progress" }, "the slow stream's interval is its own")
        slow.end.cancel()
        fast.end.cancel()
        _ = await h.end(slow.end)
        _ = await h.end(fast.end)
    }

    /// A burst: the first change is sent at once, then at most one update per interval, the
    /// last exact; interval 0 sends every change.
    @Test(arguments: StoreKind.allCases) func burstsCoalesceAndTheLastUpdateIsExact(kind: StoreKind) async throws {
        let h = try HubHarness(kind)
        let olga = try h.user("olga")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        let slow = h.watchProject(project.id, as: olga, intervalMs: 10_000)
        let every = h.watchProject(project.id, as: olga, intervalMs: 0)
        await h.settle { slow.outlet.messages.count == 2 && every.outlet.messages.count == 2 }
        for round in 0..<20 { _ = try h.upload(2, to: project.id, as: olga, tag: "r\(round)-") }
        await h.settle { every.outlet.messages.filter { $0.payloadName == "stats" }.count == 20 }
        let everyStats = every.outlet.messages.filter { $0.payloadName == "stats" }
        #expect(everyStats.map(\.revision) == everyStats.map(\.revision).sorted() && Set(everyStats.map(\.revision)).count == 20)
        // The slow stream sent the first change at once; the other 19 wait for its 10 s interval.
        #expect(slow.outlet.messages.filter { $0.payloadName == "stats" }.count == 1)
        #expect(slow.outlet.messages.filter { $0.payloadName == "count" }.count == 20, "discrete events are never coalesced")
        let revisions = slow.outlet.messages.map(\.revision)
        #expect(revisions == revisions.sorted(), "revisions never go backwards")
        slow.end.cancel()
        every.end.cancel()
    }

    /// Streams in step take each change — its discrete events, then its update — as one
    /// push of bytes shared by all of them; a stream behind its low-water mark takes the
    /// general path (discrete events queued, the update held and folded until it drains)
    /// and ends with the same discrete events and the same final update.
    @Test(arguments: StoreKind.allCases) func streamsInStepTakeOnePushPerChangeAndAStreamBehindCatchesUp(kind: StoreKind) async throws {
        let h = try HubHarness(kind) { $0.budget = StreamBudget(budget: 256 << 10, lowWater: 400) }
        let olga = try h.user("olga")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        let inStep = h.watchProject(project.id, as: olga, intervalMs: 0)
        let behind = h.watchProject(project.id, as: olga, intervalMs: 0)
        await h.settle { inStep.outlet.messages.count == 2 && behind.outlet.messages.count == 2 }
        behind.outlet.blocked = true
        let pushesBefore = inStep.outlet.pushes
        for round in 0..<3 { _ = try h.upload(1, to: project.id, as: olga, tag: "r\(round)-") }
        await h.settle { inStep.outlet.messages.count == 8 }
        #expect(inStep.outlet.pushes - pushesBefore == 3, "one push per change")
        let live = Array(inStep.outlet.messages.dropFirst(2))
        #expect(live.map(\.payloadName) == ["count", "stats", "count", "stats", "count", "stats"])
        #expect(live.map(\.revision) == live.map(\.revision).sorted())
        #expect(behind.outlet.unsentBytes > 400, "the blocked stream is behind its low-water mark")
        behind.outlet.unblock()
        await h.settle { behind.outlet.messages.filter { $0.payloadName == "stats" }.count >= 1 && behind.outlet.messages.count >= 6 }
        let caughtUp = Array(behind.outlet.messages.dropFirst(2))
        #expect(caughtUp.filter { $0.payloadName == "count" } == live.filter { $0.payloadName == "count" })
        #expect(caughtUp.last?.payloadName == "stats")
        guard case .statsUpdate(let final) = caughtUp.last?.payload, case .statsUpdate(let last) = live.last?.payload else { return }
        #expect(final.stats == last.stats && caughtUp.last?.revision == live.last?.revision)
        #expect(final.changeCount >= 1 && final.stats?.imageCount == 3)
        inStep.end.cancel()
        behind.end.cancel()
    }

    /// A frame the transport refuses ends the stream with a status (resume) and takes it out
    /// of the hub, instead of leaving the call open with nothing sent to it.
    @Test(arguments: StoreKind.allCases) func aRefusedFrameEndsTheStream(kind: StoreKind) async throws {
        let h = try HubHarness(kind)
        let olga = try h.user("olga")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        let stream = h.watchProject(project.id, as: olga, intervalMs: 0)
        await h.settle { stream.outlet.messages.count == 2 }
        #expect(h.hub.census().streams == 1)
        stream.outlet.refuses = true
        _ = try h.upload(1, to: project.id, as: olga)
        let end = await h.end(stream.end)
        #expect(end == .failed("an event could not be sent on this stream"), "got \(String(describing: end))")
        await h.settle { h.hub.census().streams == 0 }
        #expect(h.hub.census().streams == 0, "the ended stream left the hub")
    }

    @Test func pendingUpdateFoldsEveryChangeAndCountsCauses() throws {
        func effect(_ revision: Int64, images: Int64, cause: StatsCause, moves: Bool = true) -> ProjectEffect {
            var effect = ProjectEffect(revision: revision, timestampMs: revision, actor: nil)
            if moves {
                effect.counters = ProjectCounters(
                    projectID: "p", imageCount: revision, noSegmentation: revision, queued: 0, processing: 0, segmented: 0, failed: 0,
                    totalBytes: 0, lastImageAddedAtMs: 0, lastSegmentationCompletedAtMs: 0, updatedAtMs: 0, revision: revision)
                effect.causes = [StatsCauseCount(cause: cause, changeCount: 1, imageCount: images)]
                effect.affectedImageIDs = (0..<images).map { "\(revision)-\($0)" }
            }
            return effect
        }
        var pending = PendingUpdate(effect(5, images: 60, cause: .imagesUploaded))
        pending.fold(effect(7, images: 60, cause: .imagesUploaded))
        pending.fold(effect(8, images: 1, cause: .imagesDeleted))
        pending.fold(effect(9, images: 0, cause: .imagesDeleted, moves: false))  // a share: revision only
        let events = pending.events(projectID: "p")
        #expect(events.count == 1)
        guard case .statsUpdate(let update) = events[0].payload else { return }
        #expect(events[0].header.revision == 9 && update.firstRevision == 5 && update.changeCount == 3)
        #expect(update.counters.revision == 8, "the counters of the last change that moved them")
        #expect(update.causes == [
            StatsCauseCount(cause: .imagesUploaded, changeCount: 2, imageCount: 120), StatsCauseCount(cause: .imagesDeleted, changeCount: 1, imageCount: 1),
        ])
        #expect(update.affected.ids.count == 100 && update.affected.totalCount == 121 && update.affected.truncated)
    }

    /// Every change reaches every member's stream, whoever made it; a stranger cannot subscribe.
    @Test(arguments: StoreKind.allCases) func everyMemberGetsEveryChangeAndStrangersNothing(kind: StoreKind) async throws {
        let h = try HubHarness(kind)
        let olga = try h.user("olga"), eddie = try h.user("eddie"), vera = try h.user("vera"), stranger = try h.user("stranger")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        _ = try h.domain.sharing.share(projectID: project.id, grantee: .userName("eddie"), role: .editor, caller: olga)
        _ = try h.domain.sharing.share(projectID: project.id, grantee: .userName("vera"), role: .viewer, caller: olga)
        let streams = [olga, eddie, vera].map { h.watchProject(project.id, as: $0, intervalMs: 0) }
        let outsider = h.watchProject(project.id, as: stranger)
        #expect(await h.end(outsider.end) == .projectNotFound("project \(project.id) not found"))
        await h.settle { streams.allSatisfy { $0.outlet.messages.contains { $0.payloadName == "caughtUp" } } }
        _ = try h.upload(1, to: project.id, as: eddie)
        _ = try h.domain.projects.update(projectID: project.id, name: "Q", caller: olga)
        await h.settle { streams.allSatisfy { $0.outlet.messages.contains { $0.payloadName == "updated" } } }
        for stream in streams {
            let kinds = stream.outlet.messages.map(\.payloadName).filter { $0 != "presence" }
            #expect(kinds == ["snapshot", "caughtUp", "count", "stats", "updated"])
            #expect(stream.outlet.messages.first { $0.payloadName == "stats" }?.actorUserName == "eddie")
        }
        #expect(outsider.outlet.messages.isEmpty)
        for stream in streams { stream.end.cancel() }
    }

    /// One PRESENCE per user (not per stream): joined when a user's first stream opens,
    /// left when their last one closes.
    @Test(arguments: StoreKind.allCases) func presenceCountsUsersNotStreams(kind: StoreKind) async throws {
        let h = try HubHarness(kind)
        let olga = try h.user("olga"), vera = try h.user("vera")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        _ = try h.domain.sharing.share(projectID: project.id, grantee: .userName("vera"), role: .viewer, caller: olga)
        let owner = h.watchProject(project.id, as: olga)
        await h.settle { owner.outlet.messages.count == 2 }
        let first = h.watchProject(project.id, as: vera)
        await h.settle { owner.outlet.messages.count == 3 && first.outlet.messages.count == 2 }
        guard case .snapshot(let snapshot) = first.outlet.messages[0].payload,
              case .presence(let joined) = owner.outlet.messages[2].payload else {
            Issue.record("expected a snapshot and a presence event, got \(owner.outlet.messages.map(\.payloadName))")
            return
        }
        #expect(Set(snapshot.watchers.map(\.userName)) == ["olga", "vera"])
        #expect(joined.change == .joined && joined.user?.userName == "vera" && joined.watchers.count == 2)
        let second = h.watchProject(project.id, as: vera)
        await h.settle { second.outlet.messages.count == 2 }
        await h.idle(.milliseconds(50))
        #expect(owner.outlet.messages.count == 3, "a second stream of the same user is no new watcher")
        first.end.cancel()
        _ = await h.end(first.end)
        await h.idle(.milliseconds(50))
        #expect(owner.outlet.messages.count == 3)
        second.end.cancel()
        _ = await h.end(second.end)
        await h.settle { owner.outlet.messages.count == 4 }
        guard case .presence(let left) = owner.outlet.messages.last?.payload else { return }
        #expect(left.change == .left && left.user?.userName == "vera" && left.watchers.map(\.userName) == ["olga"])
        #expect(owner.outlet.messages.map(\.revision) == owner.outlet.messages.map(\.revision).sorted())
        owner.end.cancel()
    }

    /// A revoked member hears ACCESS_REVOKED and the stream ends; the others see SHARES_CHANGED.
    @Test(arguments: StoreKind.allCases) func revocationEndsTheRevokedMembersStream(kind: StoreKind) async throws {
        let h = try HubHarness(kind)
        let olga = try h.user("olga"), vera = try h.user("vera")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        _ = try h.domain.sharing.share(projectID: project.id, grantee: .userName("vera"), role: .viewer, caller: olga)
        let owner = h.watchProject(project.id, as: olga)
        let viewer = h.watchProject(project.id, as: vera)
        await h.settle { viewer.outlet.messages.count == 2 && owner.outlet.messages.contains { $0.payloadName == "caughtUp" } }
        _ = try h.domain.sharing.revoke(projectID: project.id, target: .userName("vera"), caller: olga)
        // A presence update (olga's stream opening) may still be on its way before it on a busy machine.
        await h.settle { viewer.outlet.messages.contains { $0.payloadName == "revoked" } }
        #expect(viewer.outlet.messages.last?.payloadName == "revoked")
        #expect(viewer.outlet.messages.dropFirst(2).allSatisfy { $0.payloadName == "presence" || $0.payloadName == "revoked" })
        #expect(await h.end(viewer.end) == .accessRevoked)
        await h.settle { owner.outlet.messages.contains { $0.payloadName == "shares" } }
        guard case .sharesChanged(let change) = owner.outlet.messages.first(where: { $0.payloadName == "shares" })?.payload else { return }
        #expect(change.changeType == .revoked && change.user?.userName == "vera" && change.members.map(\.user?.userName) == ["olga"])
        _ = try h.domain.projects.delete(projectID: project.id, caller: olga)
        await h.settle { owner.outlet.messages.last?.payloadName == "deleted" }
        #expect(await h.end(owner.end) == .projectNotFound("project \(project.id) was deleted"))
    }

    /// Worker results through the store's queue operations: claims, completions and failures
    /// coalesce into SEGMENTATION_COMPLETED / SEGMENTATION_FAILED with the stats.
    @Test(arguments: StoreKind.allCases) func completionsAndFailuresCoalesce(kind: StoreKind) async throws {
        let h = try HubHarness(kind)
        let olga = try h.user("olga")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        _ = try h.upload(4, to: project.id, as: olga)
        _ = try h.domain.segmentation.enqueue(projectID: project.id, target: .unsegmented, caller: olga)
        let stream = h.watchProject(project.id, as: olga, intervalMs: 0)
        await h.settle { stream.outlet.messages.count == 2 }
        let payloads = ChangeRecordPayloads()
        let claimed = try h.store.claimJobs(workerName: "w", models: ["builtin-otsu"], limit: 4, leaseDurationMs: 60_000, payload: payloads.jobsClaimed)
        #expect(claimed.assignments.count == 4)
        for (index, assignment) in claimed.assignments.enumerated() {
            if index < 3 {
                _ = try h.store.completeJob(
                    jobID: assignment.job.id, leaseID: assignment.job.leaseID!,
                    output: SegmentationOutput(cellCount: Int64(10 * (index + 1)), result: [], processingMs: 100), payload: payloads.jobCompleted)
            } else {
                _ = try h.store.failJob(jobID: assignment.job.id, leaseID: assignment.job.leaseID!, reason: "out of focus", retryable: false, payload: payloads.jobFailed)
            }
        }
        await h.settle { stream.outlet.messages.contains { $0.payloadName == "failed" } }
        let completed = stream.outlet.messages.compactMap { if case .segmentationCompleted(let c) = $0.payload { c } else { nil } }
        #expect(completed.map(\.completedCount) == [1, 1, 1] && completed.map(\.totalCellCount) == [10, 20, 30])
        guard case .segmentationFailed(let failed) = stream.outlet.messages.last?.payload else { return }
        #expect(failed.failedCount == 1 && failed.lastReason == "out of focus")
        let stats = stream.outlet.messages.compactMap { if case .statsUpdate(let s) = $0.payload { s } else { nil } }
        #expect(stats.last?.stats?.segmentedCount == 3 && stats.last?.stats?.failedCount == 1)
        #expect(stats.first?.operations.map(\.operation) == [.segmentationStarted] && stats.first?.operations.first?.imageCount == 4)
        stream.end.cancel()
    }

    /// Resuming inside the window replays the missed discrete events, then one stats
    /// refresh; outside it (another epoch, or pruned), a RESYNC snapshot.
    @Test(arguments: StoreKind.allCases) func resumeReplaysInsideTheWindowAndResyncsOutside(kind: StoreKind) async throws {
        let h = try HubHarness(kind)
        let olga = try h.user("olga")
        _ = try h.user("vera")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        let first = h.watchProject(project.id, as: olga, intervalMs: 0)
        await h.settle { first.outlet.messages.count == 2 }
        let position = first.outlet.messages[1].revision
        first.end.cancel()
        _ = await h.end(first.end)
        let ids = try h.upload(5, to: project.id, as: olga)
        _ = try h.domain.images.delete(projectID: project.id, imageIDs: Array(ids[0..<2]), caller: olga)
        _ = try h.domain.sharing.share(projectID: project.id, grantee: .userName("vera"), role: .viewer, caller: olga)
        let resumed = h.watchProject(project.id, as: olga, resume: StreamResume(epoch: h.store.epoch, revision: Int64(position)))
        await h.settle { resumed.outlet.messages.contains { $0.payloadName == "caughtUp" } }
        #expect(resumed.outlet.messages.map(\.payloadName) == ["count", "count", "batchDeleted", "shares", "stats", "caughtUp"])
        guard case .caughtUp(let caughtUp) = resumed.outlet.messages.last?.payload,
              case .statsUpdate(let refresh) = resumed.outlet.messages[4].payload else { return }
        #expect(caughtUp.replayedCount == 4 && !caughtUp.positionLost)
        #expect(refresh.stats?.imageCount == 3 && refresh.operations.isEmpty && refresh.changeCount == 0)
        #expect(resumed.outlet.messages.map(\.revision) == resumed.outlet.messages.map(\.revision).sorted())
        resumed.end.cancel()

        let otherEpoch = h.watchProject(project.id, as: olga, resume: StreamResume(epoch: "another", revision: Int64(position)))
        await h.settle { otherEpoch.outlet.messages.count == 2 }
        guard case .snapshot(let resync) = otherEpoch.outlet.messages[0].payload, case .caughtUp(let lost) = otherEpoch.outlet.messages[1].payload else { return }
        #expect(resync.resync && lost.positionLost)
        otherEpoch.end.cancel()

        _ = try h.store.pruneEvents(committedBefore: .max)
        let pruned = h.watchProject(project.id, as: olga, resume: StreamResume(epoch: h.store.epoch, revision: Int64(position)))
        await h.settle { pruned.outlet.messages.count == 2 }
        guard case .snapshot(let again) = pruned.outlet.messages[0].payload else { return }
        #expect(again.resync && again.project?.stats?.imageCount == 3)
        pruned.end.cancel()
    }

    /// A resume names the last event applied, also inside a revision: the client that got the
    /// count change of a DeleteImage but not its IMAGE_DELETED gets exactly that one.
    @Test(arguments: StoreKind.allCases) func resumeInsideARevisionSendsExactlyTheRest(kind: StoreKind) async throws {
        let h = try HubHarness(kind)
        let olga = try h.user("olga")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        let ids = try h.upload(2, to: project.id, as: olga)
        let live = h.watchProject(project.id, as: olga, intervalMs: 0)
        await h.settle { live.outlet.messages.count == 2 }
        _ = try h.domain.images.delete(imageID: ids[0], caller: olga)
        await h.settle { live.outlet.messages.count == 5 }
        #expect(live.outlet.messages.dropFirst(2).map(\.payloadName) == ["count", "imageDeleted", "stats"])
        #expect(live.outlet.messages.dropFirst(2).map(\.sequence) == [1, 2, 0])
        let count = live.outlet.messages[2]
        live.end.cancel()
        let resumed = h.watchProject(
            project.id, as: olga, resume: StreamResume(epoch: count.epoch, revision: Int64(count.revision), sequence: count.sequence))
        await h.settle { resumed.outlet.messages.contains { $0.payloadName == "caughtUp" } }
        #expect(resumed.outlet.messages.map(\.payloadName) == ["imageDeleted", "stats", "caughtUp"])
        #expect(resumed.outlet.messages.first?.sequence == 2)
        resumed.end.cancel()
        // The whole revision (sequence 0): nothing of it again.
        let whole = h.watchProject(project.id, as: olga, resume: StreamResume(epoch: count.epoch, revision: Int64(count.revision)))
        await h.settle { whole.outlet.messages.contains { $0.payloadName == "caughtUp" } }
        #expect(whole.outlet.messages.map(\.payloadName) == ["stats", "caughtUp"])
        whole.end.cancel()
    }

    /// A consumer that stops reading: coalesced state waits (and is replaced by newer state),
    /// discrete events past the budget end the stream RESOURCE_EXHAUSTED.
    @Test(arguments: StoreKind.allCases) func slowConsumersGetCoalescedStateOrEndTooSlow(kind: StoreKind) async throws {
        let h = try HubHarness(kind) { $0.budget = StreamBudget(budget: 4_096, lowWater: 512) }
        let olga = try h.user("olga")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        let stream = h.watchProject(project.id, as: olga, intervalMs: 0)
        await h.settle { stream.outlet.messages.count == 2 }
        stream.outlet.blocked = true
        for round in 0..<40 { _ = try h.upload(1, to: project.id, as: olga, tag: "\(round)-") }
        #expect(await h.end(stream.end) == .tooSlow)
        let held = stream.outlet.unsent.count
        #expect(held < 40, "state was not queued once per change: \(held) frames held")
    }

    /// A dashboard moves for every user whose metrics changed, whoever caused it.
    @Test(arguments: StoreKind.allCases) func shareesDashboardMovesWhenTheOwnerUploads(kind: StoreKind) async throws {
        let h = try HubHarness(kind)
        let olga = try h.user("olga"), vera = try h.user("vera")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        _ = try h.domain.sharing.share(projectID: project.id, grantee: .userName("vera"), role: .viewer, caller: olga)
        let dashboard = h.watchDashboard(as: vera)
        await h.settle { dashboard.outlet.messages.count == 1 }
        _ = try h.upload(2, to: project.id, as: olga)
        await h.settle { dashboard.outlet.messages.count == 2 }
        guard case .metricsUpdate(let update) = dashboard.outlet.messages.last?.payload else {
            Issue.record("no dashboard update: \(dashboard.outlet.messages)")
            return
        }
        #expect(update.metrics?.totalImages == 2 && update.changedFields.contains("total_images") && !update.changedFields.contains("revision"))
        #expect(dashboard.outlet.messages.last?.actorUserName == "olga" && dashboard.outlet.messages.last?.projectId == project.id)
        let polled = try h.domain.stats.dashboard(caller: vera, timeZone: "UTC")
        #expect(update.metrics?.totalImages == polled.totalImages && update.metrics?.storageBytes == polled.storageBytes)
        dashboard.end.cancel()
    }

    @Test(arguments: StoreKind.allCases) func activityStreamsSendTheBacklogThenLiveEntries(kind: StoreKind) async throws {
        let h = try HubHarness(kind)
        let olga = try h.user("olga"), vera = try h.user("vera")
        let project = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        _ = try h.domain.sharing.share(projectID: project.id, grantee: .userName("vera"), role: .viewer, caller: olga)
        let feed = h.watchActivity(as: vera)
        await h.settle { feed.outlet.messages.count == 2 }
        #expect(feed.outlet.messages.map(\.kind) == [.projectSharedWithYou, .caughtUp])
        _ = try h.upload(3, to: project.id, as: olga)
        await h.settle { feed.outlet.messages.count == 3 }
        guard case .sharedProjectUpdate(let update) = feed.outlet.messages.last?.payload else { return }
        #expect(update.imageCount == 3 && update.updateType == .imagesUploaded && feed.outlet.messages.last?.actorUserName == "olga")
        feed.end.cancel()
    }

    /// The member index follows shares, revocations and deletions exactly.
    @Test(arguments: StoreKind.allCases) func memberIndexFollowsTheLog(kind: StoreKind) throws {
        let h = try HubHarness(kind)
        let olga = try h.user("olga"), eddie = try h.user("eddie"), vera = try h.user("vera")
        var index = MemberIndex(try h.store.allMembers())
        let start = try h.store.currentRevision()
        let p = try h.domain.projects.create(name: "P", description: "", caller: olga).project
        let q = try h.domain.projects.create(name: "Q", description: "", caller: eddie).project
        _ = try h.domain.sharing.share(projectID: p.id, grantee: .userName("eddie"), role: .editor, caller: olga)
        _ = try h.domain.sharing.share(projectID: p.id, grantee: .userName("vera"), role: .viewer, caller: olga)
        _ = try h.domain.sharing.share(projectID: p.id, grantee: .userName("eddie"), role: .viewer, caller: olga)
        _ = try h.domain.sharing.revoke(projectID: p.id, target: .leave(true), caller: vera)
        _ = try h.domain.sharing.share(projectID: q.id, grantee: .userName("olga"), role: .viewer, caller: eddie)
        _ = try h.domain.projects.delete(projectID: q.id, caller: eddie)
        let decoder = ChangeRecordDecoder()
        for row in try h.store.events(after: start, limit: 100) { index.apply(decoder.decode(row)!) }
        let fresh = MemberIndex(try h.store.allMembers())
        #expect(index.members(of: p.id) == fresh.members(of: p.id))
        #expect(index.members(of: q.id).isEmpty)
        #expect(index.role(of: eddie.userID, in: p.id) == .viewer && index.role(of: vera.userID, in: p.id) == nil)
        #expect(index.projects(of: olga.userID) == [p.id])
    }
}
