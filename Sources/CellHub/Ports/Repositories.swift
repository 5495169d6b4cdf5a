/// What the domain services need from storage, by area. `Store` (SQLite) implements them all;
/// each service holds only the protocols it uses, so another store can stand in for it.
///
/// Contract shared by every write: one atomic operation that moves the counters it affects
/// and appends one event-log row whose payload `payload` encodes from the result (nothing is
/// appended, and the result's revision is nil, when nothing changed).

/// Users and their tokens.
package protocol UserRepository: Sendable {
    /// The active user owning an unrevoked token with this hash.
    func user(tokenHash: [UInt8]) throws(StoreError) -> UserRecord?
    func user(id: String) throws(StoreError) -> UserRecord?
    func user(named name: String) throws(StoreError) -> UserRecord?
    /// A value that changes after every committed revocation of a user or token, whichever
    /// process made it; cheap (no transaction), so a cache of callers can check it per call.
    var credentialsGeneration: UInt64 { get }
}

/// Projects, their members and roles.
package protocol ProjectRepository: Sendable {
    /// The project with `userID`'s role on it, or nil when it does not exist.
    func project(id: String, for userID: String) throws(StoreError) -> ProjectRecord?
    func role(projectID: String, userID: String) throws(StoreError) -> MemberRole?
    /// A value that changes after every committed share, role change, revocation of a share
    /// or project deletion, whichever process made it; cheap (no transaction), so a cache of
    /// roles can check it per call.
    var membershipGeneration: UInt64 { get }
    /// A user's projects, newest first, keyset paged.
    func projects(
        for userID: String, filter: ProjectFilter, nameContains: String, limit: Int, after cursor: ProjectCursor?
    ) throws(StoreError) -> Page<ProjectRecord, ProjectCursor>
    func createProject(
        ownerID: String, name: String, description: String, payload: (ProjectCreated) -> [UInt8]
    ) throws(StoreError) -> ProjectCreated
    func updateProject(
        id: String, actor: String, name: String?, description: String?, payload: (ProjectUpdated) -> [UInt8]
    ) throws(StoreError) -> ProjectUpdated
    func deleteProject(id: String, actor: String, payload: (ProjectDeleted) -> [UInt8]) throws(StoreError) -> ProjectDeleted
    func members(projectID: String) throws(StoreError) -> [MemberRecord]
    func share(
        projectID: String, userID: String, role: MemberRole, actor: String, payload: (ShareGranted) -> [UInt8]
    ) throws(StoreError) -> ShareGranted
    func revokeShare(
        projectID: String, userID: String, actor: String, payload: (ShareRevoked) -> [UInt8]
    ) throws(StoreError) -> ShareRevoked
}

/// Images and the references to their content.
package protocol ImageRepository: Sendable {
    func uploadImages(
        projectID: String, uploaderID: String, images: [NewImage], idempotency: IdempotencyKey?,
        response: (ImagesUploaded) -> [UInt8], payload: (ImagesUploaded) -> [UInt8]
    ) throws(StoreError) -> UploadResult
    func image(id: String) throws(StoreError) -> ImageRecord?
    func images(
        projectID: String, statuses: Set<ImageStatus>, nameContains: String, limit: Int, after cursor: ImageCursor?
    ) throws(StoreError) -> Page<ImageRecord, ImageCursor>
    func deleteImage(id: String, actor: String, payload: (ImagesDeleted) -> [UInt8]) throws(StoreError) -> ImagesDeleted
    func deleteImages(
        projectID: String, ids: [String], allowMissing: Bool, actor: String, payload: (ImagesDeleted) -> [UInt8]
    ) throws(StoreError) -> ImagesDeleted
    /// True while some image references the content.
    func isBlobReferenced(sha256Hex: String) throws(StoreError) -> Bool
    /// Every referenced content hash with its size.
    func blobSizes() throws(StoreError) -> [String: Int64]
}

/// The segmentation queue, client side.
package protocol QueueRepository: Sendable {
    func enqueue(_ request: EnqueueRequest, payload: (JobsEnqueued) -> [UInt8]) throws(StoreError) -> JobsEnqueued
    func cancelJobs(_ target: CancelTarget, actor: String?, payload: (JobsCancelled) -> [UInt8]) throws(StoreError) -> JobsCancelled
    func job(id: String) throws(StoreError) -> JobRecord?
    func jobDetail(id: String) throws(StoreError) -> JobDetail?
    /// The project of a batch; nil when no job ever had that batch id.
    func batchProject(batchID: String) throws(StoreError) -> String?
}

/// The figures stats and dashboards are computed from.
package protocol StatsRepository: Sendable {
    func counters(projectID: String) throws(StoreError) -> ProjectCounters?
    /// A user's dashboard inputs from one snapshot.
    func dashboardFigures(
        userID: String, todayStartMs: Int64, weekStartMs: Int64, completedSinceMs: Int64
    ) throws(StoreError) -> DashboardFigures
    /// The queue service-wide and for a scope: one project, a user's projects, or (both nil)
    /// the whole service.
    func queueStats(projectID: String?, userID: String?) throws(StoreError) -> QueueStats
    func completionStats(userID: String?, sinceMs: Int64) throws(StoreError) -> CompletionStats
}

/// Users' activity feeds.
package protocol ActivityRepository: Sendable {
    /// One page of a user's feed, newest first.
    func activity(
        for userID: String, projectID: String?, limit: Int, before cursor: ActivityCursor?
    ) throws(StoreError) -> (entries: [ActivityEntry], next: ActivityCursor?)
}
