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
/// latency.
func runWrites(_ options: Options) async throws {
    let token = try options.required("--token")
    let projects = try readLines(try options.required("--projects-file"))
    guard !projects.isEmpty else { throw BenchmarkFailure("--projects-file lists no project") }
    let writers = try options.int("--clients", default: 8)
    let images = try options.int("--images", default: 100)
    let imageBytes = try options.int("--image-bytes", default: 4_096, minimum: 16)
    let seconds = try options.double("--seconds", default: 5)
    let targets = try options.endpoints("--targets")
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
        + "UploadImages of \(images) × \(imageBytes) bytes (distinct), back to back for \(fixed(seconds, 0)) s")

    var generators = (0..<writers).map { _ in DistinctImages(seed: UInt64.random(in: .min ... .max)) }
    for writer in 0..<writers {  // warm-up: one call each, not counted
        let request = generators[writer].request(project: projects[writer % projects.count], images: images, bytes: imageBytes, name: "warm-\(writer)")
        _ = try await clients[writer % targets.count].unary(ImageService.uploadImages, request, options: call)
    }
    let start = monotonicNanoseconds()
    let deadline = start + UInt64(seconds * 1e9)
    let outcomes = await withTaskGroup(of: WriterOutcome.self) { group in
        for writer in 0..<writers {
            let client = clients[writer % targets.count]
            let project = projects[writer % projects.count]
            let seeded = generators[writer]
            group.addTask {
                var generator = seeded
                var outcome = WriterOutcome()
                while monotonicNanoseconds() < deadline {
                    let request = generator.request(project: project, images: images, bytes: imageBytes, name: "w\(writer)-\(outcome.calls.count)")
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
    for outcome in outcomes {
        for (key, count) in outcome.failures.counts {
            failures.counts[key, default: 0] += count
            if failures.firstMessage[key] == nil { failures.firstMessage[key] = outcome.failures.firstMessage[key] }
        }
    }
    let elapsed = Double((outcomes.map(\.end).max() ?? start) &- start) / 1e9
    let callsPerSecond = elapsed > 0 ? Double(calls.count) / elapsed : 0
    say("  \(calls.count) calls (\(calls.count * images) images) in \(fixed(elapsed, 2)) s: \(fixed(callsPerSecond, 1)) calls/s, "
        + "\(fixed(callsPerSecond * Double(images), 0)) images/s; call p50 \(fixed(milliseconds(calls.p50), 1)) ms, "
        + "p99 \(fixed(milliseconds(calls.p99), 1)) ms, max \(fixed(milliseconds(calls.max), 1)) ms")
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

    /// One UploadImages request of `images` new PNG-signed images, named NAME-i.png.
    mutating func request(project: String, images: Int, bytes: Int, name: String) -> UploadImagesRequest {
        var request = UploadImagesRequest()
        request.projectId = project
        request.images = (0..<images).map { index in
            var image = ImageUpload()
            image.name = "\(name)-\(index).png"
            image.contentType = "image/png"
            image.content = content(bytes: bytes)
            return image
        }
        return request
    }
}
