/// What one change means to the WatchProject streams of one project: a stats movement to
/// fold into each stream's pending update (with the completions and failures, which coalesce
/// the same way), and discrete events that every stream gets as they are, in order.
///
/// Built from the change alone (`effects(of:)`), so a replay builds exactly what the live
/// streams got.
package struct ProjectEffect: Sendable {
    package var revision: Int64
    package var timestampMs: Int64
    package var actor: UserRef?
    /// The counters after the change, when it moved them.
    package var counters: ProjectCounters?
    /// The causes it contributes to a stats update (one per cause).
    package var causes: [StatsCauseCount] = []
    /// Images whose status or existence changed, in operation order.
    package var affectedImageIDs: [String] = []
    /// Jobs that completed / failed for good here (coalesced like the stats).
    package var completed: [(imageID: String, cellCount: Int64, processingMs: Int64)] = []
    package var failed: [(imageID: String, reason: String)] = []
    /// Discrete events, in order.
    package var discrete: [DiscreteEvent] = []

    /// Whether a stats update must carry this change.
    package var movesStats: Bool { counters != nil }

    package init(revision: Int64, timestampMs: Int64, actor: UserRef?) {
        self.revision = revision
        self.timestampMs = timestampMs
        self.actor = actor
    }
}

/// A discrete event of a project stream and who gets it.
package struct DiscreteEvent: Sendable {
    package enum Audience: Sendable, Hashable {
        case everyone
        /// Only this user's streams (ACCESS_REVOKED).
        case only(String)
        /// Everyone but this user (SHARES_CHANGED after a revocation: the revoked user hears
        /// ACCESS_REVOKED instead).
        case allBut(String)
    }

    package var event: ProjectStreamEvent
    package var audience: Audience
    /// The stream ends after this event, with this status.
    package var ends: StreamEnd?
    /// The event encoded (once, by the hub, for every stream that gets it).
    package var frame: EventFrame?

    /// Whether everyone this event reaches also got `earlier` (so it counts before this one
    /// in their numbering).
    func isPreceded(by earlier: DiscreteEvent) -> Bool {
        switch (earlier.audience, audience) {
        case (.everyone, _): true
        case (.only(let a), .only(let b)): a == b
        case (.allBut(let a), .allBut(let b)): a == b
        case (.allBut(let a), .only(let b)): a != b
        default: false
        }
    }

    package func reaches(_ userID: String) -> Bool {
        switch audience {
        case .everyone: true
        case .only(let id): id == userID
        case .allBut(let id): id != userID
        }
    }
}

