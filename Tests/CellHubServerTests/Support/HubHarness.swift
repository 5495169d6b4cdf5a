import CellHub
import CellHubProto
import CellHubServer
import CellHubSQL
import CellHubStore
import Foundation
import StoreTestSupport
import RPC
import Synchronization
import Testing

/// An event loop stand-in the test drives by hand: the hub queues closures and timers on it
/// from its threads; `run()` executes them on the test's thread (the stream code's executor).
final class ManualExecutor: StreamExecutor, @unchecked Sendable {
    private let queue = Mutex<[@Sendable () -> Void]>([])
    /// Timers, touched only on the test thread (inside `run`).
    private var timers: [(deadline: UInt64, work: () -> Void, timer: ManualTimer)] = []

    func execute(_ work: @escaping @Sendable () -> Void) { queue.withLock { $0.append(work) } }

    func schedule(afterNanoseconds nanoseconds: UInt64, _ work: @escaping () -> Void) -> any StreamTimer {
        let timer = ManualTimer()
        timers.append((monotonicNow() + nanoseconds, work, timer))
        return timer
    }

    /// Runs what is queued and the timers that are due, until nothing is left.
    func run() {
        while true {
            let work = queue.withLock { queue -> [@Sendable () -> Void] in
                defer { queue.removeAll() }
                return queue
            }
            let now = monotonicNow()
            let due = timers.filter { $0.deadline <= now && !$0.timer.cancelled }
            timers.removeAll { $0.deadline <= now || $0.timer.cancelled }
            if work.isEmpty && due.isEmpty { return }
            work.forEach { $0() }
            due.forEach { $0.work() }
        }
    }
}

final class ManualTimer: StreamTimer {
    var cancelled = false
    func cancel() { cancelled = true }
}

/// A stream's transport stand-in: collects the frames the hub sends, decoded back into the
/// wire messages; `blocked` simulates a client that stops reading.
final class TestOutlet<Message: RPCMessage>: StreamOutlet, @unchecked Sendable {
    let executor: any StreamExecutor
    private(set) var messages: [Message] = []
    /// Frames held as unsent while the "client" does not read.
    private(set) var unsent: [EventFrame] = []
    var blocked = false
    /// The transport refuses frames (the call is over, or a frame is over its send limit).
    var refuses = false
    private var drained: (() -> Void)?

    init(executor: any StreamExecutor) { self.executor = executor }

    /// Frames pushed (a frame may carry several messages).
    private(set) var pushes = 0

    func send(_ frame: EventFrame) -> Bool {
        guard !refuses else { return false }
        pushes += 1
        if blocked {
            unsent.append(frame)
        } else {
            receive(frame)
        }
        return true
    }

    /// Splits a frame into its length-prefixed messages, as a client reads them.
    private func receive(_ frame: EventFrame) {
        var rest = frame.bytes[...]
        while !rest.isEmpty {
            precondition(rest.count >= 5 && rest.first == 0, "a frame holds whole uncompressed gRPC messages")
            let length = rest.dropFirst().prefix(4).reduce(0) { $0 << 8 | Int($1) }
            let body = rest.dropFirst(5).prefix(length)
            precondition(body.count == length, "a message cut short in a frame")
            messages.append(try! Message(serializedBytes: body))
            rest = rest.dropFirst(5 + length)
        }
    }

    var unsentBytes: Int { unsent.reduce(0) { $0 + $1.bytes.count } }

    func whenDrained(_ body: @escaping () -> Void) { drained = body }

    /// The client reads again: the held frames arrive, and the drain callback runs.
    func unblock() {
        blocked = false
        for frame in unsent { receive(frame) }
        unsent = []
        let callback = drained
        drained = nil
        callback?()
    }
}

/// The EventHub over a real store of `kind` (SQLite, or a fresh PostgreSQL database) and the
/// server's real payload encoder, decoder and wire encoder, in a temporary directory; streams
/// run on a manual executor.
final class HubHarness {
    let directory: String
    let store: any CellHubStorage
    /// The SQLite file, or the PostgreSQL database's URI (`StoreKind.open`).
    let location: String
    let domain: Domain
    let hub: EventHub
    let executor = ManualExecutor()

    init(_ kind: StoreKind = .sqlite, configure: (inout EventHub.Options) -> Void = { _ in }) throws {
        directory = Self.makeDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        (store, location) = try kind.open(directory: directory, clock: { SystemValues.milliseconds() }, makeID: { SystemValues.randomUUID() })
        domain = try Domain(store: store, dataDirectory: directory, payloads: ChangeRecordPayloads())
        hub = Self.makeHub(store: store, domain: domain, configure: configure)
        try hub.start()
    }

    /// Another node on `other`'s PostgreSQL database: its own store, domain and hub, as a
    /// second `cellhubd serve` would have (the image files in a directory of its own).
    init(anotherNodeOf other: HubHarness, presenceHeartbeatIntervalMs: Int64? = nil, presenceExpiryMs: Int64? = nil) throws {
        directory = Self.makeDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        location = other.location
        store = try StoreKind.anotherPostgresNode(
            url: other.location, presenceHeartbeatIntervalMs: presenceHeartbeatIntervalMs, presenceExpiryMs: presenceExpiryMs)
        domain = try Domain(store: store, dataDirectory: directory, payloads: ChangeRecordPayloads())
        hub = Self.makeHub(store: store, domain: domain, configure: { _ in })
        try hub.start()
    }

