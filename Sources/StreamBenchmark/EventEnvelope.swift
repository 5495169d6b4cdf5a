import BenchmarkSupport
import CellHubProto
import RPC

/// The envelope of a stream event (ProjectEvent or DashboardEvent: both put revision,
/// timestamp and kind at fields 2, 3 and 7 and the payload oneof at 10 and up), read
/// without building the generated message.
///
/// Why: thousands of subscribers share one client core, and every receipt time is taken
/// after the event was decoded; a full decode (every string and sub-message copied out)
/// would make the client's own work a large part of the spread being measured. This reads
/// only the fields the benchmark uses and skips the rest; `selfTest` checks it against the
/// generated encoder at every start. Receive-only: it cannot be encoded.
struct EventEnvelope: RPCMessage {
    static let protoName = "cellhub.bench.EventEnvelope"

    var revision: UInt64 = 0
    var timestampUnixMs: Int64 = 0
    var kind: Int32 = 0
    /// Bytes of the protobuf encoding.
    var encodedSize = 0
    /// CAUGHT_UP (project stream): events replayed before it, and whether the resume
    /// position was lost.
    var replayedCount: Int64 = 0
    var positionLost = false
    /// PROJECT_STATS_UPDATE: the project's image count after the update, and how many
    /// changes it folds.
    var imageCount: Int64 = 0
    var changeCount: Int64 = 0

    static let snapshot = EventKind.snapshot.rawValue
    static let caughtUp = EventKind.caughtUp.rawValue
    static let progress = EventKind.progress.rawValue
    static let statsUpdate = EventKind.projectStatsUpdate.rawValue
    static let imageCountChange = EventKind.projectImageCountChange.rawValue
    static let presence = EventKind.presence.rawValue
    static let dashboardUpdate = EventKind.dashboardMetricsUpdate.rawValue

    init(serializedBytes bytes: UnsafeRawBufferPointer) throws {
        encodedSize = bytes.count
        var reader = ProtoReader(bytes)
        var payload: UnsafeRawBufferPointer?
        while let (field, wire) = try reader.nextTag() {
            switch (field, wire) {
            case (2, 0): revision = try reader.varint()
            case (3, 0): timestampUnixMs = Int64(bitPattern: try reader.varint())
            case (7, 0): kind = Int32(truncatingIfNeeded: try reader.varint())
            case (10...30, 2): payload = try reader.lengthDelimited()
            default: try reader.skip(wire)
            }
        }
        guard let payload else { return }
        if kind == Self.caughtUp {
            var inner = ProtoReader(payload)
            while let (field, wire) = try inner.nextTag() {
                switch (field, wire) {
                case (1, 0): replayedCount = Int64(bitPattern: try inner.varint())
                case (2, 0): positionLost = try inner.varint() != 0
                default: try inner.skip(wire)
                }
            }
        } else if kind == Self.statsUpdate {
            var inner = ProtoReader(payload)
            while let (field, wire) = try inner.nextTag() {
                switch (field, wire) {
                case (1, 2):
                    var stats = ProtoReader(try inner.lengthDelimited())
                    while let (statsField, statsWire) = try stats.nextTag() {
                        if statsField == 2 && statsWire == 0 {
                            imageCount = Int64(bitPattern: try stats.varint())
                        } else {
                            try stats.skip(statsWire)
                        }
                    }
                case (5, 0): changeCount = Int64(bitPattern: try inner.varint())
                default: try inner.skip(wire)
                }
            }
        }
    }

    func serializedBytes() -> [UInt8] { preconditionFailure("EventEnvelope is receive-only") }
    func serializedFrame() -> [UInt8] { preconditionFailure("EventEnvelope is receive-only") }

