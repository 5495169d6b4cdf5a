import BenchmarkSupport
import CellHubProto
import EventLoop
import RPCHTTP2

/// `writes`: durable write throughput. `--clients C` writers, each uploading into its own
/// project (line c mod P of `--projects-file`), back to back for `--seconds`: UploadImages
/// calls of `--images` images of `--image-bytes` bytes, every image distinct (no upload finds
/// its file already stored). With `--targets A,B,…` writer c calls endpoint c mod N directly,
/// one connection per writer. Each writer's first call is not counted (warm-up). Reports
/// calls/s and images/s over the wall time from the start to the last answer, and the call
/// latency. With `--same-content` each writer sends the images of its warm-up call again in
/// every call (new names, new rows): their files are already stored, so no image file is
/// written or fsynced and what is left is the database transaction.
func runWrites(_ options: Options) async throws {
    let token = try options.required("--token")
    let projects = try readLines(try options.required("--projects-file"))
    guard !projects.isEmpty else { throw BenchmarkFailure("--projects-file lists no project") }
    let writers = try options.int("--clients", default: 8)
    let images = try options.int("--images", default: 100)
    let imageBytes = try options.int("--image-bytes", default: 4_096, minimum: 16)
    let seconds = try options.double("--seconds", default: 5)
    let targets = try options.endpoints("--targets")
    let sameContent = options.flag("--same-content")
    let call = bearer(token, timeout: .seconds(120))

    var connected: [GRPCClient] = []
    for target in targets.indices {
        let count = (0..<writers).filter { $0 % targets.count == target }.count
        guard count > 0 else { break }
        connected.append(try await connectedClient(targets[target], connections: count) { client in
            var request = GetProjectStatsRequest()
            request.projectId = projects[0]
            _ = try await client.unary(StatsService.getProjectStats, request, options: call)
        })
    }
    let clients = connected
    say("writes: \(writers) writers on \(targets.map(\.description).joined(separator: ", ")); "
        + "UploadImages of \(images) × \(imageBytes) bytes (\(sameContent ? "the same contents in every call: files already stored" : "distinct")), "
        + "back to back for \(fixed(seconds, 0)) s")

    var generators = (0..<writers).map { _ in DistinctImages(seed: UInt64.random(in: .min ... .max)) }
    let firstContents = generators.indices.map { generators[$0].contents(images, bytes: imageBytes) }
    try await withThrowingTaskGroup(of: Void.self) { group in  // warm-up: one call each, all at once, not counted
        for writer in 0..<writers {
            let request = uploadRequest(project: projects[writer % projects.count], name: "warm-\(writer)", contents: firstContents[writer])
            let client = clients[writer % targets.count]
            group.addTask { _ = try await client.unary(ImageService.uploadImages, request, options: call) }
        }
        try await group.waitForAll()
    }
    let start = monotonicNanoseconds()
    let deadline = start + UInt64(seconds * 1e9)
    let outcomes = await withTaskGroup(of: WriterOutcome.self) { group in
        for writer in 0..<writers {
            let client = clients[writer % targets.count]
            let project = projects[writer % projects.count]
            let seeded = generators[writer]
            let repeated = sameContent ? firstContents[writer] : nil
            group.addTask {
                var generator = seeded
                var outcome = WriterOutcome(writer: writer)
                while monotonicNanoseconds() < deadline {
                    let contents = repeated ?? generator.contents(images, bytes: imageBytes)
                    let request = uploadRequest(project: project, name: "w\(writer)-\(outcome.calls.count)", contents: contents)
                    let began = monotonicNanoseconds()
                    do {
                        _ = try await client.unary(ImageService.uploadImages, request, options: call)
                    } catch {
                        outcome.failures.add(error)
                        break  // a failing writer stops: its figure would be the error's speed
                    }
                    outcome.end = monotonicNanoseconds()
                    outcome.calls.append(outcome.end - began)
                }
                return outcome
            }
        }
        var outcomes: [WriterOutcome] = []
        for await outcome in group { outcomes.append(outcome) }
        return outcomes
    }
    for client in clients { await client.close() }

    let calls = Distribution(outcomes.flatMap(\.calls))
    var failures = EndTally()
    for outcome in outcomes { failures.merge(outcome.failures) }
    let elapsed = Double((outcomes.map(\.end).max() ?? start) &- start) / 1e9
    let callsPerSecond = elapsed > 0 ? Double(calls.count) / elapsed : 0
    say("  \(calls.count) calls (\(calls.count * images) images) in \(fixed(elapsed, 2)) s: \(fixed(callsPerSecond, 1)) calls/s, "
        + "\(fixed(callsPerSecond * Double(images), 0)) images/s; call p50 \(fixed(milliseconds(calls.p50), 1)) ms, "
        + "p99 \(fixed(milliseconds(calls.p99), 1)) ms, max \(fixed(milliseconds(calls.max), 1)) ms")
    if targets.count > 1 {
        for (index, target) in targets.enumerated() {
            let mine = Distribution(outcomes.filter { $0.writer % targets.count == index }.flatMap(\.calls))
            say("    \(target): \(mine.count) calls, p50 \(fixed(milliseconds(mine.p50), 1)) ms, max \(fixed(milliseconds(mine.max), 1)) ms")
        }
    }
    if failures.total > 0 { say("  FAILED calls: \(failures.summary)") }
    result("writes_calls", Double(calls.count), decimals: 0)
    result("writes_seconds", elapsed)
    result("writes_calls_per_s", callsPerSecond, decimals: 1)
    result("writes_images_per_s", callsPerSecond * Double(images), decimals: 0)
    result("writes_call_p50_ms", milliseconds(calls.p50), decimals: 1)
    result("writes_call_p99_ms", milliseconds(calls.p99), decimals: 1)
    result("writes_failures", Double(failures.total), decimals: 0)
}

/// One writer's calls: durations, failures, when its last call was answered.
struct WriterOutcome: Sendable {
    var writer: Int
    var calls: [UInt64] = []
    var failures = EndTally()
    var end: UInt64 = 0
}

/// Image contents no upload sent before: the PNG signature (the server checks the type
/// against the magic bytes), then SplitMix64 output from a random seed.
struct DistinctImages: Sendable {
    private var state: UInt64
    private static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    init(seed: UInt64) { state = seed }

    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` new contents of `bytes` bytes each.
    mutating func contents(_ count: Int, bytes: Int) -> [[UInt8]] {
        (0..<count).map { _ in content(bytes: bytes) }
    }

    mutating func content(bytes: Int) -> [UInt8] {
        var content = Self.signature + [UInt8](repeating: 0, count: bytes - Self.signature.count)
        content.withUnsafeMutableBytes { raw in
            var offset = Self.signature.count
            while offset < raw.count {
                let word = next()
                for shift in stride(from: 0, to: min(8, raw.count - offset) * 8, by: 8) {
                    raw[offset] = UInt8(truncatingIfNeeded: word >> UInt64(shift))
                    offset += 1
                }
            }
        }
        return content
    }
}

/// One UploadImages request of PNG images named NAME-i.png.
func uploadRequest(project: String, name: String, contents: [[UInt8]]) -> UploadImagesRequest {
    var request = UploadImagesRequest()
    request.projectId = project
    request.images = contents.enumerated().map { index, content in
        var image = ImageUpload()
        image.name = "\(name)-\(index).png"
        image.contentType = "image/png"
        image.content = content
        return image
    }
    return request
}
