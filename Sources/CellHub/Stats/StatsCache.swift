internal import Synchronization

/// Project counters by project, fed from the counters every write returns, and the roles of
/// the users who read them: `read` answers a viewer's stats with one lookup under one lock.
///
/// Counters only ever move to a higher revision, so a late or racing update can never make
/// them older, and since every write path records what it committed, they are never stale.
/// Roles are kept under the membership generation they were read at (read it *before* the
/// role lookup): a change of any share by any process moves it and drops them all. A reader
/// may attach a companion to the counters it read (an encoded reply), kept until they move.
///
/// Bounded: a full map starts over (a miss is one primary-key read, so the simplest
/// eviction is good enough).
final class StatsCache: Sendable {
    /// One project's counters and what a reader made of them, shared by its viewers' entries;
    /// only touched under `state`'s lock.
    private final class Project {
        var counters: ProjectCounters
        var companion: (any AnyObject & Sendable)?
        /// Evicted or deleted: viewers' entries still pointing here must not answer.
        var gone = false

        init(_ counters: ProjectCounters) { self.counters = counters }
    }

    private struct State {
        var projects: [String: Project] = [:]
        var viewers: [ProjectViewer: (role: MemberRole, project: Project)] = [:]
        var viewersGeneration: UInt64 = 0

        mutating func removeAll() {
            for project in projects.values { project.gone = true }
            projects.removeAll(keepingCapacity: true)
            viewers.removeAll(keepingCapacity: true)
        }
    }

    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func counters(_ projectID: String) -> ProjectCounters? { state.withLock { $0.projects[projectID]?.counters } }

    /// Keeps `counters` unless a newer revision is already cached.
    func record(_ counters: ProjectCounters) {
        state.withLock { state in
            if let project = state.projects[counters.projectID] {
                guard counters.revision > project.counters.revision else { return }
                project.counters = counters
                project.companion = nil
                return
            }
            if state.projects.count >= capacity { state.removeAll() }
            state.projects[counters.projectID] = Project(counters)
        }
    }

    /// Keeps `role` as `userID`'s on `projectID`, read by a lookup that started at
    /// `generation`; only while the project's counters are cached (they are what it serves).
    func admit(_ role: MemberRole, userID: String, projectID: String, generation: UInt64) {
        state.withLock { state in
            if state.viewersGeneration != generation || state.viewers.count >= capacity {
                state.viewers.removeAll(keepingCapacity: true)
                state.viewersGeneration = generation
            }
            guard let project = state.projects[projectID] else { return }
            state.viewers[ProjectViewer(projectID: projectID, userID: userID)] = (role, project)
        }
    }

    /// The counters of `projectID` and their companion, when `userID`'s role on it is kept
    /// under `generation` (the membership generation now).
    func read(projectID: String, userID: String, generation: UInt64) -> (counters: ProjectCounters, companion: (any AnyObject & Sendable)?)? {
        state.withLock { state in
            guard state.viewersGeneration == generation,
                  let project = state.viewers[ProjectViewer(projectID: projectID, userID: userID)]?.project, !project.gone
            else { return nil }
            return (project.counters, project.companion)
        }
    }

    /// Attaches `companion` to the counters of `projectID` if they are still at `revision`.
    func attach(_ companion: any AnyObject & Sendable, projectID: String, revision: Int64) {
        state.withLock { state in
            guard let project = state.projects[projectID], project.counters.revision == revision else { return }
            project.companion = companion
        }
    }

    /// Forgets a deleted project.
    func remove(_ projectID: String) {
        state.withLock { state in
            state.projects.removeValue(forKey: projectID)?.gone = true
        }
    }

    var count: Int { state.withLock { $0.projects.count } }
}
