internal import Synchronization

/// Project counters by project, fed from the counters every write returns: an entry only
/// ever moves to a higher revision, so a late or racing update can never make it older, and
/// since every write path records what it committed, an entry is never stale.
///
/// Bounded: when full, it is emptied (misses are one primary-key read, so the simplest
/// eviction is good enough).
final class StatsCache: Sendable {
    private let entries: Mutex<[String: ProjectCounters]>
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        entries = Mutex([:])
    }

    func counters(_ projectID: String) -> ProjectCounters? { entries.withLock { $0[projectID] } }

    /// Keeps `counters` unless a newer revision is already cached.
    func record(_ counters: ProjectCounters) {
        entries.withLock { entries in
            if let cached = entries[counters.projectID], cached.revision >= counters.revision { return }
            if entries.count >= capacity && entries[counters.projectID] == nil { entries.removeAll(keepingCapacity: true) }
            entries[counters.projectID] = counters
        }
    }

    /// Forgets a deleted project.
    func remove(_ projectID: String) {
        _ = entries.withLock { $0.removeValue(forKey: projectID) }
    }

    var count: Int { entries.withLock { $0.count } }
}
