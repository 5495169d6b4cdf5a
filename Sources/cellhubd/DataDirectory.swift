import CellHub
import CellHubPostgres
import CellHubStore

#if canImport(Glibc)
import Glibc
#endif

/// The server's data directory; the only code that knows its layout:
///
///     <root>/cellhub.sqlite   the store (SQLite adds -wal and -shm beside it)
///     <root>/admin.token      the first admin's token, written once by the first `serve` (0600)
///     <root>/blobs/           image files, content-addressed (see BlobStore), unless
///                             `--blob-dir` puts them elsewhere (a directory nodes share)
///     <root>/serve.lock       locked (flock) by the `serve` using the directory
///
/// `prepare` creates the directory (and missing parents) with mode 0700; an existing one is
/// used as it is.
struct DataDirectory {
    static let defaultPath = "./cellhub-data"

    let root: String
    /// `--blob-dir`: image files there instead of `<root>/blobs`.
    var blobDirectory: String? = nil

    var databasePath: String { root + "/cellhub.sqlite" }
    var adminTokenPath: String { root + "/admin.token" }
    var blobsPath: String { blobDirectory ?? root + "/blobs" }
    var lockPath: String { root + "/serve.lock" }

    /// The directory at `path`, created 0700 when missing.
    /// - Throws: `.user` for an empty path, `.environment` when it cannot be created or is
    ///   not a writable directory.
    static func prepare(_ path: String, blobDirectory: String? = nil) throws(CommandFailure) -> DataDirectory {
        if let blobDirectory, blobDirectory.isEmpty { throw .user("--blob-dir must not be empty") }
        guard !path.isEmpty else { throw .user("--data-dir must not be empty") }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
            prefix += component
            if mkdir(prefix, 0o700) == 0 {
                _ = chmod(prefix, 0o700)  // exactly 0700 whatever the umask
            } else if errno != EEXIST {
                let failure = errorText()
                let at = prefix == path ? "" : " (at \(prefix))"
                throw .environment("cannot create data directory \(path)\(at): \(failure)")
            }
        }
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw .environment("cannot use data directory \(path): \(errorText())")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw .environment("cannot use data directory \(path): not a directory")
        }
        guard access(path, R_OK | W_OK | X_OK) == 0 else {
            throw .environment("cannot use data directory \(path): \(errorText())")
        }
        return DataDirectory(root: path, blobDirectory: blobDirectory)
    }

    /// Opens the store, creating the database or migrating it as needed: the SQLite file of
    /// the directory, or the PostgreSQL database `database` names (a libpq URI).
    /// - Parameters:
    ///   - durable: fsync every commit (the server's default), not only checkpoints (SQLite;
    ///     PostgreSQL's durability is the server's configuration).
    ///   - idempotencyWindowMs: how long an upload's idempotency key is honoured.
    ///   - reportFault: where a PostgreSQL store's change listener reports its failures
    ///     (rate-limited); nowhere by default.
    func openStore(
        database: String? = nil, durable: Bool = false, idempotencyWindowMs: Int64? = nil,
        reportFault: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(CommandFailure) -> any CellHubStorage {
        if let database {
            guard Self.isPostgresURL(database) else {
                throw .user("--database must be a PostgreSQL URI (postgres://… or postgresql://…), got '\(database)'")
            }
            var options = PostgresStore.Options()
            if let idempotencyWindowMs { options.idempotencyWindowMs = idempotencyWindowMs }
            options.reportFault = reportFault
            do {
                return try PostgresStore(url: database, options: options)
            } catch {
                throw .environment("cannot open the PostgreSQL database: \(error)")
            }
        }
        var options = Store.Options()
        options.durable = durable
        if let idempotencyWindowMs { options.idempotencyWindowMs = idempotencyWindowMs }
        do {
            return try Store(path: databasePath, options: options)
        } catch {
            throw .environment("cannot open the database \(databasePath): \(error)")
        }
    }

    static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// The store's name for messages: the SQLite file, or "PostgreSQL" (a URI may hold a password).
    func databaseName(_ database: String?) -> String {
        database == nil ? databasePath : "the PostgreSQL database"
    }

    /// Takes the directory for one `serve`: an exclusive lock on `serve.lock`, held until the
    /// process exits (the kernel releases it, also after a crash). Another `serve` on the
    /// same directory is refused; `check` sees that a server runs.
    func lockForServing() throws(CommandFailure) {
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .environment("cannot open \(lockPath): \(errorText())") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let failure = errorText()
            close(descriptor)
            throw .environment(busy ? "another cellhubd serves \(root) (\(lockPath) is locked)" : "cannot lock \(lockPath): \(failure)")
        }
        // Deliberately never closed: the lock lives as long as the process.
    }

    /// Whether a `serve` holds the directory now.
    func isServed() -> Bool {
        let descriptor = open(lockPath, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return false }  // never served
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { return errno == EWOULDBLOCK }
        _ = flock(descriptor, LOCK_UN)
        return false
    }

    /// Writes `token` (and a newline) to a new `admin.token`, readable by the owner only.
    /// Never overwrites: fails when the file exists.
    func writeAdminToken(_ token: String) throws(CommandFailure) {
        let path = adminTokenPath
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST {
                throw .environment(
                    "\(path) exists but the database has no users: remove it (or restore the database it belongs to) and start again")
            }
            throw .environment("cannot create \(path): \(errorText())")
        }
        var ok = fchmod(descriptor, 0o600) == 0
        var text = token + "\n"
        text.withUTF8 { bytes in
            var offset = 0
            while ok && offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { ok = false } else { offset += written }
            }
        }
        ok = ok && fsync(descriptor) == 0
        let failure = ok ? "" : errorText()
        ok = close(descriptor) == 0 && ok
        if !ok {
            _ = unlink(path)
            throw .environment("cannot write \(path): \(failure.isEmpty ? errorText() : failure)")
        }
    }

    /// Removes `admin.token` (when creating the admin failed after it was written).
    func removeAdminToken() {
        _ = unlink(adminTokenPath)
    }
}

/// `strerror(errno)`.
func errorText() -> String {
    String(cString: strerror(errno))
}
