import CellHub
import CellHubSQL

/// The PostgreSQL store implements every repository the domain declares, with CellHubSQL's
/// shared operations (`SQLStore`).
extension PostgresStore: SQLStore, UserRepository, ProjectRepository, ImageRepository, QueueRepository, StatsRepository,
    ActivityRepository, WorkerQueueRepository, ChangeLog, CommitSignal, StreamReads {}

/// And what `cellhubd` and the tests need beyond them.
extension PostgresStore: StoreAdministration {}
