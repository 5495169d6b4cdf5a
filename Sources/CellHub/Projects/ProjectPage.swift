
/// One page of ListProjects.
package struct ProjectPage: Sendable, Hashable {
    /// Each with the caller's role and exact counters.
    package var projects: [ProjectRecord]
    /// Empty on the last page.
    package var nextPageToken: String
    /// Projects matching the filters over all pages.
    package var totalSize: Int64
}
