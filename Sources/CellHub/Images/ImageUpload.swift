
/// One image of an UploadImages call.
package struct ImageUpload: Sendable, Hashable {
    /// 1...255 characters, no '/', no control characters.
    package var name: String
    /// One of `ImageFormat`'s MIME types, matching the content's magic bytes.
    package var contentType: String
    package var content: [UInt8]
    /// Optional SHA-256 of `content` (64 hex characters); "" = not checked.
    package var sha256Hex: String

    package init(name: String, contentType: String, content: [UInt8], sha256Hex: String = "") {
        self.name = name
        self.contentType = contentType
        self.content = content
        self.sha256Hex = sha256Hex
    }
}

/// UploadImages' result.
package struct UploadOutcome: Sendable, Hashable {
    /// The stored images, in request order (as of the original call when replayed).
    package var images: [ImageMetadata]
    /// True when an earlier call with the same idempotency key is replayed (nothing stored).
    package var replayed: Bool
    /// The committed change, for events; nil when replayed.
    package var stored: ImagesUploaded?
}

/// One page of ListImages.
package struct ImagePage: Sendable, Hashable {
    package var images: [ImageMetadata]
    /// Empty on the last page.
    package var nextPageToken: String
    package var totalSize: Int64
}

/// GetImageContent's result.
package struct ImageContent: Sendable, Hashable {
    package var content: [UInt8]
    package var contentType: String
    package var sha256Hex: String
    package var name: String
    package var sizeBytes: Int64
}
