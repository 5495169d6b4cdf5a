import BenchmarkSupport
import CellHubProto
import EventLoop
import RPC
import RPCHTTP2

#if canImport(Glibc)
import Glibc
#endif

/// Dispatch latencies are signed: negative when the assignment overtook the response it is
/// measured from.
extension Distribution where Sample == Int64 {
    var negatives: Int { sorted.prefix { $0 < 0 }.count }

    /// `result PREFIX_p50_ms`, `_p99_ms`, `_max_ms`, `_samples` and `_negative` lines.
    func report(_ prefix: String) {
        result("\(prefix)_p50_ms", milliseconds(percentile(0.5)))
        result("\(prefix)_p99_ms", milliseconds(percentile(0.99)))
        result("\(prefix)_max_ms", milliseconds(max))
        result("\(prefix)_samples", Double(count), decimals: 0)
        result("\(prefix)_negative", Double(negatives), decimals: 0)
    }
}

func milliseconds(_ nanoseconds: Int64) -> Double { Double(nanoseconds) / 1e6 }

func signedDifference(_ later: UInt64, _ earlier: UInt64) -> Int64 { Int64(bitPattern: later &- earlier) }

/// The service-wide queue as the server sees it, in one line (for failure messages).
func queueState(_ client: GRPCClient, token: String) async -> String {
    do {
        let stats = try await client.unary(SegmentationService.getQueueStats, GetQueueStatsRequest(), options: bearer(token, timeout: .seconds(10))).message
        return "server: queued \(stats.queuedCount), processing \(stats.processingCount), connected workers \(stats.connectedWorkers)"
    } catch {
        return "GetQueueStats failed: \(describe(error))"
    }
}