    /// Checks the reader against the generated encoder on the events the benchmark reads;
    /// fails with a message naming the field that disagrees.
    static func selfTest() throws(BenchmarkFailure) {
        var stats = ProjectStats()
        stats.projectId = SampleEvents.projectID
        stats.imageCount = 1_234_567
        stats.progress = 0.25
        stats.revision = 98_765
        var update = ProjectStatsUpdate()
        update.stats = stats
        update.changeCount = 3
        update.firstRevision = 98_760
        var event = ProjectEvent()
        event.epoch = SampleEvents.epoch
        event.revision = 98_765
        event.timestampUnixMs = 1_760_000_000_123
        event.kind = .projectStatsUpdate
        event.payload = .statsUpdate(update)
        try check(event.serializedBytes(), revision: 98_765, timestamp: 1_760_000_000_123, kind: statsUpdate, imageCount: 1_234_567, changeCount: 3)

        var caught = CaughtUp()
        caught.replayedCount = 5
        caught.positionLost = true
        event.kind = .caughtUp
        event.payload = .caughtUp(caught)
        try check(event.serializedBytes(), revision: 98_765, timestamp: 1_760_000_000_123, kind: caughtUp, replayed: 5, lost: true)

        var dashboard = DashboardEvent()
        dashboard.revision = 42
        dashboard.timestampUnixMs = 7
        dashboard.kind = .dashboardMetricsUpdate
        dashboard.payload = .metricsUpdate(DashboardMetricsUpdate())
        try check(dashboard.serializedBytes(), revision: 42, timestamp: 7, kind: dashboardUpdate)
    }

    private static func check(
        _ bytes: [UInt8], revision: UInt64, timestamp: Int64, kind: Int32, imageCount: Int64 = 0, changeCount: Int64 = 0,
        replayed: Int64 = 0, lost: Bool = false
    ) throws(BenchmarkFailure) {
        let parsed: EventEnvelope
        do {
            parsed = try EventEnvelope(serializedBytes: bytes)
        } catch {
            throw BenchmarkFailure("envelope self-test: cannot read a generated event: \(error)")
        }
        let expected = "revision \(revision) timestamp \(timestamp) kind \(kind) images \(imageCount) changes \(changeCount) replayed \(replayed) lost \(lost) size \(bytes.count)"
        let got = "revision \(parsed.revision) timestamp \(parsed.timestampUnixMs) kind \(parsed.kind) images \(parsed.imageCount) changes \(parsed.changeCount) replayed \(parsed.replayedCount) lost \(parsed.positionLost) size \(parsed.encodedSize)"
        guard expected == got else { throw BenchmarkFailure("envelope self-test: expected \(expected), read \(got)") }
    }
}

/// A forward-only protobuf wire-format reader over borrowed bytes.
struct ProtoReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The next field number and wire type; nil at the end.
    mutating func nextTag() throws(ProtoReadError) -> (Int, UInt64)? {
        guard offset < bytes.count else { return nil }
        let tag = try varint()
        let field = Int(truncatingIfNeeded: tag >> 3)
        guard field > 0 else { throw .malformed("field number 0") }
        return (field, tag & 7)
    }

    mutating func varint() throws(ProtoReadError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count, shift < 64 {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw .malformed("truncated varint")
    }

    mutating func lengthDelimited() throws(ProtoReadError) -> UnsafeRawBufferPointer {
        let length = try varint()
        guard length <= UInt64(bytes.count - offset) else { throw .malformed("length \(length) past the end") }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + Int(length)])
        offset += Int(length)
        return slice
    }

    mutating func skip(_ wire: UInt64) throws(ProtoReadError) {
        switch wire {
        case 0: _ = try varint()
        case 1: try advance(8)
        case 2: _ = try lengthDelimited()
        case 5: try advance(4)
        default: throw .malformed("wire type \(wire)")
        }
    }

    private mutating func advance(_ count: Int) throws(ProtoReadError) {
        guard bytes.count - offset >= count else { throw .malformed("truncated fixed-width field") }
        offset += count
    }
}

enum ProtoReadError: Error, CustomStringConvertible {
    case malformed(String)

    var description: String {
        switch self {
        case .malformed(let what): "malformed event: \(what)"
        }
    }
}
