import CellHubSQL
import CLinuxShim
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
/// The file is mapped shared into every process using the database, so a check is one
/// memory load (it runs on every authenticated call: a `pread` per check cost more than the
/// rest of a cached read) and a bump one atomic add that no other process's bump can undo.
/// Eight bytes per counter; a file written before the memberships counter existed is
/// extended with zeros. A file that cannot be opened or mapped makes every check answer a
/// new value: nothing is cached then.
final class AccessGenerations: @unchecked Sendable {
    static let size = 16
    /// The mapped counters; nil when the file could not be mapped. Only touched atomically.
    private let counters: UnsafeMutablePointer<UInt64>?
    /// Answered when there is no mapping: never equal to a value seen before.
    private let unmapped = Atomic<UInt64>(1 << 63)

    init(databasePath: String) {
        counters = Self.map(databasePath + "-auth")
    }

    deinit {
        if let counters { munmap(counters, Self.size) }
    }

    private static func map(_ path: String) -> UnsafeMutablePointer<UInt64>? {
        // The database's own mode (SQLite's default): any account that may write the
        // database — and so revoke — may bump it. It holds no secret.
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }  // the mapping outlives the descriptor
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        // Growing only, with its blocks allocated now (a store into a hole of a full disk would
        // be SIGBUS, where pwrite failed politely); a racing process does the same, and
        // existing counters are kept.
        if status.st_size < size, posix_fallocate(descriptor, 0, off_t(size)) != 0 { return nil }
        let mapping = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0)
        guard let mapping, mapping != MAP_FAILED else { return nil }
        return mapping.bindMemory(to: UInt64.self, capacity: size / 8)
    }

    /// The counter's value now (0 for one never bumped).
    func current(_ counter: AccessGeneration) -> UInt64 {
        guard let counters else { return unmapped.wrappingAdd(1, ordering: .relaxed).newValue }
        return cellhub_shared_load(counters + counter.rawValue)
    }

    /// Changes the counter: call after the transaction that changed access committed.
    func bump(_ counter: AccessGeneration) {
        guard let counters else { return }
        cellhub_shared_increment(counters + counter.rawValue)
    }
}
