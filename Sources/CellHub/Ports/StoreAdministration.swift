/// What the administrative commands (`cellhubd serve`'s first start, `users`, `check`,
/// maintenance) and the store tests need beyond the domain's repositories. Every store
/// implements it, so `cellhubd` runs on either without knowing which.
package protocol StoreAdministration: Sendable {
    /// Migrations applied when this store was opened (empty when it was up to date).
    var appliedMigrations: [String] { get }
    /// Creates a user with one API token stored as its SHA-256. Appends `userCreated`.
    func createUser(name: String, isWorker: Bool, tokenHash: [UInt8], payload: (UserCreated) -> [UInt8]) throws(StoreError) -> UserCreated
    /// Every user, oldest first.
    func users() throws(StoreError) -> [UserRecord]
    /// Revokes a user and all their tokens. Appends `userRevoked`.
    func revokeUser(id: String, payload: (UserRevoked) -> [UInt8]) throws(StoreError) -> UserRevoked
    /// Recomputes every counter from the rows it summarises; empty = consistent.
    func checkConsistency() throws(StoreError) -> [Inconsistency]
    /// Recomputes one project's counters from its rows; empty = consistent.
    func recount(projectID: String) throws(StoreError) -> [Inconsistency]
    /// A project without a caller's role, or nil when it does not exist.
    func project(id: String) throws(StoreError) -> ProjectRecord?
    /// Every (project, user, role).
    func allMemberships() throws(StoreError) -> [Membership]
    /// Forgets idempotency keys created before `beforeMs`; returns how many.
    func pruneIdempotencyKeys(createdBefore beforeMs: Int64) throws(StoreError) -> Int
    /// The revision of the last committed change (0 before the first).
    func currentRevision() throws(StoreError) -> Int64
    /// The counter-based dashboard of a user.
    func dashboard(userID: String, todayStartMs: Int64, weekStartMs: Int64) throws(StoreError) -> DashboardAggregates
    /// A queued job's 1-based service-wide queue position; 0 when it is not queued.
    func queuePosition(jobID: String) throws(StoreError) -> Int64
}

/// A whole store: the domain's repositories and the administrative operations.
package typealias CellHubStorage = DomainStore & StoreAdministration
