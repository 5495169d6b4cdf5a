package import CellHub
import CellHubPostgres
import CellHubSQL
import CellHubStore
import Foundation

/// The stores the store and domain tests run against: `@Test(arguments: StoreKind.allCases)`
/// runs one test body on each.
package enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    package var description: String { rawValue }

    /// A new, empty store of this kind: SQLite at `directory`/cellhub.sqlite, PostgreSQL in
    /// a fresh database of the test process's server (`TemporaryPostgres`). A PostgreSQL
    /// server that cannot start fails the call with its log.
    package func makeStore(
        directory: String, clock: @escaping @Sendable () -> Int64, makeID: @escaping @Sendable () -> String,
        idempotencyWindowMs: Int64? = nil
    ) throws -> any CellHubStorage {
        try open(directory: directory, clock: clock, makeID: makeID, idempotencyWindowMs: idempotencyWindowMs).store
    }

    /// `makeStore`, also naming where the store lives: the SQLite file, or the PostgreSQL
    /// database's URI (for a test's own raw connection).
    package func open(
        directory: String, clock: @escaping @Sendable () -> Int64, makeID: @escaping @Sendable () -> String,
        idempotencyWindowMs: Int64? = nil
    ) throws -> (store: any CellHubStorage, location: String) {
        switch self {
        case .sqlite:
            var options = Store.Options()
            options.clock = clock
            options.makeID = makeID
            if let idempotencyWindowMs { options.idempotencyWindowMs = idempotencyWindowMs }
            let path = directory + "/cellhub.sqlite"
            return (try Store(path: path, options: options), path)
        case .postgres:
            var options = PostgresStore.Options()
            options.clock = clock
            options.makeID = makeID
            options.connections = 2
            if let idempotencyWindowMs { options.idempotencyWindowMs = idempotencyWindowMs }
            let url = try TemporaryPostgres.freshDatabase()
            return (try PostgresStore(url: url, options: options), url)
        }
    }

    /// Another node on the PostgreSQL database `url` (an `open` location); the presence
    /// timings default to the store's.
    package static func anotherPostgresNode(
        url: String, presenceHeartbeatIntervalMs: Int64? = nil, presenceExpiryMs: Int64? = nil
    ) throws -> any CellHubStorage {
        var options = PostgresStore.Options()
        if let presenceHeartbeatIntervalMs { options.presenceHeartbeatIntervalMs = presenceHeartbeatIntervalMs }
        if let presenceExpiryMs { options.presenceExpiryMs = presenceExpiryMs }
        return try PostgresStore(url: url, options: options)
    }

    /// Runs `sql` (no parameters, no results) on a connection of its own to the PostgreSQL
    /// database `url`: for a test that plays a node's rows by hand.
    package static func executeOnPostgres(_ sql: String, url: String) throws {
        try PostgresStore.execute(sql, url: url)
    }
}

/// The defaults the stores' own methods have, for calls through the protocols.
extension ChangeLog {
    package func pruneEvents(committedBefore committedBeforeMs: Int64) throws(StoreError) -> Int {
        try pruneEvents(committedBefore: committedBeforeMs, keepingNewest: .max)
    }
}

extension ImageRepository {
    package func uploadImages(
        projectID: String, uploaderID: String, images: [NewImage], payload: (ImagesUploaded) -> [UInt8]
    ) throws(StoreError) -> UploadResult {
        try uploadImages(projectID: projectID, uploaderID: uploaderID, images: images, idempotency: nil, response: { _ in [] }, payload: payload)
    }

    package func uploadImages(
        projectID: String, uploaderID: String, images: [NewImage], idempotency: IdempotencyKey?, payload: (ImagesUploaded) -> [UInt8]
    ) throws(StoreError) -> UploadResult {
        try uploadImages(projectID: projectID, uploaderID: uploaderID, images: images, idempotency: idempotency, response: { _ in [] }, payload: payload)
    }

    package func images(
        projectID: String, statuses: Set<ImageStatus> = [], nameContains: String = "", limit: Int
    ) throws(StoreError) -> Page<ImageRecord, ImageCursor> {
        try images(projectID: projectID, statuses: statuses, nameContains: nameContains, limit: limit, after: nil)
    }

    package func images(projectID: String, limit: Int, after cursor: ImageCursor?) throws(StoreError) -> Page<ImageRecord, ImageCursor> {
        try images(projectID: projectID, statuses: [], nameContains: "", limit: limit, after: cursor)
    }
}

extension ProjectRepository {
    package func projects(
        for userID: String, filter: ProjectFilter = .all, nameContains: String = "", limit: Int
    ) throws(StoreError) -> Page<ProjectRecord, ProjectCursor> {
        try projects(for: userID, filter: filter, nameContains: nameContains, limit: limit, after: nil)
    }

    package func projects(for userID: String, limit: Int, after cursor: ProjectCursor?) throws(StoreError) -> Page<ProjectRecord, ProjectCursor> {
        try projects(for: userID, filter: .all, nameContains: "", limit: limit, after: cursor)
    }

    package func updateProject(
        id: String, actor: String, name: String?, payload: (ProjectUpdated) -> [UInt8]
    ) throws(StoreError) -> ProjectUpdated {
        try updateProject(id: id, actor: actor, name: name, description: nil, payload: payload)
    }

    package func updateProject(
        id: String, actor: String, description: String?, payload: (ProjectUpdated) -> [UInt8]
    ) throws(StoreError) -> ProjectUpdated {
        try updateProject(id: id, actor: actor, name: nil, description: description, payload: payload)
    }
}

extension StatsRepository {
    package func queueStats() throws(StoreError) -> QueueStats { try queueStats(projectID: nil, userID: nil) }

    package func queueStats(projectID: String) throws(StoreError) -> QueueStats { try queueStats(projectID: projectID, userID: nil) }

    package func queueStats(userID: String) throws(StoreError) -> QueueStats { try queueStats(projectID: nil, userID: userID) }
}