    private static func makeDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cellhub-hub-\(UUID().uuidString)").path
    }

    private static func makeHub(store: any CellHubStorage, domain: Domain, configure: (inout EventHub.Options) -> Void) -> EventHub {
        var options = EventHub.Options()
        options.reportFault = { Issue.record("hub fault: \($0)") }
        configure(&options)
        return EventHub(store: store, stats: domain.stats, decoder: ChangeRecordDecoder(), encoder: StreamEventEncoder(epoch: store.epoch), options: options)
    }

    deinit {
        hub.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func user(_ name: String, worker: Bool = false) throws -> Caller {
        let hash = Array((name + String(repeating: "-", count: 32)).utf8.prefix(32))
        let user = try store.createUser(name: name, isWorker: worker, tokenHash: hash, payload: { _ in [] }).user
        return Caller(userID: user.id, name: user.name, isWorker: worker)
    }

    /// A WatchProject stream; `end` resolves when the hub ends it.
    func watchProject(
        _ projectID: String, as caller: Caller, resume: StreamResume? = nil, intervalMs: UInt64 = 100, heartbeatMs: UInt64 = 60_000
    ) -> (outlet: TestOutlet<ProjectEvent>, end: Task<StreamEnd?, Never>) {
        let outlet = TestOutlet<ProjectEvent>(executor: executor)
        let hub = self.hub
        let timing = StreamTiming(updateIntervalNanoseconds: intervalMs * 1_000_000, heartbeatNanoseconds: heartbeatMs * 1_000_000)
        let end = Self.untilEnded(hub) { hub.watchProject(projectID: projectID, caller: caller, resume: resume, timing: timing, outlet: outlet, onEnd: $0) }
        return (outlet, end)
    }

    func watchDashboard(as caller: Caller, timeZone: String = "UTC", intervalMs: UInt64 = 0) -> (outlet: TestOutlet<DashboardEvent>, end: Task<StreamEnd?, Never>) {
        let outlet = TestOutlet<DashboardEvent>(executor: executor)
        let hub = self.hub
        let timing = StreamTiming(updateIntervalNanoseconds: intervalMs * 1_000_000, heartbeatNanoseconds: 60_000_000_000)
        let end = Self.untilEnded(hub) { hub.watchDashboard(caller: caller, timeZone: timeZone, resume: nil, timing: timing, outlet: outlet, onEnd: $0) }
        return (outlet, end)
    }

    func watchActivity(as caller: Caller, backlog: Int = 10, resume: StreamResume? = nil) -> (outlet: TestOutlet<ActivityEvent>, end: Task<StreamEnd?, Never>) {
        let outlet = TestOutlet<ActivityEvent>(executor: executor)
        let hub = self.hub
        let timing = StreamTiming(updateIntervalNanoseconds: 0, heartbeatNanoseconds: 60_000_000_000)
        let end = Self.untilEnded(hub) { hub.watchActivity(caller: caller, projectID: nil, backlog: backlog, resume: resume, timing: timing, outlet: outlet, onEnd: $0) }
        return (outlet, end)
    }

    /// A task that resolves with a stream's end; cancelling it is the client going away.
    private static func untilEnded(
        _ hub: EventHub, open: @escaping @Sendable (@escaping @Sendable (StreamEnd?) -> Void) -> StreamHandle
    ) -> Task<StreamEnd?, Never> {
        Task {
            let ended = AsyncStream<StreamEnd?>.makeStream()
            let handle = open { end in
                ended.continuation.yield(end)
                ended.continuation.finish()
            }
            return await withTaskCancellationHandler {
                for await end in ended.stream { return end }
                return nil
            } onCancel: {
                hub.close(handle)
            }
        }
    }

    /// Runs the executor until `condition` holds (the hub works on its own threads).
    func settle(timeout: Duration = .seconds(5), until condition: () -> Bool) async {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            executor.run()
            if condition() { return }
            try? await Task.sleep(for: .milliseconds(2))
        }
        executor.run()
    }

    /// Runs the executor until the stream ends, and returns how.
    func end(_ task: Task<StreamEnd?, Never>, timeout: Duration = .seconds(5)) async -> StreamEnd? {
        let result = Mutex<StreamEnd??>(nil)
        let waiter = Task {
            let end = await task.value
            result.withLock { $0 = .some(end) }
        }
        await settle(timeout: timeout) { result.withLock { $0 != nil } }
        waiter.cancel()
        return result.withLock { $0 } ?? .failed("the stream did not end within \(timeout)")
    }

    /// Runs the executor for a while (to see that nothing more arrives).
    func idle(_ duration: Duration) async {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            executor.run()
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    func upload(_ count: Int, to projectID: String, as caller: Caller, tag: String = "") throws -> [String] {
        let uploads = (0..<count).map { ImageUpload(name: "\(tag)\($0).png", contentType: "image/png", content: Self.png + Array("\(tag)\($0)".utf8)) }
        return try domain.images.upload(projectID: projectID, images: uploads, caller: caller).images.map(\.id)
    }
}

extension ProjectEvent {
    var payloadName: String {
        switch payload {
        case .snapshot: "snapshot"
        case .caughtUp: "caughtUp"
        case .statsUpdate: "stats"
        case .imageCountChange: "count"
        case .imageDeleted: "imageDeleted"
        case .batchImagesDeleted: "batchDeleted"
        case .segmentationCompleted: "completed"
        case .segmentationFailed: "failed"
        case .projectUpdated: "updated"
        case .sharesChanged: "shares"
        case .presence: "presence"
        case .accessRevoked: "revoked"
        case .projectDeleted: "deleted"
        case .progress: "progress"
        case nil: "none"
        }
    }
}