extension ProjectEffect {
    /// The effect of `change` on each project it touched, keyed by project id. `user`
    /// resolves an id to a reference with its name (the actor's, for display).
    package static func effects(of change: Change, user: (String) -> UserRef?) -> [String: ProjectEffect] {
        let actor = change.actorID.map { user($0) ?? UserRef(id: $0, name: "") }
        var effects: [String: ProjectEffect] = [:]
        func effect(_ projectID: String) -> ProjectEffect {
            effects[projectID] ?? ProjectEffect(revision: change.revision, timestampMs: change.committedAtMs, actor: actor)
        }
        func header(_ projectID: String) -> EventHeader {
            EventHeader(revision: change.revision, timestampMs: change.committedAtMs, projectID: projectID, actor: actor)
        }
        let countersByProject = Dictionary(change.stats.map { ($0.projectID, $0) }, uniquingKeysWith: { _, last in last })
        /// Folds a stats movement with one cause into each project it touched.
        func stats(_ cause: StatsCause, imagesByProject: [String: [String]]) {
            for (projectID, imageIDs) in imagesByProject {
                var e = effect(projectID)
                e.counters = countersByProject[projectID] ?? e.counters
                e.causes.append(StatsCauseCount(cause: cause, changeCount: 1, imageCount: Int64(imageIDs.count)))
                e.affectedImageIDs += imageIDs
                effects[projectID] = e
            }
        }
        func imagesByProject() -> [String: [String]] {
            var grouped: [String: [String]] = [:]
            for image in change.images {
                guard let projectID = image.projectID ?? change.projectID else { continue }
                grouped[projectID, default: []].append(image.id)
            }
            return grouped
        }

        switch change.kind {
        case .userCreated, .userRevoked, .projectCreated:
            break
        case .projectUpdated:
            guard let projectID = change.projectID else { break }
            var e = effect(projectID)
            e.discrete.append(DiscreteEvent(
                event: ProjectStreamEvent(header(projectID), .projectUpdated(
                    name: change.projectName, description: change.projectDescription, changedFields: change.changedFields,
                    updatedAtMs: change.committedAtMs)),
                audience: .everyone))
            effects[projectID] = e
        case .projectDeleted:
            guard let projectID = change.projectID else { break }
            var e = effect(projectID)
            e.discrete.append(DiscreteEvent(
                event: ProjectStreamEvent(header(projectID), .projectDeleted(name: change.projectName)), audience: .everyone,
                ends: .projectNotFound("project \(projectID) was deleted")))
            effects[projectID] = e
        case .shareGranted:
            guard let projectID = change.projectID, let member = change.users.first else { break }
            var e = effect(projectID)
            let kind: MemberChange = change.previousRole == nil ? .added : .roleChanged
            e.discrete.append(DiscreteEvent(
                event: ProjectStreamEvent(header(projectID), .sharesChanged(
                    kind, user: member, role: change.role, previousRole: change.previousRole, members: change.members)),
                audience: .everyone))
            effects[projectID] = e
        case .shareRevoked:
            guard let projectID = change.projectID, let member = change.users.first else { break }
            var e = effect(projectID)
            e.discrete.append(DiscreteEvent(
                event: ProjectStreamEvent(header(projectID), .sharesChanged(
                    change.left ? .left : .revoked, user: member, role: nil, previousRole: change.role, members: change.members)),
                audience: .allBut(member.id)))
            e.discrete.append(DiscreteEvent(
                event: ProjectStreamEvent(header(projectID), .accessRevoked(by: actor ?? member, left: change.left)),
                audience: .only(member.id), ends: .accessRevoked))
            effects[projectID] = e
        case .imagesUploaded:
            guard let projectID = change.projectID else { break }
            stats(.imagesUploaded, imagesByProject: [projectID: change.images.map(\.id)])
            var e = effect(projectID)
            let now = e.counters?.imageCount ?? change.previousImageCount + Int64(change.images.count)
            e.discrete.append(DiscreteEvent(
                event: ProjectStreamEvent(header(projectID), .imageCountChange(previous: change.previousImageCount, new: now, added: true)),
                audience: .everyone))
            effects[projectID] = e
        case .imageDeleted, .imagesDeleted:
            guard let projectID = change.projectID else { break }
            stats(.imagesDeleted, imagesByProject: [projectID: change.images.map(\.id)])
            var e = effect(projectID)
            let now = e.counters?.imageCount ?? change.previousImageCount - Int64(change.images.count)
            e.discrete.append(DiscreteEvent(
                event: ProjectStreamEvent(header(projectID), .imageCountChange(previous: change.previousImageCount, new: now, added: false)),
                audience: .everyone))
            if change.kind == .imageDeleted, let image = change.images.first {
                e.discrete.append(DiscreteEvent(
                    event: ProjectStreamEvent(header(projectID), .imageDeleted(
                        id: image.id, name: image.name, sizeBytes: image.sizeBytes, previousStatus: image.previousStatus)),
                    audience: .everyone))
            } else {
                e.discrete.append(DiscreteEvent(
                    event: ProjectStreamEvent(header(projectID), .batchImagesDeleted(AffectedImageList(change.images.map(\.id)), freedBytes: change.bytes)),
                    audience: .everyone))
            }
            effects[projectID] = e
        case .segmentationQueued:
            stats(.segmentationQueued, imagesByProject: imagesByProject())
        case .segmentationCancelled:
            stats(.segmentationCancelled, imagesByProject: imagesByProject())
        case .segmentationStarted, .segmentationCompleted, .segmentationFailed, .leasesExpired:
            var started: [String: [String]] = [:], completed: [String: [String]] = [:]
            var failed: [String: [String]] = [:], requeued: [String: [String]] = [:]
            for job in change.jobs {
                switch job.outcome {
                case .started: started[job.projectID, default: []].append(job.imageID)
                case .completed: completed[job.projectID, default: []].append(job.imageID)
                case .failed: failed[job.projectID, default: []].append(job.imageID)
                case .requeued: requeued[job.projectID, default: []].append(job.imageID)
                }
            }
            stats(.segmentationStarted, imagesByProject: started)
            stats(.segmentationCompleted, imagesByProject: completed)
            stats(.segmentationFailed, imagesByProject: failed)
            stats(.segmentationRequeued, imagesByProject: requeued)
            for job in change.jobs {
                switch job.outcome {
                case .completed(let cells, let milliseconds):
                    effects[job.projectID]?.completed.append((job.imageID, cells, milliseconds))
                case .failed(let reason):
                    effects[job.projectID]?.failed.append((job.imageID, reason))
                case .started, .requeued:
                    break
                }
            }
        }
        // Number each discrete event among those its audience gets from this change (the
        // `sequence` a resume names; a replay numbers them the same way).
        for projectID in effects.keys {
            let events = effects[projectID]!.discrete
            for index in events.indices {
                let before = events[..<index].filter { events[index].isPreceded(by: $0) }.count
                effects[projectID]!.discrete[index].event.header.sequence = UInt32(before + 1)
            }
        }
        return effects
    }
}
