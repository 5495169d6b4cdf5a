/// The coalesced state of one project stream waiting to be sent: the latest stats with every
/// change folded in since the last update, and the completions and failures among them.
///
/// Folding only ever moves `lastRevision` forward, and the stream folds each change before
/// it sends that change's discrete events — so whenever the update is sent, its revision
/// is at least that of everything sent before it. A change that does not move the stats (a
/// share, a rename) still advances a pending update's revision: the stats are exact at it too.
package struct PendingUpdate: Sendable {
    package private(set) var counters: ProjectCounters?
    package private(set) var firstRevision: Int64
    package private(set) var lastRevision: Int64
    /// Changes that moved the stats.
    package private(set) var changeCount: Int64 = 0
    private var causes: [StatsCauseCount] = []
    private var affected = AffectedImageList()
    private var completed = AffectedImageList()
    private var completedCells: Int64 = 0
    private var completedMs: Int64 = 0
    private var failed = AffectedImageList()
    private var lastFailure = ""
    private(set) var timestampMs: Int64
    private(set) var actor: UserRef?

    /// A pending update starting with `effect` (which moves the stats).
    package init(_ effect: ProjectEffect) {
        firstRevision = effect.revision
        lastRevision = effect.revision
        timestampMs = effect.timestampMs
        actor = effect.actor
        fold(effect)
    }

    /// Folds in a later change of the project.
    package mutating func fold(_ effect: ProjectEffect) {
        precondition(effect.revision >= lastRevision, "changes fold in revision order")
        lastRevision = effect.revision
        guard effect.movesStats else { return }
        counters = effect.counters
        changeCount += 1
        timestampMs = effect.timestampMs
        actor = effect.actor
        for cause in effect.causes {
            if let index = causes.firstIndex(where: { $0.cause == cause.cause }) {
                causes[index].changeCount += cause.changeCount
                causes[index].imageCount += cause.imageCount
            } else {
                causes.append(cause)
            }
        }
        for id in effect.affectedImageIDs { affected.add(id) }
        for job in effect.completed {
            completed.add(job.imageID)
            completedCells += job.cellCount
            completedMs += job.processingMs
        }
        for job in effect.failed {
            failed.add(job.imageID)
            lastFailure = job.reason
        }
    }

    /// Advances the revision for a change of the project that did not move the stats.
    package mutating func absorb(revision: Int64) {
        lastRevision = max(lastRevision, revision)
    }

    /// The events this update sends, in order: PROJECT_STATS_UPDATE, then the coalesced
    /// SEGMENTATION_COMPLETED and SEGMENTATION_FAILED, all at `lastRevision`.
    package func events(projectID: String) -> [ProjectStreamEvent] {
        let header = EventHeader(revision: lastRevision, timestampMs: timestampMs, projectID: projectID, actor: actor)
        var events: [ProjectStreamEvent] = []
        if let counters {
            events.append(ProjectStreamEvent(header, .statsUpdate(StatsUpdate(
                counters: counters, causes: causes, affected: affected, firstRevision: firstRevision, changeCount: changeCount))))
        }
        if completed.totalCount > 0 {
            events.append(ProjectStreamEvent(header, .segmentationCompleted(
                completed, count: completed.totalCount, totalCells: completedCells,
                averageProcessingMs: Double(completedMs) / Double(completed.totalCount))))
        }
        if failed.totalCount > 0 {
            events.append(ProjectStreamEvent(header, .segmentationFailed(failed, count: failed.totalCount, lastReason: lastFailure)))
        }
        return events
    }

    /// Streams whose pending updates share this key send identical bytes (encoded once).
    package var key: PendingKey { PendingKey(first: firstRevision, last: lastRevision, changes: changeCount) }
}

package struct PendingKey: Hashable, Sendable {
    var first: Int64
    var last: Int64
    var changes: Int64
}
