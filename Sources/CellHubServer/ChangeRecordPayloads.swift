package import CellHub
import CellHubProto
import CellHubStore

/// The event log's payloads: each committed change as a `cellhub.v1.ChangeRecord` — the
/// affected images (all of them, one record per operation), jobs, users, and the stats after —
/// encoded inside the change's transaction, so the streams can rebuild every event of it,
/// also after a restart.
package struct ChangeRecordPayloads: EventPayloads {
    package init() {}

    package func projectCreated(_ change: ProjectCreated) -> [UInt8] {
        var record = ChangeRecord()
        record.describe(change.project)
        record.stats = [CellHubProto.ProjectStats(change.project.counters)]
        return record.serializedBytes()
    }

    package func projectUpdated(_ change: CellHub.ProjectUpdated) -> [UInt8] {
        var record = ChangeRecord()
        record.describe(change.project)
        record.changedFields = change.changedFields.map(\.rawValue)
        record.stats = [CellHubProto.ProjectStats(change.project.counters)]
        return record.serializedBytes()
    }

    package func projectDeleted(_ change: CellHub.ProjectDeleted) -> [UInt8] {
        var record = ChangeRecord()
        record.describe(change.project)
        record.previousImageCount = change.deletedImageCount
        record.users = change.formerMembers.map { CellHubProto.UserRef($0.user) }
        record.jobIds = change.cancelledJobs.map(\.jobID)
        return record.serializedBytes()
    }

    package func shareGranted(_ change: ShareGranted) -> [UInt8] {
        var record = ChangeRecord()
        record.users = [CellHubProto.UserRef(change.member.user)]
        record.role = Role(change.member.role)
        record.previousRole = change.created ? .unspecified : Role(change.previousRole)
        record.members = change.members.map(ProjectMember.init)
        return record.serializedBytes()
    }

    package func shareRevoked(_ change: CellHub.ShareRevoked) -> [UInt8] {
        var record = ChangeRecord()
        record.users = [CellHubProto.UserRef(change.revoked.user)]
        record.role = Role(change.revoked.role)
        record.left = change.left
        record.members = change.members.map(ProjectMember.init)
        return record.serializedBytes()
    }

    package func imagesUploaded(_ change: ImagesUploaded) -> [UInt8] {
        var record = ChangeRecord()
        record.imageIds = change.images.map(\.id)
        record.imageNames = change.images.map(\.name)
        record.previousImageCount = change.previousImageCount
        record.bytes = change.images.reduce(0) { $0 + $1.sizeBytes }
        record.stats = [CellHubProto.ProjectStats(change.counters)]
        return record.serializedBytes()
    }

    package func imagesDeleted(_ change: ImagesDeleted) -> [UInt8] {
        var record = ChangeRecord()
        record.imageIds = change.deleted.map(\.id)
        record.imageNames = change.deleted.map(\.name)
        record.imageSizes = change.deleted.map(\.sizeBytes)
        record.imagePreviousStatuses = change.deleted.map { SegmentationStatus($0.status) }
        record.jobIds = change.cancelledJobs.map(\.jobID)
        record.previousImageCount = change.previousImageCount
        record.bytes = change.freedBytes
        record.stats = [CellHubProto.ProjectStats(change.counters)]
        return record.serializedBytes()
    }

    package func jobsEnqueued(_ change: JobsEnqueued) -> [UInt8] {
        var record = ChangeRecord()
        record.imageIds = change.jobs.map(\.imageID)
        record.jobIds = change.jobs.map(\.jobID)
        record.batchId = change.batchID ?? ""
        record.stats = [CellHubProto.ProjectStats(change.counters)]
        return record.serializedBytes()
    }

    package func jobsCancelled(_ change: JobsCancelled) -> [UInt8] {
        var record = ChangeRecord()
        record.imageIds = change.cancelled.map(\.imageID)
        record.jobIds = change.cancelled.map(\.jobID)
        record.imageProjectIds = change.cancelled.map(\.projectID)
        record.stats = change.counters.map(CellHubProto.ProjectStats.init)
        return record.serializedBytes()
    }

    package func jobsClaimed(_ change: JobsClaimed) -> [UInt8] {
        var record = ChangeRecord()
        record.jobs = change.assignments.map { JobChange($0.job, outcome: .started) }
        record.stats = change.counters.map(CellHubProto.ProjectStats.init)
        return record.serializedBytes()
    }

    package func jobCompleted(_ change: JobCompleted) -> [UInt8] {
        var record = ChangeRecord()
        var job = JobChange(change.job, outcome: .completed)
        job.cellCount = change.image.cellCount
        job.processingTimeMs = change.job.processingMs
        record.jobs = [job]
        record.batchId = change.job.batchID
        record.stats = [CellHubProto.ProjectStats(change.counters)]
        return record.serializedBytes()
    }

    package func jobFailed(_ change: JobFailed) -> [UInt8] {
        var record = ChangeRecord()
        record.jobs = [JobChange(change.job, outcome: change.requeued ? .requeued : .failed)]
        record.batchId = change.job.batchID
        record.stats = [CellHubProto.ProjectStats(change.counters)]
        return record.serializedBytes()
    }

    package func leasesExpired(_ change: LeasesExpired) -> [UInt8] {
        var record = ChangeRecord()
        record.jobs = change.requeued.map { JobChange($0, outcome: .requeued) } + change.failed.map { JobChange($0, outcome: .failed) }
        record.stats = change.counters.map(CellHubProto.ProjectStats.init)
        return record.serializedBytes()
    }

    package func userRevoked(_ change: UserRevoked) -> [UInt8] {
        var record = ChangeRecord()
        record.users = [CellHubProto.UserRef(change.user.ref)]
        return record.serializedBytes()
    }
}

extension JobChange {
    fileprivate init(_ job: JobRecord, outcome: CellHubProto.JobOutcome) {
        self.init()
        jobId = job.id
        imageId = job.imageID
        projectId = job.projectID
        self.outcome = outcome
        if outcome == .failed || outcome == .requeued { reason = job.error }
    }
}

extension ChangeRecord {
    fileprivate mutating func describe(_ project: ProjectRecord) {
        projectName = project.name
        projectDescription = project.description
    }
}
