/// What a committed change was: the `kind` column of `event_log`, one row per operation.
///
/// These are facts about storage operations, not stream event kinds: the EventHub turns one
/// change into the stream events its subscribers need (an upload becomes a stats update, an
/// image count change, dashboard and activity entries). The raw values are stored, so they
/// never change; new kinds are appended.
package enum ChangeKind: Int64, Sendable, Hashable, CaseIterable {
    case userCreated = 1
    case userRevoked = 2
    case projectCreated = 3
    case projectUpdated = 4
    case projectDeleted = 5
    /// A share was added or its role changed.
    case shareGranted = 6
    /// A share was revoked by the owner, or the member left.
    case shareRevoked = 7
    case imagesUploaded = 8
    /// DeleteImage: one image.
    case imageDeleted = 9
    /// DeleteImages: one batch operation.
    case imagesDeleted = 10
    case segmentationQueued = 11
    /// A worker claimed jobs (QUEUED -> PROCESSING). May span projects (project id NULL).
    case segmentationStarted = 12
    case segmentationCompleted = 13
    /// FailJob: the attempt failed; the job was re-queued or ended FAILED (see the payload).
    case segmentationFailed = 14
    /// Expired leases were swept: jobs re-queued or failed. May span projects.
    case leasesExpired = 15
    /// CancelSegmentation. May span projects.
    case segmentationCancelled = 16

    /// Decodes a stored value; unknown kinds (written by a newer binary) are reported as nil.
    package static func stored(_ value: Int64) -> ChangeKind? { ChangeKind(rawValue: value) }
}
