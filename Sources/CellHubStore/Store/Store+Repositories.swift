import CellHub
import CellHubSQL

/// The SQLite store implements every repository the domain declares, with CellHubSQL's
/// shared operations (`SQLStore`).
extension Store: SQLStore, UserRepository, ProjectRepository, ImageRepository, QueueRepository, StatsRepository,
    ActivityRepository, WorkerQueueRepository, ChangeLog, CommitSignal, StreamReads {}

/// And what `cellhubd` and the tests need beyond them.
extension Store: StoreAdministration {}
