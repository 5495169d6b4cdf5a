import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Counters beside the database, `<database>-auth`, that every process changes after it
/// commits a change to who may do what: caches of callers (by token) and of roles (by project
/// and user) stay valid only while their counter reads the same. A revocation by `cellhubd
/// users revoke` (another process) thus reaches a running server's cache before that command
/// returns — the next call is refused, not one after a log read.
///
/// Eight bytes per counter, each read with one `pread` per check (no lock, no SQLite
/// transaction); a file written before the memberships counter existed reads 0 there. A file
/// that cannot be opened or read makes every check answer a new value: nothing is cached then.
final class AccessGenerations: Sendable {
    enum Counter: Int {
        /// Users and tokens revoked.
        case credentials = 0
        /// Shares granted, changed or revoked; projects deleted.
        case memberships = 1
    }

    private let descriptor: Int32
    /// Answered when the file cannot be read: never equal to a value seen before.
    private let unreadable = Atomic<UInt64>(1 << 63)

    init(databasePath: String) {
        // The database's own mode (SQLite's default): any account that may write the
        // database — and so revoke — may bump it. It holds no secret.
        descriptor = open(databasePath + "-auth", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// The counter's value now (0 for one never bumped).
    func current(_ counter: Counter) -> UInt64 {
        var value: UInt64 = 0
        guard descriptor >= 0, pread(descriptor, &value, 8, off_t(counter.rawValue * 8)) >= 0 else {
            return unreadable.wrappingAdd(1, ordering: .relaxed).newValue
        }
        return value
    }

    /// Changes the counter: call after the transaction that changed access committed.
    func bump(_ counter: Counter) {
        guard descriptor >= 0 else { return }
        var next = current(counter) &+ 1
        _ = pwrite(descriptor, &next, 8, off_t(counter.rawValue * 8))
    }
}
