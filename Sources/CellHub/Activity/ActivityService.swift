
/// One page of ListActivity.
package struct ActivityPage: Sendable, Hashable {
    /// Newest first.
    package var entries: [ActivityEntry]
    /// Empty on the last page.
    package var nextPageToken: String
}

/// The caller's activity feed: what they did, what others did to projects they are a member
/// of, and shares given to or taken from them — written by each change's transaction to the
/// members of that moment, read here page by page.
package final class ActivityService: Sendable {
    private let store: any ActivityRepository
    private let access: ProjectAccess

    init(store: any ActivityRepository & ProjectRepository) {
        self.store = store
        access = ProjectAccess(store: store)
    }

    /// One page of the caller's own feed, optionally only about a project they can see now.
    /// - Parameters:
    ///   - pageSize: 0 = 50, above 500 clamped, negative refused.
    ///   - pageToken: "" for the first page, else the previous page's `nextPageToken` for
    ///     the same `projectID`.
    package func list(
        caller: Caller, projectID: String = "", pageSize: Int32 = 0, pageToken: String = ""
    ) throws(StatsError) -> ActivityPage {
        let limit: Int
        do {
            limit = try Validation.pageSize(pageSize)
        } catch {
            throw .invalidArgument(error.message)
        }
        let project = projectID.isEmpty ? nil : try access.viewableProject(projectID, caller: caller).id
        let filters = ["activity", caller.userID, projectID]
        guard let position = PageToken.decode(pageToken, filters: filters) else {
            throw .invalidArgument("page_token is malformed or belongs to a different request")
        }
        let page: (entries: [ActivityEntry], next: ActivityCursor?)
        do {
            page = try store.activity(for: caller.userID, projectID: project, limit: limit, before: position?.timeMs)
        } catch {
            throw StatsError(error)
        }
        // The cursor is the entry's sequence number; the id part only keeps the token's shape.
        let next = page.next.map { PageToken.encode(timeMs: $0, id: "seq", filters: filters) } ?? ""
        return ActivityPage(entries: page.entries, nextPageToken: next)
    }
}
