import CProtoBaseline
import CellHubProto
import RPC

#if canImport(Glibc)
import Glibc
#endif

/// cellhub-proto-bench: encode/decode cost of the Swift message layer next to raw
/// libprotobuf-c on the same messages, in the same run (ratios survive a noisy machine).
///
///     swift run -c release cellhub-proto-bench [--iterations N] [--rounds R]
///
/// Each round times `N` passes over each workload; the median round is reported.
struct Options {
    var iterations = 20_000
    var rounds = 7

    init(_ arguments: [String]) {
        var rest = arguments.dropFirst()
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst().flatMap(Int.init), value > 0 else {
                fatalError("usage: cellhub-proto-bench [--iterations N] [--rounds R]")
            }
            switch flag {
            case "--iterations": iterations = value
            case "--rounds": rounds = value
            default: fatalError("unknown option \(flag)")
            }
        }
    }
}

struct Workload {
    let name: String
    let protoName: String
    let messages: [any RPCMessage]
}

func nanoseconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) * 1e9 + Double(ts.tv_nsec)
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// Times the Swift layer: encode = value -> bytes; decode = bytes -> value.
func timeSwift(_ workload: Workload, encodings: [[UInt8]], iterations: Int) -> (encode: Double, decode: Double) {
    var sink = 0
    let start = nanoseconds()
    for _ in 0..<iterations {
        for message in workload.messages { sink &+= message.serializedBytes().count }
    }
    let encoded = nanoseconds()
    let type = type(of: workload.messages[0])
    for _ in 0..<iterations {
        for bytes in encodings {
            do { blackHole(try type.init(serializedBytes: bytes)) } catch { fatalError("\(error)") }
        }
    }
    let decoded = nanoseconds()
    blackHole(sink)
    return ((encoded - start) / Double(iterations), (decoded - encoded) / Double(iterations))
}

/// Keeps a decoded value alive so the optimizer cannot drop the work that built it.
@inline(never) @_optimize(none)
func blackHole<T>(_ value: T) {}

func timeRaw(_ workload: Workload, encodings: [[UInt8]], iterations: Int) -> RawProtobufTiming {
    var timing = RawProtobufTiming()
    let pointers = encodings.map { bytes -> UnsafeMutablePointer<UInt8> in
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        p.initialize(from: bytes, count: bytes.count)
        return p
    }
    defer { pointers.forEach { $0.deallocate() } }
    let lengths = encodings.map(\.count)
    let status = pointers.map { UnsafePointer<UInt8>?($0) }.withUnsafeBufferPointer { p in
        lengths.withUnsafeBufferPointer { l in
            raw_protobuf_timing(workload.protoName, p.baseAddress, l.baseAddress, encodings.count, iterations, &timing)
        }
    }
    precondition(status == 0, "raw protobuf-c timing failed for \(workload.protoName)")
    return timing
}

let options = Options(CommandLine.arguments)
let workloads = [
    Workload(name: "ProjectStats", protoName: "cellhub.v1.ProjectStats", messages: [SampleMessages.projectStats()]),
    Workload(name: "DashboardMetrics", protoName: "cellhub.v1.DashboardMetrics", messages: [SampleMessages.dashboardMetrics()]),
    Workload(name: "100-event batch", protoName: "cellhub.v1.ProjectEvent", messages: SampleMessages.eventBatch()),
]

print("cellhub-proto-bench: \(options.iterations) iterations x \(options.rounds) rounds, median round; times per workload pass")
print("workload            bytes   swift enc    raw pack   ratio   swift dec  raw unpack   ratio")
for workload in workloads {
    let encodings = workload.messages.map { $0.serializedBytes() }
    // Scale iterations so each workload does similar work (the batch holds 100 messages).
    let iterations = max(1, options.iterations / workload.messages.count)
    var swiftEncode: [Double] = [], swiftDecode: [Double] = [], rawPack: [Double] = [], rawUnpack: [Double] = []
    var bytes = 0
    for _ in 0..<options.rounds {
        let swift = timeSwift(workload, encodings: encodings, iterations: iterations)
        let raw = timeRaw(workload, encodings: encodings, iterations: iterations)
        swiftEncode.append(swift.encode)
        swiftDecode.append(swift.decode)
        rawPack.append(raw.pack_ns)
        rawUnpack.append(raw.unpack_ns)
        bytes = raw.bytes
    }
    func cell(_ ns: Double) -> String {
        let text = ns >= 10_000 ? "\(Int(ns / 1000)) µs" : "\(Int(ns)) ns"
        return String(repeating: " ", count: max(0, 11 - text.count)) + text
    }
    func ratio(_ value: Double) -> String {
        let text = String(Int((value * 100).rounded())).paddedRatio
        return String(repeating: " ", count: max(0, 7 - text.count)) + text
    }
    let name = workload.name + String(repeating: " ", count: max(0, 16 - workload.name.count))
    let size = String(bytes)
    print(name + String(repeating: " ", count: max(0, 8 - size.count)) + size
        + " " + cell(median(swiftEncode)) + " " + cell(median(rawPack)) + " " + ratio(median(swiftEncode) / median(rawPack))
        + " " + cell(median(swiftDecode)) + " " + cell(median(rawUnpack)) + " " + ratio(median(swiftDecode) / median(rawUnpack)))
}

extension String {
    /// "123" (hundredths) -> "1.23x".
    fileprivate var paddedRatio: String {
        let padded = String(repeating: "0", count: max(0, 3 - count)) + self
        return "\(padded.dropLast(2)).\(padded.suffix(2))x"
    }
}
