import CellHub
import CellHubServer
import CellHubSQL
import CellHubStore
import CStoreBaseline
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// cellhub-store-bench: CellHub's store and stats, in process (the server's own code paths,
/// without the network), against plain-C floors measured in the same run.
///
///     cellhub-store-bench seed DIR [--projects 10000] [--images 100] [--heavy 1000] [--image-bytes 4096]
///                                  [--completion-window-ms 86400000]
///     cellhub-store-bench measure DIR [--batches 60] [--stats-calls 50000] [--dashboard-calls 3000] [--rounds 3]
///
/// `seed` fills a data directory through the domain API (the path UploadImages takes): users,
/// `--projects` projects of `--images` identical images each (one file on disk), a user "heavy"
/// who sees `--heavy` of them (80 % owned, 20 % shared with them), a queue with open and
/// completed jobs. It writes DIR/heavy.token and DIR/heavy.project for the gRPC half of the
/// benchmark (Tests/Scripts/bench-store.sh). A seeded directory is left as it is.
///
/// `measure` opens the directory with durable commits, as `cellhubd serve` does, and times:
/// upload batches of 100 images (unique content: 100 new files; identical content: no file),
/// GetProjectStats and the heavy user's GetDashboardMetrics, each next to its floor — the same
/// batch written directly (files + one SQLite transaction), or the figure recounted from the
/// images rows with one query. Uploads alternate with their floor batch by batch; stats and
/// dashboards run as a block, then their floor's block, in each round. Rates and percentiles
/// pool every round.
struct Options {
    var mode = ""
    var directory = ""
    var projects = 10_000
    var images = 100
    var heavy = 1_000
    var imageBytes = 4_096
    var batches = 60
    var statsCalls = 50_000
    var dashboardCalls = 3_000
    var rounds = 3
    /// The seed's completions are spread over this much time before now.
    var completionWindowMs = 86_400_000

    init(_ arguments: [String]) {
        var rest = Array(arguments.dropFirst())
        guard rest.count >= 2, ["seed", "measure"].contains(rest[0]) else {
            fail("usage: cellhub-store-bench seed|measure DIR [options]; see the comment in Sources/StoreBenchmark/main.swift")
        }
        mode = rest.removeFirst()
        directory = rest.removeFirst()
        while rest.count >= 2 {
            let flag = rest.removeFirst(), value = rest.removeFirst()
            guard let number = Int(value), number > 0 else { fail("\(flag) needs a positive number, got \(value)") }
            switch flag {
            case "--projects": projects = number
            case "--images": images = number
            case "--heavy": heavy = number
            case "--image-bytes": imageBytes = number
            case "--batches": batches = number
            case "--stats-calls": statsCalls = number
            case "--dashboard-calls": dashboardCalls = number
            case "--rounds": rounds = number
            case "--completion-window-ms": completionWindowMs = number
            default: fail("unknown option \(flag)")
            }
        }
        guard rest.isEmpty else { fail("option \(rest[0]) needs a value") }
        guard heavy <= projects, images <= 100 else { fail("--heavy must be ≤ --projects and --images ≤ 100 (one call)") }
    }
}

func fail(_ message: String) -> Never {
    let line = Array("cellhub-store-bench: \(message)\n".utf8)
    _ = line.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(1)
}

func nowNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Runs a throwing step or stops the benchmark with what failed.
func must<T>(_ what: String, _ body: () throws -> T) -> T {
    do {
        return try body()
    } catch {
        fail("\(what): \(error)")
    }
}

/// A PNG-signed image whose bytes are unique per `serial` (or all equal for serial 0).
func image(serial: UInt64, bytes: Int) -> [UInt8] {
    var content: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    withUnsafeBytes(of: serial.littleEndian) { content += $0 }
    content += [UInt8](repeating: 0xA5, count: max(0, bytes - content.count))
    return content
}

/// - Parameter clock: the store's and domain's time (the seed replays a month of history).
func openDomain(_ directory: String, durable: Bool, clock: @escaping @Sendable () -> Int64 = Store.systemClock) -> Domain {
    openStoreAndDomain(directory, durable: durable, clock: clock).domain
}

