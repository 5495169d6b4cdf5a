/// Where a client wants a stream to resume: the (epoch, revision) of the last event it
/// applied.
package struct StreamResume: Sendable, Hashable {
    package var epoch: String
    package var revision: Int64
    /// How many of the stream's discrete events of `revision` the client has; 0 = all.
    package var sequence: UInt32

    package init(epoch: String, revision: Int64, sequence: UInt32 = 0) {
        self.epoch = epoch
        self.revision = revision
        self.sequence = sequence
    }

    /// Where a replay reads from: the position's revision itself when part of it is missing.
    var readAfter: Int64 { sequence > 0 ? revision - 1 : revision }

    /// Whether an event at `revision` numbered `sequence` is one the client already has.
    func covers(revision other: Int64, sequence number: UInt32) -> Bool {
        other < revision || (other == revision && (sequence == 0 || number <= sequence))
    }
}

extension EventHub {
    /// Opens one WatchProject stream; `onEnd` hears once (on any thread) why the hub ended it,
    /// or nil after `close` (the client went away). The caller must be a member of the
    /// project at subscribe time (else `.projectNotFound`, nothing sent).
    ///
    /// Sequence: without `resume`, SNAPSHOT then CAUGHT_UP at the snapshot's revision, then
    /// live events after it. With a `resume` inside the retention window (same epoch, not
    /// pruned, at most `maxReplay` changes of the project since): its discrete events after
    /// the position, the coalesced completions, one stats refresh, CAUGHT_UP, live events.
    /// Otherwise a SNAPSHOT with `resync`, and CAUGHT_UP with `position_lost`.
    package func watchProject(
        projectID: String, caller: Caller, resume: StreamResume?, timing: StreamTiming, outlet: any StreamOutlet,
        onEnd: @escaping @Sendable (StreamEnd?) -> Void
    ) -> StreamHandle {
        open(onEnd) { [self] in registerProject($0, projectID: projectID, caller: caller, resume: resume, timing: timing, outlet: outlet) }
    }

    /// Hub thread: checks access at the hub's position, registers the stream (buffering from
    /// that position on) and has a reader send its start.
    private func registerProject(
        _ handle: StreamHandle, projectID: String, caller: Caller, resume: StreamResume?, timing: StreamTiming, outlet: any StreamOutlet
    ) {
        guard !handle.isFinished else { return }
        guard !state.draining else {
            handle.finish(.draining)
            return
        }
        catchUp()  // access is checked against everything committed before the subscribe
        guard state.index.role(of: caller.userID, in: projectID) != nil else {
            handle.finish(.projectNotFound("project \(projectID) not found"))
            return
        }
        let shard = shard(for: outlet.executor)
        let stream = ProjectStream(handle: handle, userID: caller.userID, projectID: projectID, outlet: outlet, timing: timing)
        state.subscriptions[handle.id] = Subscription(kind: .project(projectID), userID: caller.userID, shard: shard)
        state.userStreams[caller.userID, default: []].insert(handle.id)
        state.projectStreams[projectID, default: []].insert(handle.id)
        state.projectShards[projectID, default: [:]][shard.key, default: 0] += 1
        let watchers = join(projectID: projectID, user: UserRef(id: caller.userID, name: caller.name), streamID: handle.id)
        // Queued on the executor before any later batch: the stream buffers from here.
        shard.executor.execute { shard.add(stream) }
        reader().execute { [self] in
            startProject(stream, shard: shard, caller: caller, resume: resume, watchers: watchers)
        }
    }

    /// Reader thread: reads the snapshot or replay in one store snapshot and hands the frames
    /// to the stream's executor.
    private func startProject(_ stream: ProjectStream, shard: StreamShard, caller: Caller, resume: StreamResume?, watchers: [UserRef]) {
        let projectID = stream.projectID
        let honoured = resume.flatMap { $0.epoch == store.epoch ? $0 : nil }
        let read: ProjectStreamStart
        do {
            read = try store.projectStreamStart(
                projectID: projectID, userID: caller.userID, replayAfter: honoured?.readAfter, limit: options.maxReplay + 1)
        } catch {
            options.reportFault("event hub: reading project \(projectID) for a stream failed: \(error)")
            shard.executor.execute { shard.end(stream, .failed("the project's state could not be read")) }
            return
        }
        guard let project = read.project else {
            // Access was lost between the check and the read: the revocation is older than
            // the snapshot, so no live event would say so.
            shard.executor.execute { shard.end(stream, .projectNotFound("project \(projectID) not found")) }
            return
        }
        let revision = read.bounds.current
        let now = SystemValues.milliseconds()
        let header = EventHeader(revision: revision, timestampMs: now, projectID: projectID)
        var frames: [EventFrame] = []
        if let position = honoured, position.readAfter >= read.bounds.prunedThrough, position.revision <= revision,
           read.events.count <= options.maxReplay {
            let replay = replayEvents(read.events, projectID: projectID, userID: caller.userID, members: read.members)
                .filter { !position.covers(revision: $0.header.revision, sequence: $0.header.sequence) }
            frames += replay.map(encoder.encode)
            frames.append(encoder.encode(ProjectStreamEvent(header, .statsUpdate(StatsUpdate(
                counters: project.counters, causes: [], affected: AffectedImageList(), firstRevision: revision, changeCount: 0)))))
            frames.append(encoder.encode(ProjectStreamEvent(header, .caughtUp(replayed: Int64(replay.count), positionLost: false))))
        } else {
            let lost = resume != nil
            frames.append(encoder.encode(ProjectStreamEvent(header, .snapshot(project: project, members: read.members, watchers: watchers, resync: lost))))
            frames.append(encoder.encode(ProjectStreamEvent(header, .caughtUp(replayed: 0, positionLost: lost))))
        }
        let start = frames
        shard.executor.execute { stream.start(frames: start, revision: revision, shard: shard) }
    }

    /// The events a resuming stream missed: each change's discrete events for this user, in
    /// order, with completions and failures coalesced between them. A revocation of this
    /// user in the window was undone since (they are a member now): it does not end the
    /// stream.
    private func replayEvents(_ stored: [StoredEvent], projectID: String, userID: String, members: [MemberRecord]) -> [ProjectStreamEvent] {
        var names = Dictionary(members.map { ($0.user.id, $0.user) }, uniquingKeysWith: { first, _ in first })
        var events: [ProjectStreamEvent] = []
        var segmentation: PendingUpdate?
        func flushSegmentation() {
            guard let pending = segmentation else { return }
            events += pending.events(projectID: projectID).filter { if case .statsUpdate = $0.payload { false } else { true } }
            segmentation = nil
        }
        for row in stored {
            guard let change = decoder.decode(row) else {
                options.reportFault("event hub: cannot decode event-log row \(row.revision) in a replay; skipped")
                continue
            }
            for user in change.users { names[user.id] = user }
            let resolve: (String) -> UserRef? = { [store] id in
                if let known = names[id] { return known }
                let found = (try? store.user(id: id))?.map(\.ref)
                if let found { names[id] = found }
                return found
            }
            guard let effect = ProjectEffect.effects(of: change, user: resolve)[projectID] else { continue }
            if !effect.completed.isEmpty || !effect.failed.isEmpty {
                if segmentation == nil { segmentation = PendingUpdate(effect) } else { segmentation?.fold(effect) }
            }
            let discrete = effect.discrete.filter { $0.reaches(userID) && $0.ends != .accessRevoked }
            guard !discrete.isEmpty else { continue }
            flushSegmentation()
            events += discrete.map(\.event)
        }
        flushSegmentation()
        return events
    }
}
