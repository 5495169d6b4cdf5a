import CellHubProto
import EventLoop
import RPC
import RPCHTTP2
import Synchronization

/// cellhub-rpc-bench: load from our own Swift client against any gRPC server serving
/// grpc.testing.TestService (cellhubd --interop, the grpc-go reference).
///
///     cellhub-rpc-bench unary  HOST:PORT [--connections 16] [--concurrency 512] [--seconds 5]
///     cellhub-rpc-bench stream HOST:PORT [--connections 4] [--concurrency 100] [--messages 1000] [--size 90] [--seconds 5]
///
/// Prints calls/s (and messages/s for streams) and client-observed latency percentiles.
struct Options {
    var mode = ""
    var host = "127.0.0.1"
    var port = 0
    var connections = 0
    var concurrency = 0
    var seconds = 5.0
    var messages = 1_000
    var size: Int32 = 90

    init(_ arguments: [String]) {
        var rest = Array(arguments.dropFirst())
        guard rest.count >= 2, ["unary", "stream"].contains(rest[0]), let colon = rest[1].lastIndex(of: ":"), let port = Int(rest[1][rest[1].index(after: colon)...]) else {
            fatalError("usage: cellhub-rpc-bench unary|stream HOST:PORT [--connections N] [--concurrency N] [--seconds S] [--messages N] [--size BYTES]")
        }
        mode = rest[0]
        host = String(rest[1][..<colon])
        self.port = port
        rest.removeFirst(2)
        while rest.count >= 2 {
            let flag = rest.removeFirst(), value = rest.removeFirst()
            switch flag {
            case "--connections": connections = Int(value)!
            case "--concurrency": concurrency = Int(value)!
            case "--seconds": seconds = Double(value)!
            case "--messages": messages = Int(value)!
            case "--size": size = Int32(value)!
            default: fatalError("unknown option \(flag)")
            }
        }
        if connections == 0 { connections = mode == "unary" ? 16 : 4 }
        if concurrency == 0 { concurrency = mode == "unary" ? 512 : 100 }
    }
}

/// Per-worker results, merged at the end.
struct Tally {
    var calls = 0
    var failures = 0
    var latencies: [UInt64] = []
}

func percentile(_ sorted: [UInt64], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1_000
}

let options = Options(CommandLine.arguments)
let client = try GRPCClient(host: options.host, port: options.port, configuration: {
    var configuration = ClientConfiguration()
    configuration.connections = options.connections
    return configuration
}())

let request = {
    var request = Grpc_Testing_SimpleRequest()
    request.responseSize = 10
    return request
}()
let streamRequest = {
    var request = Grpc_Testing_StreamingOutputCallRequest()
    var parameters = Grpc_Testing_ResponseParameters()
    parameters.size = options.size
    request.responseParameters = Array(repeating: parameters, count: options.messages)
    return request
}()

// Warm up: connect every connection and check the server answers OK.
for _ in 0..<options.connections {
    _ = try await client.unary(Grpc_Testing_TestService.unaryCall, request)
}

let deadline = monotonicNanoseconds() + UInt64(options.seconds * 1e9)
let start = monotonicNanoseconds()
let tally = await withTaskGroup(of: Tally.self) { group in
    for _ in 0..<options.concurrency {
        group.addTask {
            var tally = Tally()
            while monotonicNanoseconds() < deadline {
                let began = monotonicNanoseconds()
                do {
                    if options.mode == "unary" {
                        _ = try await client.unary(Grpc_Testing_TestService.unaryCall, request)
                    } else {
                        var received = 0
                        for try await _ in client.serverStreaming(Grpc_Testing_TestService.streamingOutputCall, streamRequest) { received += 1 }
                        if received != options.messages { tally.failures += 1 }
                    }
                    tally.calls += 1
                    tally.latencies.append(monotonicNanoseconds() - began)
                } catch {
                    tally.failures += 1
                }
            }
            return tally
        }
    }
    var total = Tally()
    for await part in group {
        total.calls += part.calls
        total.failures += part.failures
        total.latencies += part.latencies
    }
    return total
}
let elapsed = Double(monotonicNanoseconds() - start) / 1e9
let sorted = tally.latencies.sorted()
let rate = Double(tally.calls) / elapsed
print("mode=\(options.mode) connections=\(options.connections) concurrency=\(options.concurrency) seconds=\(String(format2: elapsed))")
print("calls/s \(Int(rate))  failures \(tally.failures)  latency p50 \(String(format2: percentile(sorted, 0.5))) µs  p99 \(String(format2: percentile(sorted, 0.99))) µs")
if options.mode == "stream" {
    print("messages/s \(Int(rate * Double(options.messages)))")
}
await client.close()

extension String {
    /// Two decimals without Foundation.
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = abs(hundredths % 100)
        self = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