/// The store itself too, for what the domain does not offer yet (users, workers' claims).
func openStoreAndDomain(
    _ directory: String, durable: Bool, clock: @escaping @Sendable () -> Int64 = Store.systemClock
) -> (store: Store, domain: Domain) {
    var options = Store.Options()
    options.durable = durable
    options.clock = clock
    var domainOptions = DomainOptions()
    domainOptions.clock = clock
    let store = must("opening \(directory)/cellhub.sqlite") { try Store(path: directory + "/cellhub.sqlite", options: options) }
    // The event-log payloads cellhubd writes, so every write costs what it costs the server.
    let domain = must("opening the domain") {
        try Domain(store: store, dataDirectory: directory, options: domainOptions, payloads: ChangeRecordPayloads())
    }
    return (store, domain)
}

/// The seed's clock: set by the seed as it replays history.
final class SeedClock: Sendable {
    private let ms: Mutex<Int64>

    init(_ start: Int64) { ms = Mutex(start) }

    var now: Int64 { ms.withLock { $0 } }
    func set(_ value: Int64) { ms.withLock { $0 = value } }
}

func write(_ text: String, to path: String) {
    guard let file = fopen(path, "w") else { fail("cannot write \(path)") }
    fputs(text, file)
    fclose(file)
}

func read(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    guard fgets(&line, 256, file) != nil else { return nil }
    let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return text.trimmingSuffix { $0 == "\n" }
}

extension String {
    func trimmingSuffix(_ drop: (Character) -> Bool) -> String {
        var text = self
        while let last = text.last, drop(last) { text.removeLast() }
        return text
    }
}

// MARK: Seed

