import CellHub
import CellHubProto
import CellHubStore
import RPC

extension Image {
    init(_ image: ImageMetadata) {
        self.init()
        id = image.id
        projectId = image.projectID
        name = image.name
        contentType = image.contentType
        sizeBytes = image.sizeBytes
        sha256Hex = image.sha256Hex
        status = SegmentationStatus(image.status)
        uploadedAtUnixMs = image.uploadedAtMs
        uploadedBy = CellHubProto.UserRef(image.uploadedBy)
        statusChangedAtUnixMs = image.statusChangedAtMs
        segmentedAtUnixMs = image.segmentedAtMs
        jobId = image.jobID
        cellCount = image.cellCount
        failureReason = image.failureReason
    }
}

extension CellHub.ImageUpload {
    init(_ upload: CellHubProto.ImageUpload) {
        self.init(name: upload.name, contentType: upload.contentType, content: upload.content, sha256Hex: upload.sha256Hex)
    }
}

extension GetImageContentResponse {
    init(_ content: ImageContent) {
        self.init()
        self.content = content.content
        contentType = content.contentType
        sha256Hex = content.sha256Hex
        name = content.name
        sizeBytes = content.sizeBytes
    }
}

extension ListImagesRequest {
    /// The status filter: UNSPECIFIED entries ignored, unknown numbers refused.
    func statusFilter() throws(RPCError) -> Set<ImageStatus> {
        var filter = Set<ImageStatus>()
        for (index, status) in statuses.enumerated() where status != .unspecified {
            guard let known = status.imageStatus else {
                throw invalidArgument("statuses[\(index)] = \(status.rawValue) is not a known SegmentationStatus")
            }
            filter.insert(known)
        }
        return filter
    }
}
