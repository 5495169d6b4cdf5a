import BenchmarkSupport
import CellHubProto
import RPCHTTP2

/// `setup`: one project with `--images N` tiny PNGs (100 per UploadImages call, a few calls in
/// flight); prints the project id and writes the image ids, in upload order, to `--ids-file`.
func runSetup(_ options: Options) async throws {
    let token = try options.required("--token")
    let count = try options.int("--images", default: 20_000)
    let idsFile = try options.required("--ids-file")
    let inFlight = try options.int("--uploads-in-flight", default: 4)
    let call = bearer(token, timeout: .seconds(60))
    let client = try GRPCClient(host: options.host, port: options.port, configuration: {
        var configuration = ClientConfiguration()
        configuration.connections = 1
        return configuration
    }())

    var create = CreateProjectRequest()
    create.name = "queue-bench"
    guard let project = try await client.unary(ProjectService.createProject, create, options: call).message.project else {
        throw BenchmarkFailure("CreateProject answered without a project")
    }
    let batches = stride(from: 0, to: count, by: 100).map { $0..<min(count, $0 + 100) }
    var ids = [[String]](repeating: [], count: batches.count)
    try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
        for (index, batch) in batches.enumerated() {
            if index >= inFlight, let (done, stored) = try await group.next() { ids[done] = stored }
            group.addTask {
                var request = UploadImagesRequest()
                request.projectId = project.id
                request.images = batch.map { number in
                    var image = ImageUpload()
                    image.name = "queue-bench-\(number).png"
                    image.contentType = "image/png"
                    image.content = tinyPNG
                    return image
                }
                let stored = try await client.unary(ImageService.uploadImages, request, options: call).message.images
                guard stored.count == batch.count else {
                    throw BenchmarkFailure("UploadImages stored \(stored.count) of \(batch.count) images")
                }
                return (index, stored.map(\.id))
            }
        }
        for try await (done, stored) in group { ids[done] = stored }
    }
    let all = ids.flatMap { $0 }
    guard all.count == count else { throw BenchmarkFailure("uploaded \(all.count) images, wanted \(count)") }
    try writeLines(all, to: idsFile)
    await client.close()
    say(project.id)
}
