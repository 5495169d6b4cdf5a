
/// Creates, reads, lists, renames and deletes projects, with the role rules of the API:
/// anyone may create; viewers read; only the owner updates or deletes.
package final class ProjectService: Sendable {
    private let store: any ProjectRepository
    private let blobs: BlobStore
    private let stats: ProjectStatsService
    private let access: ProjectAccess
    private let payloads: any EventPayloads

    init(store: any ProjectRepository, blobs: BlobStore, stats: ProjectStatsService, payloads: any EventPayloads) {
        self.store = store
        self.payloads = payloads
        self.blobs = blobs
        self.stats = stats
        access = ProjectAccess(store: store)
    }

    /// Creates a project owned by the caller (name trimmed, 1...200 characters, ≤ 800 bytes).
    package func create(name: String, description: String, caller: Caller) throws(ProjectError) -> ProjectCreated {
        let name = try Self.validName(name)
        try Self.validate(description: description)
        let created = try run { () throws(StoreError) in
            try store.createProject(ownerID: caller.userID, name: name, description: description, payload: payloads.projectCreated)
        }
        stats.record(created.project.counters)
        return created
    }

    /// One project the caller can see (any role), with its stats.
    package func get(projectID: String, caller: Caller) throws(ProjectError) -> ProjectRecord {
        do {
            let project = try access.require(.viewer, projectID: projectID, caller: caller)
            stats.record(project.counters)
            return project
        } catch {
            throw ProjectError(error)
        }
    }

    /// One page of the caller's owned and/or shared projects, newest first.
    /// - Parameters:
    ///   - pageSize: 0 = 50, above 500 clamped, negative refused.
    ///   - pageToken: "" for the first page, else the previous page's `nextPageToken` for
    ///     the same `filter` and `nameContains`.
    package func list(
        caller: Caller, pageSize: Int32 = 0, pageToken: String = "", filter: ProjectFilter = .all, nameContains: String = ""
    ) throws(ProjectError) -> ProjectPage {
        let limit: Int
        do {
            limit = try Validation.pageSize(pageSize)
        } catch {
            throw .invalidArgument(error.message)
        }
        do {
            try Validation.text(nameContains, field: "name_contains", limit: .nameFilter)
        } catch {
            throw .invalidArgument(error.message)
        }
        let filters = ["projects", caller.userID, "\(filter)", nameContains]
        guard let position = PageToken.decode(pageToken, filters: filters) else {
            throw .invalidArgument("page_token is malformed or belongs to a different request")
        }
        let cursor = position.map { ProjectCursor(createdAtMs: $0.timeMs, id: $0.id) }
        let page = try run { () throws(StoreError) in
            try store.projects(for: caller.userID, filter: filter, nameContains: nameContains, limit: limit, after: cursor)
        }
        for project in page.items { stats.record(project.counters) }
        let next = page.next.map { PageToken.encode(timeMs: $0.createdAtMs, id: $0.id, filters: filters) } ?? ""
        return ProjectPage(projects: page.items, nextPageToken: next, totalSize: page.totalCount)
    }

    /// Changes name and/or description (nil = keep); owner only. A request that changes
    /// nothing returns the project unchanged (`revision` nil).
    package func update(
        projectID: String, name: String? = nil, description: String? = nil, caller: Caller
    ) throws(ProjectError) -> ProjectUpdated {
        let name = try name.map { (name) throws(ProjectError) in try Self.validName(name) }
        if let description { try Self.validate(description: description) }
        do {
            _ = try access.require(.owner, projectID: projectID, caller: caller)
        } catch {
            throw ProjectError(error)
        }
        var updated = try run { () throws(StoreError) in
            try store.updateProject(id: projectID, actor: caller.userID, name: name, description: description, payload: payloads.projectUpdated)
        }
        updated.project.callerRole = .owner
        return updated
    }

    /// Deletes the project with everything in it; owner only. Image files no other project
    /// references are removed after the commit.
    package func delete(projectID: String, caller: Caller) throws(ProjectError) -> ProjectDeleted {
        do {
            _ = try access.require(.owner, projectID: projectID, caller: caller)
        } catch {
            throw ProjectError(error)
        }
        let deleted = try run { () throws(StoreError) in
            try store.deleteProject(id: projectID, actor: caller.userID, payload: payloads.projectDeleted)
        }
        stats.forget(projectID)
        blobs.deleteUnreferenced(deleted.orphanedBlobs)
        return deleted
    }

    // MARK: Validation

    static func validName(_ name: String) throws(ProjectError) -> String {
        do {
            return try Validation.name(name, field: "name", limit: .projectName)
        } catch {
            throw .invalidArgument(error.message)
        }
    }

    static func validate(description: String) throws(ProjectError) {
        do {
            try Validation.text(description, field: "project_description", limit: .description)
        } catch {
            throw .invalidArgument(error.message)
        }
    }

    private func run<T>(_ body: () throws(StoreError) -> T) throws(ProjectError) -> T {
        do {
            return try body()
        } catch {
            throw ProjectError(error)
        }
    }
}
