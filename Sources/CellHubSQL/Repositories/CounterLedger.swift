import CellHub

/// Counter moves of many operations in one transaction, written once per project at the end
/// instead of once per operation. The job dispatcher's batches (a few results and claims per
/// commit, all in one project) moved the same rows — the project's counters, every member's
/// counters and rows, the queue counters, the activity buckets — once per job (11 % of the
/// server's CPU in a profile of the queue benchmark).
///
/// Each operation still gets the counters as they stand after it (computed here from the row
/// read at the project's first move), so its event carries exactly what the per-operation
/// UPDATE would have returned. `Transaction.deferringCounters` writes the sums at its end
/// through the same statements (`apply`, `addActivity`), so the CHECK constraints still judge
/// the result. Nothing in that transaction may read those rows from SQL before then; reads go
/// through `Transaction.counters(of:)`.
final class CounterLedger {
    struct Project {
        /// The counters after the last move, as the UPDATE would have returned them.
        var current: ProjectCounters
        /// The sum of the moves, for the one UPDATE at flush.
        var delta = CounterDelta()
        /// Completions to count in the activity bucket of the transaction's instant.
        var completed: Int64 = 0
    }

    /// Copied before a savepoint and put back when it rolls back.
    var projects: [String: Project] = [:]

    /// Moves a project's counters in memory and returns them; nil when the project has no
    /// counters row.
    /// - Throws: a CHECK constraint error when a count would go below zero, as the UPDATE would.
    func apply(_ delta: CounterDelta, to projectID: String, revision: Int64, now: Int64, loading: () throws -> ProjectCounters?) throws -> ProjectCounters? {
        var project: Project
        if let known = projects[projectID] {
            project = known
        } else {
            guard let row = try loading() else { return nil }
            project = Project(current: row)
        }
        var after = project.current
        after.imageCount += delta.imageCount
        after.noSegmentation += delta.count(.noSegmentation)
        after.queued += delta.count(.queued)
        after.processing += delta.count(.processing)
        after.segmented += delta.count(.segmented)
        after.failed += delta.count(.failed)
        after.totalBytes += delta.bytes
        after.lastImageAddedAtMs = max(after.lastImageAddedAtMs, delta.lastImageAddedAtMs)
        after.lastSegmentationCompletedAtMs = max(after.lastSegmentationCompletedAtMs, delta.lastCompletedAtMs)
        after.updatedAtMs = now
        after.revision = revision
        guard ImageStatus.allCases.allSatisfy({ after.count($0) >= 0 }), after.imageCount >= 0, after.totalBytes >= 0 else {
            // What the CHECK constraints of the counters row would refuse, refused the same way
            // (a database fault: the caller's bug, not a domain outcome).
            throw StoreError.database(DatabaseFault(
                description: "CHECK constraint failed: the counters of project \(projectID) would go below zero",
                isUniqueViolation: false))
        }
        project.current = after
        project.delta.add(delta)
        projects[projectID] = project
        return after
    }

    /// Counts completions for the project's activity; false when the project has no entry
    /// (its counters were not moved through the ledger), so the caller writes them itself.
    func addCompleted(_ count: Int64, projectID: String) -> Bool {
        guard projects[projectID] != nil else { return false }
        projects[projectID]!.completed += count
        return true
    }

    func current(_ projectID: String) -> ProjectCounters? { projects[projectID]?.current }
}
