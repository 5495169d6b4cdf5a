/// One row of the event log: a committed change, in revision order.
package struct StoredEvent: Sendable, Hashable {
    /// Strictly increasing per committed change within the store's epoch; never reused
    /// (AUTOINCREMENT), also after old rows are pruned.
    package var revision: Int64
    package var committedAtMs: Int64
    /// The stored kind; see `kind` for the decoded value.
    package var rawKind: Int64
    /// The project changed; nil for user changes and for operations spanning projects
    /// (claims, lease sweeps, job-list cancellations), whose payload names them.
    package var projectID: String?
    /// Who acted; nil for system changes (worker results, lease expiry).
    package var actorUserID: String?
    /// Encoded by the domain from the operation's result, inside the transaction.
    package var payload: [UInt8]

    /// The decoded kind; nil for a kind this binary does not know (written by a newer one).
    package var kind: ChangeKind? { ChangeKind.stored(rawKind) }

    package init(
        revision: Int64, committedAtMs: Int64, rawKind: Int64, projectID: String? = nil, actorUserID: String? = nil, payload: [UInt8]
    ) {
        self.revision = revision
        self.committedAtMs = committedAtMs
        self.rawKind = rawKind
        self.projectID = projectID
        self.actorUserID = actorUserID
        self.payload = payload
    }
}

/// Which revisions the event log can still replay.
package struct EventLogBounds: Sendable, Hashable {
    /// Every event up to and including this revision was pruned (0 = none).
    package var prunedThrough: Int64
    /// The last committed revision.
    package var current: Int64

    package init(
        prunedThrough: Int64, current: Int64
    ) {
        self.prunedThrough = prunedThrough
        self.current = current
    }
}
