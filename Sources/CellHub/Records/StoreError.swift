/// Why a store operation failed. The domain maps each case to its own errors (and gRPC
/// statuses) in one exhaustive switch; `.database` is always an internal fault.
package enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What a `notFound` refers to.
    package enum Entity: String, Sendable, Equatable {
        case user, project, member, image, job, batch
    }

    /// Why a worker's lease cannot be used.
    package enum LeaseProblem: Sendable, Equatable {
        /// The lease id is not the job's current or last lease, and the job never had
        /// another (NOT_FOUND).
        case unknownLease
        /// The lease id is not the job's current one but the job has had several attempts:
        /// taken to be an earlier attempt's lease, expired and superseded (FAILED_PRECONDITION).
        case superseded
        /// The lease expired (whether or not the sweep has re-queued the job yet).
        case expired
        /// The job was cancelled, or its image or project deleted.
        case jobCancelled
        /// The job already finished (completed or failed).
        case jobFinished
    }

    /// No such row, or (for `.member`) the user is not a member.
    case notFound(Entity, id: String)
    /// Another user already has this name.
    case userNameTaken(String)
    /// The owner already has a project with this name.
    case projectNameTaken(String)
    /// Shares cannot target the owner (share, revoke or role change).
    case ownerMembership(projectID: String)
    /// The idempotency key was used before for a different request.
    case idempotencyKeyReused(String)
    /// These ids are not images of the project; nothing was changed.
    case imagesNotFound([String])
    /// `cancelJobs(.jobs)` listed a job that already finished; nothing was cancelled.
    case jobFinished(jobID: String, status: JobStatus)
    /// A worker's lease is not (or no longer) valid.
    case lease(jobID: String, LeaseProblem)
    /// Enqueueing would exceed the service-wide queue limit.
    case queueFull(limit: Int64)
    /// The database has a migration this binary does not know: it was written by a newer
    /// version, and opening it could corrupt it.
    case unknownMigration(String)
    /// The database failed (I/O, busy beyond the timeout, a broken invariant caught by a
    /// constraint).
    case database(DatabaseFault)

    package var description: String {
        switch self {
        case .notFound(let entity, let id): "\(entity.rawValue) \(id) not found"
        case .userNameTaken(let name): "user name '\(name)' is taken"
        case .projectNameTaken(let name): "a project named '\(name)' already exists"
        case .ownerMembership(let projectID): "the owner's membership of project \(projectID) cannot be shared or revoked"
        case .idempotencyKeyReused(let key): "idempotency key '\(key)' was used for a different request"
        case .imagesNotFound(let ids): "\(ids.count) image(s) not found in the project, first \(ids.first ?? "")"
        case .jobFinished(let jobID, let status): "job \(jobID) already finished (\(status))"
        case .lease(let jobID, let problem): "lease on job \(jobID) is not valid: \(problem)"
        case .queueFull(let limit): "the queue is full (limit \(limit))"
        case .unknownMigration(let name): "the database has migration '\(name)' unknown to this version"
        case .database(let error): error.description
        }
    }
}

/// A storage backend's own failure, described for logs: always an internal fault to the
/// domain. Each store maps its library's errors to it (SQLite today).
package struct DatabaseFault: Error, Sendable, Equatable, CustomStringConvertible {
    package let description: String
    /// A uniqueness constraint refused the write (e.g. two writers racing for one name).
    package let isUniqueViolation: Bool

    package init(description: String, isUniqueViolation: Bool) {
        self.description = description
        self.isUniqueViolation = isUniqueViolation
    }
}
