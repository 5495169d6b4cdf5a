/// The event log read back: "the log after revision R". Every committed change appended one
/// row in its own transaction (the outbox); the EventHub reads them in revision order after
/// each commit, and streams that resume replay from it.
///
/// A store must hand out revisions that are gap-free in commit order: a reader that saw
/// revision R must never later find a new row below R (SQLite's single writer gives that;
/// a multi-node store has to serialise its revision counter).
package protocol ChangeLog: Sendable {
    /// Names the lifetime of this log (compare for equality only): revisions of different
    /// epochs are not comparable.
    var epoch: String { get }
    /// Up to `limit` changes after `revision`, oldest first.
    func events(after revision: Int64, limit: Int) throws(StoreError) -> [StoredEvent]
    /// Up to `limit` changes in (`after`, `through`] that concern `projectID`: its own and
    /// those not tied to one project (their payload names the projects), oldest first.
    func events(after revision: Int64, through last: Int64, projectID: String, limit: Int) throws(StoreError) -> [StoredEvent]
    /// Which revisions can still be replayed.
    func eventLogBounds() throws(StoreError) -> EventLogBounds
    /// Deletes changes committed before `committedBeforeMs` and, beyond that, all but the
    /// newest `keep`; returns how many were deleted. The current revision survives.
    func pruneEvents(committedBefore committedBeforeMs: Int64, keepingNewest keep: Int) throws(StoreError) -> Int
}

/// "Wake me": how the EventHub learns that changes were committed, so it reads the log at
/// once instead of polling. The SQLite store calls `wake` after each of its own commits; a
/// multi-node store would also call it on a notification from another node (LISTEN/NOTIFY).
/// A wake carries no data: the log is the data.
package protocol CommitSignal: Sendable {
    /// Registers `wake`, called on the committing thread after each commit; it must return
    /// quickly (set a flag, signal a thread).
    func onCommit(_ wake: @escaping @Sendable () -> Void)
    /// Whether other processes commit changes to this store's counters (several nodes on one
    /// database): then a cache fed by this process's writes can miss a change.
    var hasOtherWriters: Bool { get }
    /// Where the nodes sharing this store publish who watches which project (`PresenceBoard`);
    /// nil for a store only one process serves, whose hub's own watchers are all there are.
    var presence: (any PresenceBoard)? { get }
}
