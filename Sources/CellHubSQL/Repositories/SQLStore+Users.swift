package import CellHub
extension SQLStore {
    /// Creates a user with one API token, stored as its SHA-256 only (hashing is the
    /// caller's: the raw token never reaches the store). Appends `userCreated`.
    /// - Throws: `userNameTaken`.
    package func createUser(
        name: String, isWorker: Bool, tokenHash: [UInt8], payload: (UserCreated) -> [UInt8]
    ) throws(StoreError) -> UserCreated {
        try write { tx in
            if try tx.db.queryOne("SELECT 1 FROM users WHERE name = ?", name, row: { _ in true }) != nil {
                throw StoreError.userNameTaken(name)
            }
            let id = tx.makeID()
            return try tx.recording(.userCreated, projectID: nil, actor: id, payload: payload) { revision in
                try tx.db.run(
                    "INSERT INTO users (id, name, is_worker, created_at_ms) VALUES (?, ?, ?, ?)",
                    id, name, isWorker, tx.now)
                try tx.db.run(
                    "INSERT INTO api_tokens (token_hash, user_id, created_at_ms) VALUES (?, ?, ?)",
                    tokenHash, id, tx.now)
                try tx.db.run("INSERT INTO user_counters (user_id) VALUES (?)", id)
                let user = UserRecord(id: id, name: name, isWorker: isWorker, createdAtMs: tx.now, revokedAtMs: nil)
                return UserCreated(user: user, revision: revision)
            }
        }
    }

    /// The active user owning an unrevoked token with this hash: the authentication lookup.
    package func user(tokenHash: [UInt8]) throws(StoreError) -> UserRecord? {
        try read { db in
            try db.queryOne(
                """
                SELECT \(Rows.userColumns) FROM api_tokens t JOIN users u ON u.id = t.user_id
                WHERE t.token_hash = ? AND t.revoked_at_ms IS NULL AND u.revoked_at_ms IS NULL
                """, tokenHash, row: Rows.user)
        }
    }

    /// A user by id, revoked or not.
    package func user(id: String) throws(StoreError) -> UserRecord? {
        try read { db in try Rows.user(db, id: id) }
    }

    /// A user by unique name, revoked or not.
    package func user(named name: String) throws(StoreError) -> UserRecord? {
        try read { db in
            try db.queryOne("SELECT \(Rows.userColumns) FROM users u WHERE u.name = ?", name, row: Rows.user)
        }
    }

    /// Every user, oldest first (for `cellhubd users list`).
    package func users() throws(StoreError) -> [UserRecord] {
        try read { db in
            try db.query("SELECT \(Rows.userColumns) FROM users u ORDER BY u.created_at_ms, u.name", row: Rows.user)
        }
    }

    /// Revokes a user and all their tokens. Their projects and images stay. Appends
    /// `userRevoked` (nothing when already revoked).
    /// - Throws: `notFound(.user)`.
    package func revokeUser(id: String, payload: (UserRevoked) -> [UInt8]) throws(StoreError) -> UserRevoked {
        let revoked = try write { tx in
            guard let user = try Rows.user(tx.db, id: id) else { throw StoreError.notFound(.user, id: id) }
            if user.revokedAtMs != nil {
                return UserRevoked(user: user, revokedTokenCount: 0, revision: nil)
            }
            return try tx.recording(.userRevoked, projectID: nil, actor: nil, payload: payload) { revision in
                try tx.accessChanged(.credentials)
                try tx.db.run("UPDATE users SET revoked_at_ms = ? WHERE id = ?", tx.now, id)
                let tokens = try tx.db.run(
                    "UPDATE api_tokens SET revoked_at_ms = ? WHERE user_id = ? AND revoked_at_ms IS NULL", tx.now, id)
                var revoked = user
                revoked.revokedAtMs = tx.now
                return UserRevoked(user: revoked, revokedTokenCount: tokens, revision: revision)
            }
        }
        // After the commit: a cache that reloads now must find the revocation.
        if revoked.revision != nil { bumpGeneration(.credentials) }
        return revoked
    }

    /// Changes after every committed revocation, in any process using this database.
    package var credentialsGeneration: UInt64 { generation(.credentials) }
}
