import CellHubCrypto

/// Uploads, reads, lists and deletes images: editors write, viewers read.
///
/// Upload order: validate everything (names, types against magic bytes, sizes, optional
/// client hashes) → role check → write and fsync the content files under their hashes →
/// one store transaction that references them. A crash before the commit leaves only
/// unreferenced files (swept later), never a row without its file.
package final class ImageService: Sendable {
    private let store: any ImageRepository
    private let blobs: BlobStore
    private let stats: ProjectStatsService
    private let options: DomainOptions
    private let access: ProjectAccess
    private let payloads: any EventPayloads

    init(store: any ImageRepository & ProjectRepository, blobs: BlobStore, stats: ProjectStatsService, options: DomainOptions, payloads: any EventPayloads) {
        self.store = store
        self.payloads = payloads
        self.blobs = blobs
        self.stats = stats
        self.options = options
        access = ProjectAccess(store: store)
    }

    /// Stores 1...100 images atomically; editor or owner. A non-empty `idempotencyKey`
    /// already used by this caller on this project for the same request replays the first
    /// response; for another request it is `failedPrecondition`.
    package func upload(
        projectID: String, images: [ImageUpload], idempotencyKey: String = "", caller: Caller
    ) throws(ImageError) -> UploadOutcome {
        let projectID = try Self.validID(projectID, field: "project_id")
        let prepared = try validate(images, idempotencyKey: idempotencyKey)
        do {
            _ = try access.requireRole(.editor, projectID: projectID, caller: caller)
        } catch {
            throw ImageError(error)
        }
        var requestHasher = SHA256()
        for image in prepared {
            for field in [image.name, image.contentType, image.sha256Hex] {
                requestHasher.update(String(field.utf8.count).utf8)
                requestHasher.update([0x3A])
                requestHasher.update(field.utf8)
            }
        }
        let idempotency = idempotencyKey.isEmpty ? nil : IdempotencyKey(key: idempotencyKey, requestHash: requestHasher.finalize())
        let newImages = prepared.map {
            NewImage(name: $0.name, contentType: $0.contentType, sizeBytes: Int64($0.content.count), sha256Hex: $0.sha256Hex)
        }
        let hashes = Set(prepared.map(\.sha256Hex))
        let result: UploadResult
        do {
            result = try writeAndCommit(newImages, prepared, hashes, projectID: projectID, idempotency: idempotency, caller: caller)
        } catch {
            // Nothing references the files this call wrote: remove them now (else the sweep would).
            blobs.deleteUnreferenced(hashes.sorted())
            throw error
        }
        switch result {
        case .stored(let uploaded):
            stats.record(uploaded.counters)
            return UploadOutcome(images: uploaded.images.map(ImageMetadata.init), replayed: false, stored: uploaded)
        case .replayed(let response):
            // A replay stores nothing: files written for it are orphans unless referenced.
            blobs.deleteUnreferenced(hashes.sorted())
            guard let images = UploadReplayCodec.decode(response) else {
                throw .internal(underlying: InternalFault(BlobError(operation: "decode replay", path: idempotencyKey, errno: 0)))
            }
            return UploadOutcome(images: images, replayed: true, stored: nil)
        }
    }

    /// One image's metadata; any role on its project.
    package func get(imageID: String, caller: Caller) throws(ImageError) -> ImageMetadata {
        ImageMetadata(try visibleImage(imageID, minimum: .viewer, caller: caller))
    }

    /// One page of a project's images, newest first; any role.
    /// - Parameter statuses: empty = all.
    package func list(
        projectID: String, caller: Caller, pageSize: Int32 = 0, pageToken: String = "",
        statuses: Set<ImageStatus> = [], nameContains: String = ""
    ) throws(ImageError) -> ImagePage {
        let projectID = try Self.validID(projectID, field: "project_id")
        let limit: Int
        do {
            limit = try Validation.pageSize(pageSize)
        } catch {
            throw .invalidArgument(error.message)
        }
        do {
            try Validation.text(nameContains, field: "name_contains", limit: .nameFilter)
        } catch {
            throw .invalidArgument(error.message)
        }
        let filters = ["images", projectID, statuses.map { String($0.rawValue) }.sorted().joined(separator: ","), nameContains]
        guard let position = PageToken.decode(pageToken, filters: filters) else {
            throw .invalidArgument("page_token is malformed or belongs to a different request")
        }
        do {
            _ = try access.requireRole(.viewer, projectID: projectID, caller: caller)
        } catch {
            throw ImageError(error)
        }
        let cursor = position.map { ImageCursor(uploadedAtMs: $0.timeMs, id: $0.id) }
        let page = try run { () throws(StoreError) in
            try store.images(projectID: projectID, statuses: statuses, nameContains: nameContains, limit: limit, after: cursor)
        }
        let next = page.next.map { PageToken.encode(timeMs: $0.uploadedAtMs, id: $0.id, filters: filters) } ?? ""
        return ImagePage(images: page.items.map(ImageMetadata.init), nextPageToken: next, totalSize: page.totalCount)
    }

    /// The image's bytes with type and hash; any role.
    package func content(imageID: String, caller: Caller) throws(ImageError) -> ImageContent {
        let image = try visibleImage(imageID, minimum: .viewer, caller: caller)
        let bytes: [UInt8]
        do {
            bytes = try blobs.read(sha256Hex: image.sha256Hex)
        } catch {
            throw .internal(underlying: InternalFault(error))
        }
        return ImageContent(
            content: bytes, contentType: image.contentType, sha256Hex: image.sha256Hex, name: image.name,
            sizeBytes: Int64(bytes.count))
    }

    /// Deletes one image (an open job is cancelled); editor or owner.
    package func delete(imageID: String, caller: Caller) throws(ImageError) -> ImagesDeleted {
        let image = try visibleImage(imageID, minimum: .editor, caller: caller)
        let deleted = try run { () throws(StoreError) in
            try store.deleteImage(id: image.id, actor: caller.userID, payload: payloads.imagesDeleted)
        }
        committed(deleted)
        return deleted
    }

    /// Deletes 1...10000 images of one project in one operation; editor or owner. Ids that
    /// are not images of the project fail the call unless `allowMissing`.
    package func delete(
        projectID: String, imageIDs: [String], allowMissing: Bool = false, caller: Caller
    ) throws(ImageError) -> ImagesDeleted {
        let projectID = try Self.validID(projectID, field: "project_id")
        guard !imageIDs.isEmpty else { throw .invalidArgument("image_ids must not be empty") }
        guard imageIDs.count <= options.maxIDsPerCall else {
            throw .invalidArgument("image_ids has \(imageIDs.count) ids; at most \(options.maxIDsPerCall) are allowed")
        }
        for (index, id) in imageIDs.enumerated() { _ = try Self.validID(id, field: "image_ids[\(index)]") }
        do {
            _ = try access.requireRole(.editor, projectID: projectID, caller: caller)
        } catch {
            throw ImageError(error)
        }
        let deleted = try run { () throws(StoreError) in
            try store.deleteImages(projectID: projectID, ids: imageIDs, allowMissing: allowMissing, actor: caller.userID, payload: payloads.imagesDeleted)
        }
        committed(deleted)
        return deleted
    }

    // MARK: Helpers

    /// Writes the files and commits the rows while the hashes are held against deletion.
    private func writeAndCommit(
        _ newImages: [NewImage], _ prepared: [Prepared], _ hashes: Set<String>, projectID: String,
        idempotency: IdempotencyKey?, caller: Caller
    ) throws(ImageError) -> UploadResult {
        try blobs.holding(hashes) { () throws(ImageError) -> UploadResult in
            var written = Set<String>()
            for image in prepared where written.insert(image.sha256Hex).inserted {
                do {
                    try blobs.write(image.content, sha256Hex: image.sha256Hex)
                } catch {
                    throw .internal(underlying: InternalFault(error))
                }
            }
            let result = try run { () throws(StoreError) in
                try store.uploadImages(
                    projectID: projectID, uploaderID: caller.userID, images: newImages, idempotency: idempotency,
                    response: { UploadReplayCodec.encode($0.images.map(ImageMetadata.init)) }, payload: payloads.imagesUploaded)
            }
            // On a shared blob directory another node's delete may have removed a file this
            // upload found present, between that node's check of the references and this commit.
            guard case .stored = result else { return result }
            var restored = Set<String>()
            for image in prepared where restored.insert(image.sha256Hex).inserted {
                blobs.restoreIfMissing(image.content, sha256Hex: image.sha256Hex)
            }
            return result
        }
    }

    private func committed(_ deleted: ImagesDeleted) {
        guard deleted.revision != nil else { return }
        stats.record(deleted.counters)
        blobs.deleteUnreferenced(deleted.orphanedBlobs)
    }

    /// The image, if its project is visible to the caller with at least `minimum`; an image
    /// of an invisible project is NOT_FOUND exactly like a missing one.
    private func visibleImage(_ imageID: String, minimum: MemberRole, caller: Caller) throws(ImageError) -> ImageRecord {
        let id = try Self.validID(imageID, field: "image_id")
        let image = try run { () throws(StoreError) in try store.image(id: id) }
        guard let image else { throw .notFound("image \(id) not found") }
        do {
            _ = try access.requireRole(minimum, projectID: image.projectID, caller: caller)
        } catch .notFound(_) {
            throw .notFound("image \(id) not found")
        } catch {
            throw ImageError(error)
        }
        return image
    }

    private struct Prepared {
        var name: String
        var contentType: String
        var content: [UInt8]
        var sha256Hex: String
    }

    /// Every rule an upload must pass, with the offending image's index in the message.
    private func validate(_ images: [ImageUpload], idempotencyKey: String) throws(ImageError) -> [Prepared] {
        guard !images.isEmpty else { throw .invalidArgument("images must not be empty") }
        guard images.count <= options.maxImagesPerUpload else {
            throw .invalidArgument("images has \(images.count) entries; at most \(options.maxImagesPerUpload) are allowed per call")
        }
        let total = images.reduce(0) { $0 + $1.content.count }
        guard total <= options.maxUploadBytes else {
            throw .resourceExhausted(
                "the images total \(total) bytes, over the per-call limit of \(options.maxUploadBytes) bytes; split the upload")
        }
        if !idempotencyKey.isEmpty {
            guard idempotencyKey.utf8.count <= 128, idempotencyKey.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw .invalidArgument("idempotency_key must be 1..128 printable ASCII characters")
            }
        }
        var prepared: [Prepared] = []
        prepared.reserveCapacity(images.count)
        for (index, image) in images.enumerated() {
            let label = "images[\(index)]"
            let name: String
            do {
                name = try Validation.name(image.name, field: "\(label).name", limit: .imageName)
                try Validation.bytes(image.contentType, field: "\(label).content_type", max: 100)
                try Validation.bytes(image.sha256Hex, field: "\(label).sha256_hex", max: 64)
            } catch {
                throw .invalidArgument(error.message)
            }
            guard !name.utf8.contains(UInt8(ascii: "/")) else { throw .invalidArgument("\(label).name must not contain '/'") }
            guard let declared = ImageFormat(rawValue: image.contentType) else {
                let accepted = ImageFormat.allCases.map(\.rawValue).joined(separator: ", ")
                throw .invalidArgument("\(label).content_type \(Validation.quoted(image.contentType)) is not one of \(accepted)")
            }
            guard !image.content.isEmpty else { throw .invalidArgument("\(label).content is empty") }
            guard image.content.count <= options.maxImageBytes else {
                throw .invalidArgument(
                    "\(label).content is \(image.content.count) bytes, over the image size limit of \(options.maxImageBytes) bytes")
            }
            guard let detected = ImageFormat.detect(image.content) else {
                throw .invalidArgument("\(label).content is not a PNG, JPEG, TIFF or PGM image (unrecognised magic bytes)")
            }
            guard detected == declared else {
                throw .invalidArgument(
                    "\(label).content is \(detected.rawValue) by its magic bytes, but content_type says \(declared.rawValue)")
            }
            let sha256Hex = SHA256.hexHash(image.content)
            if !image.sha256Hex.isEmpty {
                let given = image.sha256Hex.lowercased()
                guard BlobStore.isHash(given) else { throw .invalidArgument("\(label).sha256_hex must be 64 hex characters") }
                guard given == sha256Hex else {
                    throw .invalidArgument("\(label).sha256_hex does not match the content (its SHA-256 is \(sha256Hex))")
                }
            }
            prepared.append(Prepared(name: name, contentType: declared.rawValue, content: image.content, sha256Hex: sha256Hex))
        }
        return prepared
    }

    static func validID(_ value: String, field: String) throws(ImageError) -> String {
        do {
            return try Validation.id(value, field: field)
        } catch {
            throw .invalidArgument(error.message)
        }
    }

    private func run<T>(_ body: () throws(StoreError) -> T) throws(ImageError) -> T {
        do {
            return try body()
        } catch {
            throw ImageError(error)
        }
    }
}
