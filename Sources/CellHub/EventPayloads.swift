
/// Encodes the event-log payload of each write, inside its transaction (the store's
/// `payload` closures): the seam where the EventHub plugs in its event encoding without the
/// services knowing it. Implementations must not call back into the store.
///
/// `cellhubd` writes `cellhub.v1.ChangeRecord`s (CellHubServer's `ChangeRecordPayloads`);
/// every method defaults to an empty payload, for tests that do not read the log.
package protocol EventPayloads: Sendable {
    func projectCreated(_ change: ProjectCreated) -> [UInt8]
    func projectUpdated(_ change: ProjectUpdated) -> [UInt8]
    func projectDeleted(_ change: ProjectDeleted) -> [UInt8]
    func shareGranted(_ change: ShareGranted) -> [UInt8]
    func shareRevoked(_ change: ShareRevoked) -> [UInt8]
    func imagesUploaded(_ change: ImagesUploaded) -> [UInt8]
    func imagesDeleted(_ change: ImagesDeleted) -> [UInt8]
    func jobsEnqueued(_ change: JobsEnqueued) -> [UInt8]
    func jobsCancelled(_ change: JobsCancelled) -> [UInt8]
    func jobsClaimed(_ change: JobsClaimed) -> [UInt8]
    func jobCompleted(_ change: JobCompleted) -> [UInt8]
    func jobFailed(_ change: JobFailed) -> [UInt8]
    func leasesExpired(_ change: LeasesExpired) -> [UInt8]
    func userRevoked(_ change: UserRevoked) -> [UInt8]
}

extension EventPayloads {
    package func projectCreated(_ change: ProjectCreated) -> [UInt8] { [] }
    package func projectUpdated(_ change: ProjectUpdated) -> [UInt8] { [] }
    package func projectDeleted(_ change: ProjectDeleted) -> [UInt8] { [] }
    package func shareGranted(_ change: ShareGranted) -> [UInt8] { [] }
    package func shareRevoked(_ change: ShareRevoked) -> [UInt8] { [] }
    package func imagesUploaded(_ change: ImagesUploaded) -> [UInt8] { [] }
    package func imagesDeleted(_ change: ImagesDeleted) -> [UInt8] { [] }
    package func jobsEnqueued(_ change: JobsEnqueued) -> [UInt8] { [] }
    package func jobsCancelled(_ change: JobsCancelled) -> [UInt8] { [] }
    package func jobsClaimed(_ change: JobsClaimed) -> [UInt8] { [] }
    package func jobCompleted(_ change: JobCompleted) -> [UInt8] { [] }
    package func jobFailed(_ change: JobFailed) -> [UInt8] { [] }
    package func leasesExpired(_ change: LeasesExpired) -> [UInt8] { [] }
    package func userRevoked(_ change: UserRevoked) -> [UInt8] { [] }
}

/// Empty payloads for every change (tests that do not read the event log).
package struct NoEventPayloads: EventPayloads {
    package init() {}
}
