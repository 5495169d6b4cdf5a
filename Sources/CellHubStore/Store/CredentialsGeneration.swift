import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A counter beside the database, `<database>-auth`, that every process changes after it
/// commits a revocation: callers cached in memory stay valid only while it reads the same.
/// A revocation by `cellhubd users revoke` (another process) thus reaches a running server's
/// cache before that command returns — the next call is refused, not one after a log read.
///
/// Eight bytes read with one `pread` per check (no lock, no SQLite transaction). A file that
/// cannot be opened or read makes every check answer a new value: nothing is cached then.
final class CredentialsGeneration: Sendable {
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

    /// The value now (0 for a file never bumped).
    var current: UInt64 {
        var value: UInt64 = 0
        guard descriptor >= 0, pread(descriptor, &value, 8, 0) >= 0 else {
            return unreadable.wrappingAdd(1, ordering: .relaxed).newValue
        }
        return value
    }

    /// Changes the value: call after the revoking transaction committed.
    func bump() {
        guard descriptor >= 0 else { return }
        var next = current &+ 1
        _ = pwrite(descriptor, &next, 8, 0)
    }
}
