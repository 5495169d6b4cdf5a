extension EventHub {
    /// Opens one WatchActivity stream (`onEnd` as for `watchProject`): the backlog (the
    /// newest `backlog` entries, oldest first) or, resuming inside the window, the entries
    /// after the position; CAUGHT_UP; then live entries. `projectID` (optional) must be
    /// visible to the caller.
    package func watchActivity(
        caller: Caller, projectID: String?, backlog: Int, resume: StreamResume?, timing: StreamTiming, outlet: any StreamOutlet,
        onEnd: @escaping @Sendable (StreamEnd?) -> Void
    ) -> StreamHandle {
        open(onEnd) { [self] in
            registerActivity($0, caller: caller, projectID: projectID, backlog: backlog, resume: resume, timing: timing, outlet: outlet)
        }
    }

    private func registerActivity(
        _ handle: StreamHandle, caller: Caller, projectID: String?, backlog: Int, resume: StreamResume?, timing: StreamTiming,
        outlet: any StreamOutlet
    ) {
        guard !handle.isFinished else { return }
        guard !state.draining else {
            handle.finish(.draining)
            return
        }
        if let projectID {
            catchUp()
            guard state.index.role(of: caller.userID, in: projectID) != nil else {
                handle.finish(.projectNotFound("project \(projectID) not found"))
                return
            }
        }
        let shard = shard(for: outlet.executor)
        let stream = ActivityStream(handle: handle, user: UserRef(id: caller.userID, name: caller.name), projectID: projectID, outlet: outlet, timing: timing)
        state.subscriptions[handle.id] = Subscription(kind: .activity, userID: caller.userID, shard: shard)
        state.userStreams[caller.userID, default: []].insert(handle.id)
        state.activityStreams[caller.userID, default: 0] += 1
        shard.executor.execute { shard.add(stream) }
        reader().execute { [self] in
            let honoured = resume.flatMap { $0.epoch == store.epoch ? $0 : nil }
            do {
                var read = try store.activityStreamStart(
                    userID: caller.userID, projectID: projectID, backlog: backlog, replayAfter: honoured?.readAfter, limit: options.maxReplay + 1)
                var lost = resume != nil
                if let position = honoured {
                    if position.readAfter >= read.bounds.prunedThrough, position.revision <= read.bounds.current,
                       read.entries.count <= options.maxReplay {
                        lost = false
                        read.entries.removeAll { position.covers(revision: $0.revision, sequence: $0.sequence) }
                    } else {
                        read = try store.activityStreamStart(userID: caller.userID, projectID: projectID, backlog: backlog, replayAfter: nil, limit: 0)
                    }
                }
                var encoded = read.entries.map { entry in
                    encoder.encode(ActivityStreamEvent(
                        EventHeader(
                            revision: entry.revision, timestampMs: entry.committedAtMs, projectID: entry.projectID, actor: entry.actor,
                            sequence: entry.sequence),
                        .entry(entry, recipient: UserRef(id: caller.userID, name: caller.name))))
                }
                let revision = read.bounds.current
                encoded.append(encoder.encode(ActivityStreamEvent(
                    EventHeader(revision: revision, timestampMs: SystemValues.milliseconds(), projectID: ""),
                    .caughtUp(replayed: Int64(read.entries.count), positionLost: lost))))
                let frames = encoded
                shard.executor.execute { stream.start(frames: frames, revision: revision, shard: shard) }
            } catch {
                options.reportFault("event hub: reading an activity feed failed: \(error)")
                shard.executor.execute { shard.end(stream, .failed("the activity feed could not be read")) }
            }
        }
    }
}
