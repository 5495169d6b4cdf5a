import CellHub

/// The PostgreSQL store implements every repository the domain declares.
extension PostgresStore: UserRepository, ProjectRepository, ImageRepository, QueueRepository, StatsRepository,
    ActivityRepository, WorkerQueueRepository, ChangeLog, CommitSignal, StreamReads {}

extension StoreError {
    /// Maps whatever a store body threw: store errors pass through, PostgreSQL errors are
    /// wrapped. Nothing else is thrown inside the store.
    static func wrapping(_ error: any Error) -> StoreError {
        switch error {
        case let error as StoreError: return error
        case let error as PGError: return .database(DatabaseFault(description: error.description, isUniqueViolation: error.isUniqueViolation))
        default: preconditionFailure("unexpected error \(error) inside the store: a bug in CellHub")
        }
    }
}

/// And what `cellhubd` and the tests need beyond them.
extension PostgresStore: StoreAdministration {}
