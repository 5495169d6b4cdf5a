/// Who watches which project on the other nodes of a cluster: the EventHub's presence is its
/// own streams' watchers merged with what this board reports, so a watcher on one node sees
/// the watchers of every node.
///
/// The hub tells the board only the edges of its own presence — a user's first stream of a
/// project on this node opened, their last one closed — and the board publishes them for the
/// other nodes and hears theirs. A store only one process serves (SQLite) has no board: its
/// hub's presence is exactly its own streams'.
///
/// Presence is ephemeral: nothing of it enters the event log, it carries no revision, and a
/// node that dies takes its watchers with it within the board's expiry (see the store's
/// implementation for its bound).
package protocol PresenceBoard: AnyObject, Sendable {
    /// Starts publishing this node's watchers and following the other nodes'. `observe` hears
    /// every other live node's watchers whenever they changed (and once at start), on the
    /// board's own thread: it must return quickly. `reportFault` hears failures to reach the
    /// store; the board keeps retrying meanwhile. Call once.
    func start(observe: @escaping @Sendable (RemoteWatchers) -> Void, reportFault: @escaping @Sendable (String) -> Void)
    /// `user` now watches `projectID` on this node (their first stream of it opened), or no
    /// longer does (their last one closed). Returns at once: the write happens on the board's
    /// thread, coalesced with others (never on the caller's, which is the hub's).
    func setWatching(_ watching: Bool, projectID: String, user: UserRef)
    /// Withdraws this node's watchers (the other nodes see them leave at once) and stops the
    /// board's thread. Blocks for the withdrawal's round trip; idempotent.
    func stop()
}

/// Every other live node's watchers: per project, one entry per user (by id), whichever and
/// however many nodes they watch it on.
package typealias RemoteWatchers = [String: [String: UserRef]]
