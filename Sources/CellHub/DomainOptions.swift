
/// Limits and defaults of the domain services (cellhubd flags feed these).
package struct DomainOptions: Sendable {
    /// Largest accepted image, in bytes (INVALID_ARGUMENT above it).
    package var maxImageBytes: Int = 32 << 20
    /// Largest total content of one UploadImages call (RESOURCE_EXHAUSTED above it).
    package var maxUploadBytes: Int = 64 << 20
    /// Images per UploadImages call.
    package var maxImagesPerUpload = 100
    /// Ids per DeleteImages / EnqueueSegmentation / CancelSegmentation call.
    package var maxIDsPerCall = 10_000
    /// The model an empty `model` resolves to.
    package var defaultModel = "builtin-otsu"
    /// How long a claimed job's lease lasts (renewed with RenewJobLease).
    package var leaseDurationMs: Int64 = 60_000
    /// Where image files live; nil = `<dataDirectory>/blobs`. Several nodes may share one
    /// (`cellhubd serve --blob-dir`).
    package var blobDirectory: String? = nil
    /// Files and temporary files younger than this are never swept as orphans: on a blob
    /// directory shared by several nodes, another node's upload may have written them and not
    /// committed yet. 0 (one node owns the directory) = sweep every unreferenced file.
    package var blobOrphanGraceSeconds: Int = 0
    /// Attempts allowed per segmentation job.
    package var maxAttempts = 3
    /// Service-wide bound on QUEUED jobs; nil = unbounded.
    package var queueLimit: Int64?
    /// Entries kept by the project stats cache.
    package var statsCacheCapacity = 10_000
    /// Milliseconds since the Unix epoch, UTC ("today", throughput windows).
    package var clock: @Sendable () -> Int64 = SystemValues.milliseconds

    package init() {}
}