func seed(_ options: Options) {
    let marker = options.directory + "/heavy.project"
    if read(marker) != nil {
        print("seed: \(options.directory) is already seeded (remove it to reseed)")
        return
    }
    mkdir(options.directory, 0o700)
    // History as a month of use would leave it: projects created (and filled, and queued)
    // over the first 29 days, jobs completed over the last day up to now — so "today", "this
    // week" and the 10-minute throughput window hold what they would on a live service.
    let end = Store.systemClock()
    let day: Int64 = 86_400_000
    let clock = SeedClock(end - 30 * day)
    // Seeding is setup, not a figure: commits are not fsynced (a crash means seeding again).
    let (store, domain) = openStoreAndDomain(options.directory, durable: false, clock: { clock.now })
    let started = nowNs()
    let token = APIToken.generate()
    let heavy = must("creating user heavy") {
        try store.createUser(name: "heavy", isWorker: false, tokenHash: APIToken.hash(token), payload: { _ in [] }).user
    }
    write(token + "\n", to: options.directory + "/heavy.token")
    let others: [Caller] = (1...99).map { index in
        let user = must("creating a user") {
            try store.createUser(
                name: "user-\(index)", isWorker: false, tokenHash: APIToken.hash(APIToken.generate()), payload: { _ in [] }).user
        }
        return Caller(userID: user.id, name: user.name)
    }
    let heavyCaller = Caller(userID: heavy.id, name: heavy.name)
    // heavy owns every `spacing`-th project (80 % of what they see) and is given the ones
    // half-way between (20 %), spread over the whole history.
    let owned = options.heavy * 4 / 5
    let sharedWithHeavy = options.heavy - owned
    let spacing = max(2, options.projects / options.heavy)
    let content = image(serial: 0, bytes: options.imageBytes)
    var projectIDs: [String] = []
    projectIDs.reserveCapacity(options.projects)
    var lastReport = started
    for index in 0..<options.projects {
        clock.set(end - 30 * day + Int64(index) * 29 * day / Int64(options.projects))
        let owner = index % spacing == 0 && index / spacing < owned ? heavyCaller : others[index % others.count]
        let project = must("creating project \(index)") {
            try domain.projects.create(name: "project-\(index)", description: "seeded", caller: owner).project
        }
        projectIDs.append(project.id)
        let uploads = (0..<options.images).map { ImageUpload(name: "p\(index)-\($0).png", contentType: "image/png", content: content) }
        _ = must("uploading into project \(index)") { try domain.images.upload(projectID: project.id, images: uploads, caller: owner) }
        if index % spacing == spacing / 2 && index / spacing < sharedWithHeavy {
            _ = must("sharing project \(index)") {
                try domain.sharing.share(
                    projectID: project.id, grantee: .userID(heavy.id), role: index.isMultiple(of: 2) ? .editor : .viewer, caller: owner)
            }
        }
        // Every seventh project has its images queued: a long queue, heavy's jobs among them.
        if index.isMultiple(of: 7) {
            _ = must("queueing project \(index)") { try domain.segmentation.enqueue(projectID: project.id, target: .unsegmented, caller: owner) }
        }
        if nowNs() - lastReport > 10_000_000_000 {
            lastReport = nowNs()
            print("seed: \(index + 1)/\(options.projects) projects, \(Double(lastReport - started) / 1e9) s")
        }
    }
    // A worker finishes 10,000 jobs (for 10,000 projects) from the head of the queue over the
    // last day (`--completion-window-ms`): completion figures, and a queue still holding most
    // of heavy's jobs.
    let window = Int64(options.completionWindowMs)
    var completed = 0
    let target = options.projects * options.images / 100
    while completed < target {
        let claimed = must("claiming jobs") {
            try store.claimJobs(workerName: "seed", models: ["builtin-otsu"], limit: 100, leaseDurationMs: 2 * day, payload: { _ in [] })
        }
        guard !claimed.assignments.isEmpty else { break }
        clock.set(end - window + Int64(completed) * window / Int64(target))
        for counters in claimed.counters { domain.stats.record(counters) }
        for assignment in claimed.assignments {
            clock.set(end - window + Int64(completed) * window / Int64(target))
            let done = must("completing a job") {
                try store.completeJob(
                    jobID: assignment.job.id, leaseID: assignment.job.leaseID!,
                    output: SegmentationOutput(cellCount: 42, result: [1, 2, 3], processingMs: 1_500 + Int64(completed % 1_000)),
                    payload: { _ in [] })
            }
            domain.stats.record(done.counters)
            completed += 1
        }
    }
    // The floor's table gets as many rows as the store's images table: inserts into a B-tree
    // of the same size cost the same.
    guard let baseline = store_baseline_open(options.directory + "/baseline") else { fail("cannot create the baseline store") }
    let filler = image(serial: 0, bytes: options.imageBytes)
    var filled = 0
    while filled < options.projects * options.images {
        let rows = min(10_000, options.projects * options.images - filled)
        let rc = filler.withUnsafeBufferPointer { store_baseline_upload(baseline, $0.baseAddress, $0.count, rows, 0) }
        guard rc == 0 else { fail("filling the baseline store failed") }
        filled += rows
    }
    store_baseline_close(baseline)
    write(projectIDs[0] + "\n", to: marker)
    let seconds = Double(nowNs() - started) / 1e9
    print("seed: \(options.projects) projects, \(options.projects * options.images) images, \(completed) jobs completed in \(Int(seconds)) s "
        + "(\(Int(Double(options.projects * options.images) / seconds)) images/s, commits not fsynced)")
}

// MARK: Measure

/// Per-call times of one kind of operation, in nanoseconds.
struct Samples {
    var values: [UInt64] = []

    mutating func time<T>(_ body: () -> T) -> T {
        let start = nowNs()
        let result = body()
        values.append(nowNs() - start)
        return result
    }

    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return Double(sorted[min(sorted.count - 1, Int((Double(sorted.count) * p / 100).rounded(.up)) - 1)])
    }

    var total: Double { Double(values.reduce(0, +)) }
    var perSecond: Double { total > 0 ? Double(values.count) * 1e9 / total : 0 }
}

struct Row {
    var name: String
    var ours: Samples
    var floor: Samples
    var unit: (Double) -> String
    var note: String
}

func microseconds(_ ns: Double) -> String { ns >= 10_000 ? "\(Int(ns / 1_000)) µs" : "\(Double(Int(ns / 10)) / 100) µs" }

