/// A user (a person, or a worker process) as stored.
package struct UserRecord: Sendable, Hashable {
    package var id: String
    /// Unique name, as given to `cellhubd users add`.
    package var name: String
    /// May claim segmentation jobs.
    package var isWorker: Bool
    package var createdAtMs: Int64
    /// When the user was revoked; nil while active. A revoked user's tokens no longer
    /// authenticate; their projects and images stay.
    package var revokedAtMs: Int64?

    package var ref: UserRef { UserRef(id: id, name: name) }

    package init(
        id: String, name: String, isWorker: Bool, createdAtMs: Int64, revokedAtMs: Int64? = nil
    ) {
        self.id = id
        self.name = name
        self.isWorker = isWorker
        self.createdAtMs = createdAtMs
        self.revokedAtMs = revokedAtMs
    }
}

/// A user's id and display name, as embedded in other records.
package struct UserRef: Sendable, Hashable {
    package var id: String
    package var name: String

    package init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// `createUser`'s result.
package struct UserCreated: Sendable, Hashable {
    package var user: UserRecord
    package var revision: Int64

    package init(
        user: UserRecord, revision: Int64
    ) {
        self.user = user
        self.revision = revision
    }
}

/// `revokeUser`'s result.
package struct UserRevoked: Sendable, Hashable {
    /// The user after revocation.
    package var user: UserRecord
    /// Tokens revoked by this call.
    package var revokedTokenCount: Int
    /// nil when the user was already revoked (nothing changed, no event).
    package var revision: Int64?

    package init(
        user: UserRecord, revokedTokenCount: Int, revision: Int64? = nil
    ) {
        self.user = user
        self.revokedTokenCount = revokedTokenCount
        self.revision = revision
    }
}
