import CellHub

/// The SQLite store implements every repository the domain declares.
extension Store: UserRepository, ProjectRepository, ImageRepository, QueueRepository, StatsRepository, ActivityRepository,
    WorkerQueueRepository,
    ChangeLog, CommitSignal, StreamReads {}

extension StoreError {
    /// Maps whatever a store body threw: store errors pass through, SQLite errors are wrapped.
    /// Nothing else is thrown inside the store.
    static func wrapping(_ error: any Error) -> StoreError {
        switch error {
        case let error as StoreError: return error
        case let error as SQLiteError: return .database(DatabaseFault(error))
        default: preconditionFailure("unexpected error \(error) inside the store: a bug in CellHub")
        }
    }
}

extension DatabaseFault {
    init(_ error: SQLiteError) {
        self.init(description: error.description, isUniqueViolation: error.isUniqueViolation)
    }
}

extension Store: StoreAdministration {}