func measure(_ options: Options) {
    guard let seededProject = read(options.directory + "/heavy.project"), let token = read(options.directory + "/heavy.token") else {
        fail("\(options.directory) is not seeded: run `cellhub-store-bench seed \(options.directory)` first")
    }
    let domain = openDomain(options.directory, durable: true)
    let heavy = must("authenticating heavy.token") { try domain.auth.authenticate(token: token) }
    // The heavy user's projects, as ListProjects pages them.
    var projects: [String] = []
    var pageToken = ""
    repeat {
        let page = must("listing projects") { try domain.projects.list(caller: heavy, pageSize: 500, pageToken: pageToken) }
        projects += page.projects.map(\.id)
        pageToken = page.nextPageToken
    } while !pageToken.isEmpty
    guard projects.contains(seededProject) else { fail("heavy.project is not one of heavy's projects") }
    let ownedProjects = must("listing owned projects") { try domain.projects.list(caller: heavy, pageSize: 500, filter: .owned) }.projects.map(\.id)
    let counts = must("dashboard") { try domain.stats.dashboard(caller: heavy, timeZone: "UTC") }
    print("store: \(options.directory): heavy sees \(projects.count) projects with \(counts.totalImages) images; queue \(counts.queueLength) jobs")

    let scratch = options.directory + "/baseline"
    guard let baseline = store_baseline_open(scratch) else { fail("cannot open the baseline store in \(scratch)") }
    defer { store_baseline_close(baseline) }
    guard let recount = store_baseline_open_readonly(options.directory + "/cellhub.sqlite") else { fail("cannot open the database read-only") }
    defer { store_baseline_close_readonly(recount) }

    var serial = UInt64(nowNs())
    func batch(unique: Bool) -> [ImageUpload] {
        (0..<100).map { _ in
            serial += 1
            return ImageUpload(
                name: "bench-\(serial).png", contentType: "image/png",
                content: image(serial: unique ? serial : 0, bytes: options.imageBytes))
        }
    }

    var uniqueOurs = Samples(), uniqueFloor = Samples(), sameOurs = Samples(), sameFloor = Samples()
    var statsOurs = Samples(), statsFloor = Samples(), dashOurs = Samples(), dashFloor = Samples()
    let perRound = max(1, options.batches / options.rounds)
    var random = SystemRandomNumberGenerator()
    for round in 1...options.rounds {
        // Uploads: CellHub and the floor alternate batch by batch, so both see the same disk.
        for index in 0..<perRound {
            let project = ownedProjects[(round * perRound + index) % ownedProjects.count]
            for unique in [true, false] {
                let uploads = batch(unique: unique)
                let stored = unique ? uniqueOurs.time { try? domain.images.upload(projectID: project, images: uploads, caller: heavy) }
                    : sameOurs.time { try? domain.images.upload(projectID: project, images: uploads, caller: heavy) }
                guard stored?.images.count == 100 else { fail("an upload batch failed") }
                let content = image(serial: unique ? serial : 0, bytes: options.imageBytes)
                let rc = content.withUnsafeBufferPointer { buffer in
                    unique ? uniqueFloor.time { store_baseline_upload(baseline, buffer.baseAddress, buffer.count, 100, 1) }
                        : sameFloor.time { store_baseline_upload(baseline, buffer.baseAddress, buffer.count, 100, 0) }
                }
                guard rc == 0 else { fail("the baseline upload failed") }
            }
        }
        // GetProjectStats over the heavy user's projects, then the recounts of the same
        // projects (blocks, not call by call: each side runs with its own caches warm, as a
        // server doing only that would). Every figure is checked against its recount.
        let sample = (0..<(options.statsCalls / options.rounds)).map { _ in projects[Int.random(in: 0..<projects.count, using: &random)] }
        let served = sample.map { project in statsOurs.time { try? domain.stats.projectStats(projectID: project, caller: heavy) } }
        let recounted = sample.map { project in statsFloor.time { recountProject(recount, project) } }
        for (index, stats) in served.enumerated() {
            let truth = recounted[index]
            guard let stats, let truth, stats.imageCount == truth.0, stats.totalBytes == truth.1, stats.segmentedCount == truth.2 else {
                fail("project \(sample[index]): stats \(String(describing: stats)) differ from the recount \(String(describing: truth))")
            }
        }
        // The dashboard of the user with the most projects, then its recount.
        let dashboards = (0..<(options.dashboardCalls / options.rounds)).map { _ in
            dashOurs.time { try? domain.stats.dashboard(caller: heavy, timeZone: "Europe/Berlin") }
        }
        // The recount reads every image of the user's projects: a few samples are enough.
        let truths = (0..<min(20, dashboards.count)).map { _ in dashFloor.time { recountDashboard(recount, heavy.userID) } }
        for (metrics, truth) in zip(dashboards, truths) {
            guard let metrics, let truth, metrics.totalImages == truth.0, metrics.storageBytes == truth.1,
                  metrics.segmentedImages == truth.2
            else { fail("dashboard differs from the recount \(String(describing: truth)): \(String(describing: metrics))") }
        }
        print("round \(round)/\(options.rounds) done")
    }

    let rows = [
        Row(name: "upload 100 × \(options.imageBytes) B, unique", ours: uniqueOurs, floor: uniqueFloor,
            unit: { "\(Int($0 * 100)) images/s" }, note: "floor: 100 files + 1 txn"),
        Row(name: "upload 100 × \(options.imageBytes) B, identical", ours: sameOurs, floor: sameFloor,
            unit: { "\(Int($0 * 100)) images/s" }, note: "floor: 1 txn (file exists)"),
        Row(name: "GetProjectStats", ours: statsOurs, floor: statsFloor,
            unit: { "\(Int($0)) calls/s" }, note: "floor: recount query"),
        Row(name: "GetDashboardMetrics (\(projects.count) projects)", ours: dashOurs, floor: dashFloor,
            unit: { "\(Int($0)) calls/s" }, note: "floor: recount query"),
    ]
    print("")
    print("in-process server time, durable commits; percentiles over \(options.rounds) rounds; ratio = CellHub p50 / floor p50 (same run)")
    print(pad("operation", 44) + pad("CellHub rate", 18) + pad("p50", 11) + pad("p99", 11) + pad("floor rate", 18) + pad("floor p50", 11) + pad("ratio p50", 10) + "floor")
    for row in rows {
        let ratio = row.floor.percentile(50) > 0 ? row.ours.percentile(50) / row.floor.percentile(50) : 0
        print(pad(row.name, 44) + pad(row.unit(row.ours.perSecond), 18) + pad(microseconds(row.ours.percentile(50)), 11)
            + pad(microseconds(row.ours.percentile(99)), 11) + pad(row.unit(row.floor.perSecond), 18)
            + pad(microseconds(row.floor.percentile(50)), 11) + pad("\(Double(Int(ratio * 1000)) / 1000)×", 10) + row.note)
    }
    let dashboardP99 = dashOurs.percentile(99)
    print("")
    print("dashboard for \(projects.count) projects: p99 \(microseconds(dashboardP99)) server time (target < 1 ms: \(dashboardP99 < 1_000_000 ? "met" : "NOT met"))")
}

/// (images, bytes, segmented) recounted from the images rows; nil on a SQLite error.
func recountProject(_ db: UnsafeMutableRawPointer, _ projectID: String) -> (Int64, Int64, Int64)? {
    var out: (Int64, Int64, Int64) = (0, 0, 0)
    let rc = projectID.withCString { id in
        withUnsafeMutableBytes(of: &out) { store_baseline_recount_project(db, id, $0.baseAddress!.assumingMemoryBound(to: Int64.self)) }
    }
    return rc == 0 ? out : nil
}

func recountDashboard(_ db: UnsafeMutableRawPointer, _ userID: String) -> (Int64, Int64, Int64)? {
    var out: (Int64, Int64, Int64) = (0, 0, 0)
    let rc = userID.withCString { id in
        withUnsafeMutableBytes(of: &out) { store_baseline_recount_dashboard(db, id, $0.baseAddress!.assumingMemoryBound(to: Int64.self)) }
    }
    return rc == 0 ? out : nil
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

let options = Options(CommandLine.arguments)
switch options.mode {
case "seed": seed(options)
default: measure(options)
}
