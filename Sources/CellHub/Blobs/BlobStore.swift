#if canImport(Glibc)
internal import Glibc
#endif
internal import Synchronization

/// Image bytes as content-addressed files: `<directory>/ab/cdef…` for SHA-256 `abcdef…`.
///
/// Durability: a file is written to a temporary name in its final directory, fsynced,
/// renamed into place, and the directory fsynced — so after a crash a file is either whole
/// under its hash or absent; the database row that references it is committed only after.
///
/// Deletion races uploads of identical bytes: a delete commits (the hash is unreferenced),
/// then an upload of the same content finds the file present and commits a new reference.
/// So an orphan file is removed only under a per-hash registry shared with the upload path:
/// an upload registers its hashes before looking at the files and unregisters after its
/// commit; a delete skips hashes an upload holds and re-checks `isBlobReferenced` first.
/// Anything skipped (or left by a crash) is an unreferenced file that `sweep()` removes.
///
/// Shared by several processes (`cellhubd serve --blob-dir` on N nodes), the registry only
/// knows this process's uploads, so:
/// - Temporary names carry a random UUID and the pid, so two processes writing the same
///   content never open the same temporary file; the second rename replaces an identical file.
/// - An upload that finds its file present refreshes its modification time, and `sweep()`
///   leaves files and temporary files younger than `orphanGraceSeconds` alone: another node's
///   upload may have written them and not committed yet.
/// - `sweep()` runs under the store's orphan-sweep lock (`OrphanSweepLock`): one node sweeps
///   at a time, the others skip.
/// - A delete's removal (`deleteUnreferenced`) stays immediate, so an upload on another node
///   that found the file present just before the removal would commit a row without a file;
///   so after its commit an upload puts back any of its files that has gone (`restoreIfMissing`).
package final class BlobStore: Sendable {
    /// The blob root (`<dataDir>/blobs`).
    package let directory: String
    private let store: any ImageRepository & OrphanSweepLock
    /// Hashes an upload is writing or committing, with how many uploads hold each.
    private let inFlight = Mutex<[String: Int]>([:])
    /// Post-commit removals that failed: how many, and the last one.
    private let failures = Mutex<(count: Int, last: String?)>((0, nil))

    /// Seconds since its last modification before an unreferenced file is swept (see above).
    package let orphanGraceSeconds: Int

    package init(directory: String, store: any ImageRepository & OrphanSweepLock, orphanGraceSeconds: Int = 0) throws(ImageError) {
        self.directory = directory
        self.store = store
        self.orphanGraceSeconds = max(0, orphanGraceSeconds)
        do {
            try Self.makeDirectory(directory)
        } catch {
            throw .internal(underlying: InternalFault(error))
        }
    }

    /// The file of a content hash.
    package func path(of sha256Hex: String) -> String {
        "\(directory)/\(sha256Hex.prefix(2))/\(sha256Hex.dropFirst(2))"
    }

    // MARK: Upload path

    /// Holds `hashes` against deletion while `body` writes their files and commits the rows
    /// that reference them.
    func holding<T, E: Error>(_ hashes: Set<String>, _ body: () throws(E) -> T) throws(E) -> T {
        inFlight.withLock { held in for hash in hashes { held[hash, default: 0] += 1 } }
        defer {
            inFlight.withLock { held in
                for hash in hashes {
                    let count = held[hash, default: 1] - 1
                    held[hash] = count == 0 ? nil : count
                }
            }
        }
        return try body()
    }

    /// Stores `content` under its hash (call inside `holding`). Present files are kept: the
    /// name is the content's hash and files appear only whole (rename), so it is the same.
    func write(_ content: [UInt8], sha256Hex: String) throws(BlobError) {
        let final = path(of: sha256Hex)
        // Present: touch it, so another node's sweep sees a fresh file (its grace period).
        if utimensat(AT_FDCWD, final, nil, 0) == 0 { return }
        let shard = "\(directory)/\(sha256Hex.prefix(2))"
        try Self.makeDirectory(shard)
        let temporary = "\(shard)/.tmp-\(sha256Hex.dropFirst(2))-\(getpid())-\(SystemValues.randomUUID())"
        let fd = try Self.retrying("open", temporary) { open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
        var closed = false
        defer { if !closed { _ = close(fd) } }
        do throws(BlobError) {
            let failure: BlobError? = content.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    do throws(BlobError) {
                        offset += try Self.retrying("write", temporary) {
                            Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                        }
                    } catch {
                        return error
                    }
                }
                return nil
            }
            if let failure { throw failure }
            _ = try Self.retrying("fsync", temporary) { fsync(fd) }
            closed = true
            _ = try Self.retrying("close", temporary) { close(fd) }
            _ = try Self.retrying("rename", temporary) { rename(temporary, final) }
        } catch {
            _ = unlink(temporary)
            throw error
        }
        try Self.syncDirectory(shard)
    }

    /// Writes `content` again when its file has gone (after a commit that references it; see
    /// the type's notes on shared directories). A failure is counted like a failed removal.
    func restoreIfMissing(_ content: [UInt8], sha256Hex: String) {
        guard !Self.exists(path(of: sha256Hex)) else { return }
        do {
            try write(content, sha256Hex: sha256Hex)
        } catch {
            failures.withLock { state in
                state.count += 1
                state.last = "restoring blob \(sha256Hex): \(error)"
            }
        }
    }

    // MARK: Read

    /// The bytes stored under a hash.
    package func read(sha256Hex: String) throws(BlobError) -> [UInt8] {
        let file = path(of: sha256Hex)
        let fd = try Self.retrying("open", file) { open(file, O_RDONLY | O_CLOEXEC) }
        defer { _ = close(fd) }
        var info = stat()
        _ = try Self.retrying("fstat", file) { fstat(fd, &info) }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        let failure: BlobError? = bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < size {
                do throws(BlobError) {
                    let got = try Self.retrying("read", file) { Glibc.read(fd, buffer.baseAddress! + offset, size - offset) }
                    if got == 0 { return BlobError(operation: "read (file shorter than its size)", path: file, errno: EIO) }
                    offset += got
                } catch {
                    return error
                }
            }
            return nil
        }
        if let failure { throw failure }
        return bytes
    }

    // MARK: Delete path

    /// Removes the files of hashes a committed delete reported unreferenced, unless an
    /// upload holds them or re-referenced them meanwhile. Failures are left to `sweep()`.
    /// - Returns: how many files were removed.
    @discardableResult
    package func deleteUnreferenced(_ hashes: [String]) -> Int {
        var removed = 0
        for hash in hashes where Self.isHash(hash) {
            do {
                if try removeIfOrphan(hash) { removed += 1 }
            } catch {
                // The commit already happened; the file stays for the sweep. Counted and kept
                // for the server to log (the domain has no logger).
                failures.withLock { state in
                    state.count += 1
                    state.last = "removing blob \(hash): \(error)"
                }
            }
        }
        return removed
    }

    /// File removals that failed after a commit (left to `sweep()`), and the last failure.
    package var cleanupFailures: (count: Int, last: String?) {
        failures.withLock { ($0.count, $0.last) }
    }

    /// The crash-recovery path: removes every file (and leftover temporary file) that no
    /// blob row references and no upload holds — unless another process sharing the store
    /// is sweeping (it holds the store's orphan-sweep lock): then it looks at nothing.
    @discardableResult
    package func sweep() throws(ImageError) -> OrphanSweep {
        let outcome: Result<[String], ImageError>?
        do {
            outcome = try store.withOrphanSweepLock { Result { () throws(ImageError) in try sweepHoldingTheLock() } }
        } catch {
            throw ImageError(error)
        }
        guard let outcome else { return .skipped }
        return .swept(try outcome.get())
    }

    /// `sweep()`'s walk, under the lock.
    private func sweepHoldingTheLock() throws(ImageError) -> [String] {
        var removed: [String] = []
        do {
            for shard in try Self.list(directory) where shard.utf8.count == 2 && Self.isHex(shard) {
                let shardPath = "\(directory)/\(shard)"
                for name in try Self.list(shardPath) {
                    if isWithinGrace("\(shardPath)/\(name)") { continue }
                    if name.hasPrefix(".tmp-") {
                        let hash = shard + String(name.dropFirst(5).prefix(62))
                        let held = inFlight.withLock { $0[hash] != nil }
                        if !held { _ = unlink("\(shardPath)/\(name)") }
                        continue
                    }
                    let hash = shard + name
                    guard Self.isHash(hash) else { continue }
                    if try removeIfOrphan(hash) { removed.append(hash) }
                }
            }
        } catch {
            throw .internal(underlying: InternalFault(error))
        }
        return removed
    }

    /// Removes temporary files no upload of this process holds: when no server runs on the
    /// directory, every one is a crashed upload's leftover (`cellhubd check` removes them).
    /// - Returns: the removed files, relative to the blob directory.
    package func removeTemporaryFiles() throws(ImageError) -> [String] {
        var removed: [String] = []
        do {
            for shard in try Self.list(directory) where shard.utf8.count == 2 && Self.isHex(shard) {
                for name in try Self.list("\(directory)/\(shard)") where name.hasPrefix(".tmp-") {
                    let hash = shard + String(name.dropFirst(5).prefix(62))
                    guard inFlight.withLock({ $0[hash] == nil }) else { continue }
                    let file = "\(directory)/\(shard)/\(name)"
                    guard unlink(file) == 0 || errno == ENOENT else { throw BlobError(operation: "unlink", path: file, errno: errno) }
                    removed.append("\(shard)/\(name)")
                }
            }
        } catch {
            throw .internal(underlying: InternalFault(error))
        }
        return removed
    }

    /// Compares the blob directory with the blob rows: every row needs a whole file of its
    /// size; a file (or temporary file) without a row is an orphan the next `sweep()`
    /// removes. Exact only while nothing writes (`cellhubd check` runs it offline).
    package func audit() throws(ImageError) -> BlobAudit {
        var audit = BlobAudit()
        do {
            var rows = try store.blobSizes()
            for shard in try Self.list(directory) where shard.utf8.count == 2 && Self.isHex(shard) {
                for name in try Self.list("\(directory)/\(shard)") {
                    if name.hasPrefix(".tmp-") {
                        audit.temporaries.append("\(shard)/\(name)")
                        continue
                    }
                    let hash = shard + name
                    guard Self.isHash(hash), let size = rows.removeValue(forKey: hash) else {
                        audit.orphans.append("\(shard)/\(name)")
                        continue
                    }
                    var info = stat()
                    if stat(path(of: hash), &info) != 0 || Int64(info.st_size) != size {
                        audit.damaged.append(hash)
                    }
                }
            }
            audit.missing = rows.keys.sorted()
        } catch {
            throw .internal(underlying: InternalFault(error))
        }
        return audit
    }

    /// Unlinks a hash's file when no upload holds it and no row references it, checked and
    /// done under the registry's lock so no upload can start using the file in between.
    private func removeIfOrphan(_ hash: String) throws -> Bool {
        try inFlight.withLock { held throws -> Bool in
            guard held[hash] == nil else { return false }
            guard try !store.isBlobReferenced(sha256Hex: hash) else { return false }
            let file = path(of: hash)
            guard unlink(file) == 0 else {
                let code = errno
                if code == ENOENT { return false }
                throw BlobError(operation: "unlink", path: file, errno: code)
            }
            return true
        }
    }

    /// Whether the file was modified less than `orphanGraceSeconds` ago (never with no grace;
    /// a file that has gone counts as young: there is nothing to remove).
    private func isWithinGrace(_ file: String) -> Bool {
        guard orphanGraceSeconds > 0 else { return false }
        var info = stat()
        guard stat(file, &info) == 0 else { return true }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int(now.tv_sec) - Int(info.st_mtim.tv_sec) < orphanGraceSeconds
    }

    /// Whether a file for the hash exists (tests, consistency checks).
    package func contains(sha256Hex: String) -> Bool { Self.exists(path(of: sha256Hex)) }

    // MARK: System calls

    /// Runs a call that returns -1 with errno on failure, retrying on EINTR. EBADF and
    /// EFAULT mean a bug here, not a failure of the file system.
    private static func retrying<T: BinaryInteger>(_ operation: String, _ path: String, _ call: () -> T) throws(BlobError) -> T {
        while true {
            let result = call()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            precondition(code != EBADF && code != EFAULT, "\(operation)(\(path)): errno \(code), a bug in CellHub")
            throw BlobError(operation: operation, path: path, errno: code)
        }
    }

    private static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// `mkdir -p`: every missing component, EEXIST tolerated.
    private static func makeDirectory(_ path: String) throws(BlobError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 {
                let code = errno
                guard code == EEXIST else { throw BlobError(operation: "mkdir", path: prefix, errno: code) }
            }
        }
    }

    /// fsync on the directory makes the rename itself durable.
    private static func syncDirectory(_ path: String) throws(BlobError) {
        let fd = try retrying("open", path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { _ = close(fd) }
        _ = try retrying("fsync", path) { fsync(fd) }
    }

    private static func list(_ path: String) throws(BlobError) -> [String] {
        guard let dir = opendir(path) else { throw BlobError(operation: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            // Read the name in place up to its NUL: the bytes after it in d_name are not
            // initialised (copying the whole array, as a tuple load does, reads them).
            let name = UnsafeRawPointer(entry).advanced(by: MemoryLayout<dirent>.offset(of: \dirent.d_name)!)
                .withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func isHex(_ text: some StringProtocol) -> Bool {
        text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    static func isHash(_ text: String) -> Bool { text.utf8.count == 64 && isHex(text) }
}

/// What `BlobStore.sweep()` did.
package enum OrphanSweep: Sendable, Hashable {
    /// It swept; the hashes whose files it removed.
    case swept([String])
    /// Another process sharing the store was sweeping: nothing was looked at.
    case skipped
}

/// What `BlobStore.audit()` found; all empty = every image's bytes are on disk, nothing else.
package struct BlobAudit: Sendable, Hashable {
    /// Hashes with a row but no file.
    package var missing: [String] = []
    /// Hashes whose file's size differs from the row's.
    package var damaged: [String] = []
    /// Files (relative to the blob directory) no row references.
    package var orphans: [String] = []
    /// Temporary files (relative to the blob directory): uploads being written, or left by
    /// a crash in the middle of one.
    package var temporaries: [String] = []

    package var isClean: Bool { missing.isEmpty && damaged.isEmpty && orphans.isEmpty && temporaries.isEmpty }
}
