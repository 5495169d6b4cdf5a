import CellHub
package import CellHubProto
import CellHubStore
package import RPC

/// `cellhub.v1.ImageService` over the domain's ImageService.
package struct ImageHandler: ImageServiceHandler {
    private let runner: DomainRunner

    package init(runner: DomainRunner) { self.runner = runner }

    package func uploadImages(_ request: UploadImagesRequest, context: ServerContext) async throws -> UploadImagesResponse {
        let images = runner.domain.images
        let uploads = request.images.map(CellHub.ImageUpload.init)
        let outcome = try await runner.call(context) { caller throws(ImageError) in
            try images.upload(projectID: request.projectId, images: uploads, idempotencyKey: request.idempotencyKey, caller: caller)
        }
        var response = UploadImagesResponse()
        response.images = outcome.images.map(Image.init)
        response.replayed = outcome.replayed
        return response
    }

    package func getImage(_ request: GetImageRequest, context: ServerContext) async throws -> GetImageResponse {
        let images = runner.domain.images
        let image = try await runner.call(context) { caller throws(ImageError) in
            try images.get(imageID: request.imageId, caller: caller)
        }
        var response = GetImageResponse()
        response.image = Image(image)
        return response
    }

    package func listImages(_ request: ListImagesRequest, context: ServerContext) async throws -> ListImagesResponse {
        let images = runner.domain.images
        let caller = try await runner.authenticator.caller(context)
        let statuses = try request.statusFilter()
        let page = try await runner.run(context) { () throws(ImageError) in
            try images.list(
                projectID: request.projectId, caller: caller, pageSize: request.pageSize, pageToken: request.pageToken,
                statuses: statuses, nameContains: request.nameContains)
        }
        var response = ListImagesResponse()
        response.images = page.images.map(Image.init)
        response.nextPageToken = page.nextPageToken
        response.totalSize = page.totalSize
        return response
    }

    package func getImageContent(_ request: GetImageContentRequest, context: ServerContext) async throws -> GetImageContentResponse {
        let images = runner.domain.images
        let content = try await runner.call(context) { caller throws(ImageError) in
            try images.content(imageID: request.imageId, caller: caller)
        }
        return GetImageContentResponse(content)
    }

    package func deleteImage(_ request: DeleteImageRequest, context: ServerContext) async throws -> DeleteImageResponse {
        let images = runner.domain.images
        let deleted = try await runner.call(context) { caller throws(ImageError) in
            try images.delete(imageID: request.imageId, caller: caller)
        }
        var response = DeleteImageResponse()
        response.freedBytes = deleted.freedBytes
        return response
    }

    package func deleteImages(_ request: DeleteImagesRequest, context: ServerContext) async throws -> DeleteImagesResponse {
        let images = runner.domain.images
        let deleted = try await runner.call(context) { caller throws(ImageError) in
            try images.delete(projectID: request.projectId, imageIDs: request.imageIds, allowMissing: request.allowMissing, caller: caller)
        }
        var response = DeleteImagesResponse()
        response.deletedCount = Int64(deleted.deleted.count)
        response.missingImageIds = deleted.missingIDs
        response.freedBytes = deleted.freedBytes
        return response
    }
}
