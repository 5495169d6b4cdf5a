
/// Every domain service over one store and one data directory, wired together (the stats
/// cache is shared, so every write path keeps it exact). The store is any implementation of
/// the domain's ports (`DomainStore`).
package struct Domain: Sendable {
    package let store: any DomainStore
    package let blobs: BlobStore
    package let auth: AuthService
    package let stats: ProjectStatsService
    package let projects: ProjectService
    package let sharing: SharingService
    package let images: ImageService
    package let segmentation: SegmentationService
    package let activity: ActivityService
    package let workers: WorkerService

    /// - Parameter dataDirectory: image files live under `<dataDirectory>/blobs` unless
    ///   `options.blobDirectory` names another directory.
    /// - Parameter payloads: encodes each write's event-log payload (the EventHub's encoder).
    package init(
        store: any DomainStore, dataDirectory: String, options: DomainOptions = DomainOptions(),
        payloads: any EventPayloads = NoEventPayloads()
    ) throws(ImageError) {
        self.store = store
        let blobs = try BlobStore(
            directory: options.blobDirectory ?? dataDirectory + "/blobs", store: store,
            orphanGraceSeconds: options.blobOrphanGraceSeconds)
        self.blobs = blobs
        auth = AuthService(store: store)
        let stats = ProjectStatsService(store: store, options: options)
        self.stats = stats
        projects = ProjectService(store: store, blobs: blobs, stats: stats, payloads: payloads)
        sharing = SharingService(store: store, payloads: payloads)
        images = ImageService(store: store, blobs: blobs, stats: stats, options: options, payloads: payloads)
        segmentation = SegmentationService(store: store, stats: stats, options: options, payloads: payloads)
        activity = ActivityService(store: store)
        workers = WorkerService(store: store, blobs: blobs, stats: stats, options: options, payloads: payloads)
    }
}
