/// The reads a stream starts with, each from one read snapshot so that nothing falls between
/// a snapshot and the live events after it; implemented by every store.
package protocol StreamReads: Sendable {
    /// Every member of every project, owner first then grant order within a project: the
    /// EventHub's member index at start.
    func allMembers() throws(StoreError) -> [MemberRecord]
    /// The project as `userID` sees it (nil when it is not visible to them), its members,
    /// the log's bounds, and — given `replayAfter` — up to `limit` of the project's changes
    /// after that revision, all from one snapshot exact at `bounds.current`.
    func projectStreamStart(projectID: String, userID: String, replayAfter: Int64?, limit: Int) throws(StoreError) -> ProjectStreamStart
    /// A user's activity entries, oldest first, from one snapshot exact at `bounds.current`:
    /// those after `replayAfter` (up to `limit`) when given, else the newest `backlog`.
    func activityStreamStart(
        userID: String, projectID: String?, backlog: Int, replayAfter: Int64?, limit: Int
    ) throws(StoreError) -> ActivityStreamStart
    /// The entries of these users' feeds with revisions in (`after`, `through`], in
    /// revision order: live delivery to activity streams.
    func activity(for userIDs: [String], after: Int64, through: Int64) throws(StoreError) -> [ActivityEntry]
}

package struct ProjectStreamStart: Sendable {
    package var project: ProjectRecord?
    package var members: [MemberRecord]
    package var events: [StoredEvent]
    package var bounds: EventLogBounds

    package init(project: ProjectRecord?, members: [MemberRecord], events: [StoredEvent], bounds: EventLogBounds) {
        self.project = project
        self.members = members
        self.events = events
        self.bounds = bounds
    }
}

package struct ActivityStreamStart: Sendable {
    package var entries: [ActivityEntry]
    package var bounds: EventLogBounds

    package init(entries: [ActivityEntry], bounds: EventLogBounds) {
        self.entries = entries
        self.bounds = bounds
    }
}
