/// Everything the domain needs from one store: every repository and the event log. A store
/// (SQLite now, PostgreSQL later) implements it without the domain knowing which.
package typealias DomainStore = UserRepository & ProjectRepository & ImageRepository & QueueRepository
    & StatsRepository & ActivityRepository & WorkerQueueRepository & ChangeLog & CommitSignal & StreamReads & OrphanSweepLock
