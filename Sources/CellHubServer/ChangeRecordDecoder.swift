package import CellHub
import CellHubProto
import RPC

/// Reads back the `ChangeRecord`s that `ChangeRecordPayloads` wrote: the EventHub's view of
/// each event-log row. A row this binary cannot read (an unknown kind from a newer binary, a
/// damaged payload) decodes to nil and is skipped by the hub, which reports it.
package struct ChangeRecordDecoder: ChangeDecoding {
    package init() {}

    package func decode(_ event: StoredEvent) -> Change? {
        guard let kind = event.kind, let record = try? ChangeRecord(serializedBytes: event.payload) else { return nil }
        var change = Change(
            revision: event.revision, committedAtMs: event.committedAtMs, kind: kind, projectID: event.projectID,
            actorID: event.actorUserID)
        change.images = record.imageIds.indices.map { index in
            ChangedImage(
                id: record.imageIds[index],
                name: record.imageNames.indices.contains(index) ? record.imageNames[index] : "",
                sizeBytes: record.imageSizes.indices.contains(index) ? record.imageSizes[index] : 0,
                previousStatus: record.imagePreviousStatuses.indices.contains(index) ? record.imagePreviousStatuses[index].imageStatus : nil,
                projectID: record.imageProjectIds.indices.contains(index) ? record.imageProjectIds[index] : nil)
        }
        change.jobs = record.jobs.compactMap { job in
            let outcome: ChangedJob.Outcome
            switch job.outcome {
            case .started: outcome = .started
            case .completed: outcome = .completed(cellCount: job.cellCount, processingMs: job.processingTimeMs)
            case .failed: outcome = .failed(reason: job.reason)
            case .requeued: outcome = .requeued(reason: job.reason)
            case .unspecified, .unrecognized: return nil
            }
            return ChangedJob(jobID: job.jobId, imageID: job.imageId, projectID: job.projectId, outcome: outcome)
        }
        change.jobIDs = record.jobIds
        change.stats = record.stats.map(ProjectCounters.init)
        change.previousImageCount = record.previousImageCount
        change.bytes = record.bytes
        change.users = record.users.map { CellHub.UserRef(id: $0.userId, name: $0.userName) }
        change.role = record.role.memberRole
        change.previousRole = record.previousRole.memberRole
        change.left = record.left
        change.projectName = record.projectName
        change.projectDescription = record.projectDescription
        change.changedFields = record.changedFields
        change.batchID = record.batchId
        change.members = record.members.compactMap { member in
            guard let role = member.role.memberRole, let user = member.user else { return nil }
            let by = member.sharedBy ?? user
            return MemberRecord(
                projectID: event.projectID ?? "", user: CellHub.UserRef(id: user.userId, name: user.userName), role: role,
                sharedAtMs: member.sharedAtUnixMs, sharedBy: CellHub.UserRef(id: by.userId, name: by.userName))
        }
        return change
    }
}

extension ProjectCounters {
    /// Counters back from the stats a record carries (the derived progress is dropped).
    init(_ stats: CellHubProto.ProjectStats) {
        self.init(
            projectID: stats.projectId, imageCount: stats.imageCount, noSegmentation: stats.noSegmentationCount,
            queued: stats.queuedCount, processing: stats.processingCount, segmented: stats.segmentedCount,
            failed: stats.failedCount, totalBytes: stats.totalBytes, lastImageAddedAtMs: stats.lastImageAddedAtUnixMs,
            lastSegmentationCompletedAtMs: stats.lastSegmentationCompletedAtUnixMs, updatedAtMs: stats.updatedAtUnixMs,
            revision: Int64(stats.revision))
    }
}
