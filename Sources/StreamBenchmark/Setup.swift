import BenchmarkSupport
import CellHubProto
import RPCHTTP2

/// `setup`: creates `--projects N` projects as the token's user and prints their ids, one
/// per line; with `--share-with FILE` shares project number `--share-index` (from 0) with
/// every user name in FILE as a viewer. Names are "PREFIX N" (`--prefix`, default
/// stream-bench): a user's project names are unique.
func runSetup(_ options: Options) async throws {
    let token = try options.required("--token")
    let count = try options.int("--projects", default: 1)
    let prefix = options.string("--prefix") ?? "stream-bench"
    let call = bearer(token, timeout: .seconds(60))
    let client = try GRPCClient(host: options.host, port: options.port, configuration: {
        var configuration = ClientConfiguration()
        configuration.connections = 4
        return configuration
    }())
    var ids: [String] = []
    for index in 1...max(1, count) {
        var request = CreateProjectRequest()
        request.name = "\(prefix) \(index)"
        guard let project = try await client.unary(ProjectService.createProject, request, options: call).message.project else {
            throw BenchmarkFailure("CreateProject answered without a project")
        }
        ids.append(project.id)
    }
    if let file = options.string("--share-with") {
        let names = try readLines(file)
        let index = try options.int("--share-index", default: 0, minimum: 0)
        guard ids.indices.contains(index) else { throw BenchmarkFailure("--share-index \(index) is not one of the \(ids.count) projects") }
        let project = ids[index]
        // 16 shares in flight at a time.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (offset, name) in names.enumerated() {
                if offset >= 16 { try await group.next() }
                group.addTask {
                    var request = ShareProjectRequest()
                    request.projectId = project
                    request.grantee = .userName(name)
                    request.role = .viewer
                    _ = try await client.unary(ProjectService.shareProject, request, options: call)
                }
            }
            try await group.waitForAll()
        }
    }
    await client.close()
    for id in ids { say(id) }
}
