package import CellHub
extension SQLStore {
    /// Inserts 1...n images into a project in one transaction: rows, blob references,
    /// counters (NO_SEGMENTATION, bytes, last upload time) and the upload bucket. Appends one
    /// `imagesUploaded` event for the whole batch.
    ///
    /// With an idempotency key: a key this user already used on this project within the
    /// window returns `.replayed` with the response bytes stored then (nothing is written, no
    /// event) when the request hash matches, and throws `idempotencyKeyReused` when it does
    /// not. Otherwise `response` encodes what a replay must return, stored with the images.
    ///
    /// The files must already be stored under their hashes (written, fsynced, renamed) when
    /// this is called; a crash before the commit leaves only unreferenced files.
    /// - Throws: `notFound(.project)`, `notFound(.user)`, `idempotencyKeyReused`.
    package func uploadImages(
        projectID: String, uploaderID: String, images: [NewImage], idempotency: IdempotencyKey? = nil,
        response: (ImagesUploaded) -> [UInt8] = { _ in [] }, payload: (ImagesUploaded) -> [UInt8]
    ) throws(StoreError) -> UploadResult {
        precondition(!images.isEmpty, "an upload of no images: a bug in CellHub")
        let window = idempotencyWindowMs
        return try write { tx in
            guard let previous = try Rows.counters(tx.db, projectID: projectID) else {
                throw StoreError.notFound(.project, id: projectID)
            }
            guard let uploader = try Rows.user(tx.db, id: uploaderID) else {
                throw StoreError.notFound(.user, id: uploaderID)
            }
            if let idempotency {
                let earlier = try tx.db.queryOne(
                    """
                    SELECT request_hash, response, created_at_ms FROM idempotency_keys
                    WHERE user_id = ? AND project_id = ? AND key = ?
                    """, uploaderID, projectID, idempotency.key) { ($0.blob(0), $0.blob(1), $0.int64(2)) }
                if let (requestHash, stored, createdAtMs) = earlier {
                    if createdAtMs > tx.now - window {
                        guard requestHash == idempotency.requestHash else {
                            throw StoreError.idempotencyKeyReused(idempotency.key)
                        }
                        return UploadResult.replayed(response: stored)
                    }
                    try tx.db.run(
                        "DELETE FROM idempotency_keys WHERE user_id = ? AND project_id = ? AND key = ?",
                        uploaderID, projectID, idempotency.key)
                }
            }
            let uploaded = try tx.recording(.imagesUploaded, projectID: projectID, actor: uploaderID, payload: payload) { revision in
                var delta = CounterDelta()
                delta.lastImageAddedAtMs = tx.now
                var records: [ImageRecord] = []
                records.reserveCapacity(images.count)
                // One reference per image; identical content in one upload is one row (an
                // upsert may not touch a row twice in one statement).
                var references: [String: (sizeBytes: Int64, count: Int64)] = [:]
                var contents: [String] = []
                for image in images {
                    let id = tx.makeID()
                    if let seen = references[image.sha256Hex] {
                        references[image.sha256Hex] = (seen.sizeBytes, seen.count + 1)
                    } else {
                        references[image.sha256Hex] = (image.sizeBytes, 1)
                        contents.append(image.sha256Hex)
                    }
                    delta.insert(.noSegmentation, bytes: image.sizeBytes)
                    records.append(ImageRecord(
                        id: id, projectID: projectID, name: image.name, contentType: image.contentType,
                        sizeBytes: image.sizeBytes, sha256Hex: image.sha256Hex, status: .noSegmentation,
                        uploadedAtMs: tx.now, uploadedBy: uploader.ref, statusChangedAtMs: tx.now, segmentedAtMs: 0,
                        jobID: nil, cellCount: 0, failureReason: ""))
                }
                try tx.db.insert(
                    "INSERT INTO blobs (sha256, size_bytes, ref_count) VALUES", row: "(?, ?, ?)",
                    contents.map { sha in [sha, references[sha]!.sizeBytes, references[sha]!.count] },
                    tail: "ON CONFLICT (sha256) DO UPDATE SET ref_count = blobs.ref_count + excluded.ref_count")
                try tx.db.insert(
                    """
                    INSERT INTO images (id, project_id, name, name_folded, content_type, size_bytes, sha256, status,
                                        uploaded_at_ms, uploader_id, status_changed_at_ms) VALUES
                    """, row: "(?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                    records.map { image in
                        [image.id, projectID, image.name, image.name.lowercased(), image.contentType, image.sizeBytes,
                         image.sha256Hex, tx.now, uploaderID, tx.now]
                    })
                let counters = try tx.apply(delta, to: projectID, revision: revision)
                try tx.addActivity(projectID: projectID, atMs: tx.now, uploaded: Int64(images.count))
                var entry = tx.activity(.imagesUploaded, about: try ActivityProject(tx.db, id: projectID)!, actor: uploaderID, revision: revision)
                entry.imageCount = Int64(images.count)
                entry.sampleImageNames = images.prefix(ActivityEntry.maxSampleNames).map(\.name)
                try tx.appendProjectActivity(entry, ownedBy: uploaderID, counters: counters)
                return ImagesUploaded(
                    images: records, previousImageCount: previous.imageCount, counters: counters, revision: revision)
            }
            if let idempotency {
                try tx.db.run(
                    """
                    INSERT INTO idempotency_keys (user_id, project_id, key, request_hash, response, created_at_ms)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, uploaderID, projectID, idempotency.key, idempotency.requestHash, response(uploaded), tx.now)
            }
            return UploadResult.stored(uploaded)
        }
    }

    /// One image's metadata, or nil. Visibility checks are the caller's (via its project).
    package func image(id: String) throws(StoreError) -> ImageRecord? {
        try read { db in try Rows.image(db, id: id) }
    }

    /// One page of a project's images, newest upload first (ties by id descending).
    /// `statuses` empty = all; `nameContains` matches case-insensitively ("" = all). The
    /// total is O(1) from the counters unless a name filter is given.
    package func images(
        projectID: String, statuses: Set<ImageStatus> = [], nameContains: String = "", limit: Int,
        after cursor: ImageCursor? = nil
    ) throws(StoreError) -> Page<ImageRecord, ImageCursor> {
        precondition(limit >= 1, "page limit \(limit): a bug in CellHub")
        let statusList = statuses.isEmpty ? "" : statuses.map { String($0.rawValue) }.sorted().joined(separator: ", ")
        // The status list is made of our own integers, so it can be spelled into the SQL
        // (one cached statement per distinct filter) instead of a variable parameter list.
        let needle = nameContains.lowercased()
        return try read { db in
            let conditions = """
                i.project_id = ?1 \(statusList.isEmpty ? "" : "AND i.status IN (\(statusList))")
                AND (?2 = '' OR \(db.dialect.position)(i.name_folded, ?2) > 0)
                """
            let rows = try db.query(
                """
                SELECT \(Rows.imageColumns) FROM images i \(Rows.imageJoins)
                WHERE \(conditions)
                  AND (CAST(?3 AS BIGINT) IS NULL OR i.uploaded_at_ms < ?3 OR (i.uploaded_at_ms = ?3 AND i.id < ?4))
                ORDER BY i.uploaded_at_ms DESC, i.id DESC LIMIT ?5
                """, projectID, needle, cursor?.uploadedAtMs, cursor?.id ?? "", limit + 1, row: Rows.image)
            let total: Int64
            if needle.isEmpty, let counters = try Rows.counters(db, projectID: projectID) {
                total = statuses.isEmpty ? counters.imageCount : statuses.reduce(0) { $0 + counters.count($1) }
            } else {
                total = try db.queryOne("SELECT count(*) FROM images i WHERE \(conditions)", projectID, needle) {
                    $0.int64(0)
                } ?? 0
            }
            let items = Array(rows.prefix(limit))
            let next = rows.count > limit ? items.last.map { ImageCursor(uploadedAtMs: $0.uploadedAtMs, id: $0.id) } : nil
            return Page(items: items, next: next, totalCount: total)
        }
    }

    /// Deletes one image (DeleteImage): its result goes with it, an open job is cancelled,
    /// counters and its upload bucket move down, its blob is released. Appends `imageDeleted`.
    /// - Throws: `notFound(.image)`.
    package func deleteImage(id: String, actor: String, payload: (ImagesDeleted) -> [UInt8]) throws(StoreError) -> ImagesDeleted {
        try write { tx in
            guard let image = try Rows.image(tx.db, id: id) else { throw StoreError.notFound(.image, id: id) }
            return try Self.delete([image], missing: [], projectID: image.projectID, kind: .imageDeleted, actor: actor, tx, payload)
        }
    }

    /// Deletes images of one project in one operation (DeleteImages); duplicates are ignored.
    /// Ids that are not images of the project fail the call (`imagesNotFound`, nothing
    /// deleted) unless `allowMissing`, when they are reported in `missingIDs`. Deleting
    /// nothing appends nothing; otherwise one `imagesDeleted` event for the whole batch.
    /// - Throws: `notFound(.project)`, `imagesNotFound`.
    package func deleteImages(
        projectID: String, ids: [String], allowMissing: Bool, actor: String, payload: (ImagesDeleted) -> [UInt8]
    ) throws(StoreError) -> ImagesDeleted {
        try write { tx in
            guard let counters = try Rows.counters(tx.db, projectID: projectID) else {
                throw StoreError.notFound(.project, id: projectID)
            }
            var seen = Set<String>()
            let unique = ids.filter { seen.insert($0).inserted }
            let stored = try tx.db.query(in: unique, {
                "SELECT \(Rows.imageColumns) FROM images i \(Rows.imageJoins) WHERE i.id IN \($0)"
            }, row: Rows.image)
            let byID = Dictionary(stored.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            var found: [ImageRecord] = []
            var missing: [String] = []
            for id in unique {
                if let image = byID[id], image.projectID == projectID {
                    found.append(image)
                } else {
                    missing.append(id)
                }
            }
            if !missing.isEmpty && !allowMissing { throw StoreError.imagesNotFound(missing) }
            if found.isEmpty {
                return ImagesDeleted(
                    projectID: projectID, deleted: [], missingIDs: missing, freedBytes: 0,
                    previousImageCount: counters.imageCount, counters: counters, cancelledJobs: [], orphanedBlobs: [],
                    revision: nil)
            }
            return try Self.delete(found, missing: missing, projectID: projectID, kind: .imagesDeleted, actor: actor, tx, payload)
        }
    }

    /// The shared body of both deletes, for images already loaded (all of `projectID`).
    private static func delete(
        _ images: [ImageRecord], missing: [String], projectID: String, kind: ChangeKind, actor: String,
        _ tx: Transaction, _ payload: (ImagesDeleted) -> [UInt8]
    ) throws -> ImagesDeleted {
        let previous = try Rows.counters(tx.db, projectID: projectID)!
        return try tx.recording(kind, projectID: projectID, actor: actor, payload: payload) { revision in
            var delta = CounterDelta()
            var cancelled: [CancelledJob] = []
            var blobs: [String: Int64] = [:]
            var uploadBuckets: [Int64: Int64] = [:]
            for image in images {
                if image.status == .queued || image.status == .processing, let jobID = image.jobID,
                   let job = try Rows.job(tx.db, id: jobID), job.status.isOpen {
                    try tx.db.run(
                        "UPDATE segmentation_jobs SET status = 5, finished_at_ms = ?, error = 'image deleted' WHERE id = ?",
                        tx.now, jobID)
                    cancelled.append(CancelledJob(job))
                }
                delta.remove(image.status, bytes: image.sizeBytes)
                blobs[image.sha256Hex, default: 0] += 1
                uploadBuckets[image.uploadedAtMs, default: 0] += 1
            }
            try tx.db.run(in: images.map(\.id)) { "DELETE FROM images WHERE id IN \($0)" }
            for (uploadedAtMs, count) in uploadBuckets {
                try tx.removeUploads(projectID: projectID, uploadedAtMs: uploadedAtMs, count: count)
            }
            var orphaned: [String] = []
            for (sha256, count) in blobs.sorted(by: { $0.key < $1.key }) {
                if try tx.releaseBlob(sha256, count: count) { orphaned.append(sha256) }
            }
            let counters = try tx.apply(delta, to: projectID, revision: revision)
            var entry = tx.activity(.imagesDeleted, about: try ActivityProject(tx.db, id: projectID)!, actor: actor, revision: revision)
            entry.imageCount = Int64(images.count)
            entry.sampleImageNames = images.prefix(ActivityEntry.maxSampleNames).map(\.name)
            try tx.appendProjectActivity(entry, ownedBy: actor, counters: counters)
            return ImagesDeleted(
                projectID: projectID, deleted: images, missingIDs: missing, freedBytes: -delta.bytes,
                previousImageCount: previous.imageCount, counters: counters, cancelledJobs: cancelled,
                orphanedBlobs: orphaned, revision: revision)
        }
    }

    /// True while some image references the content: the check to make (under the same
    /// per-hash lock as uploads of that content) before deleting an orphaned file, in case a
    /// concurrent upload of identical bytes re-referenced it after the delete committed.
    package func isBlobReferenced(sha256Hex: String) throws(StoreError) -> Bool {
        try read { db in
            try db.queryOne("SELECT 1 FROM blobs WHERE sha256 = ?", sha256Hex) { _ in true } != nil
        }
    }

    /// Every blob row: content hash → size in bytes (the file inventory `cellhubd check`
    /// compares with the blob directory).
    package func blobSizes() throws(StoreError) -> [String: Int64] {
        try read { db in
            var sizes: [String: Int64] = [:]
            for (hash, size) in try db.query("SELECT sha256, size_bytes FROM blobs", row: { ($0.string(0), $0.int64(1)) }) {
                sizes[hash] = size
            }
            return sizes
        }
    }

    /// Forgets idempotency keys created before `beforeMs`; returns how many. Run it
    /// periodically (keys older than the window are ignored anyway).
    package func pruneIdempotencyKeys(createdBefore beforeMs: Int64) throws(StoreError) -> Int {
        try write { tx in try tx.db.run("DELETE FROM idempotency_keys WHERE created_at_ms < ?", beforeMs) }
    }
}
