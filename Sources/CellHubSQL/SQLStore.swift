package import CellHub

/// A store whose repositories are this module's: every operation of the domain's ports
/// (`UserRepository` … `StreamReads`, `StoreAdministration`) written once, as SQL both
/// engines run, on top of what each engine provides here — a read snapshot, a write
/// transaction, and the generations that caches of callers and roles check.
///
/// The SQLite store (CellHubStore) and the PostgreSQL store (CellHubPostgres) conform and
/// declare the domain's protocols; the operations come from this protocol's extensions
/// (`SQLStore+Users.swift` …). What differs between the engines stays with each store:
/// opening and migrations, connections, how a write transaction is serialised and committed
/// (SQLite's group commit, PostgreSQL's `log_head` row lock), how a commit is announced, and
/// where the access generations live.
package protocol SQLStore: Sendable {
    /// How long an upload's idempotency key is honoured.
    var idempotencyWindowMs: Int64 { get }
    /// Runs `body` in one read transaction, so all its queries see the same snapshot.
    func read<T: Sendable>(_ body: (any SQLDatabase) throws -> T) throws(StoreError) -> T
    /// Runs `body` as one write transaction at one instant (`Transaction.now`) and returns
    /// once it is committed; whatever `body` throws rolls back what it wrote.
    func write<T: Sendable>(_ body: (Transaction) throws -> T) throws(StoreError) -> T
    /// The generation's value now: cheap (no transaction), checked on every cached call.
    func generation(_ generation: AccessGeneration) -> UInt64
    /// Moves the generation, after the commit of a change to who may do what, so that a
    /// cache reloading at once finds the change.
    func bumpGeneration(_ generation: AccessGeneration)
}

/// What the generations of `credentialsGeneration` and `membershipGeneration` count.
package enum AccessGeneration: Int, Sendable, CaseIterable {
    /// Users and tokens revoked.
    case credentials = 0
    /// Shares granted, changed or revoked; projects deleted.
    case memberships = 1
}
