import BenchmarkSupport
#if canImport(Glibc)
import Glibc
#endif

/// cellhub-stream-bench: the real-time streams under load — fan-out of one change to
/// thousands of subscribers, subscribe storms (snapshot and resume paths), dashboards of many
/// users, sustained uploads with watchers — against cellhubd, and the gRPC runtime's own
/// push floor (`floor-server`) the fan-out is read against. Tests/Scripts/bench-streams.sh
/// runs them all; see `usage` for each mode. For a cluster (several nodes on one
/// PostgreSQL), durable write throughput (`writes`), one subscriber's delivery latency by
/// where the change was committed (`delivery`) and the fan-out over several nodes
/// (`fanout --targets`); Tests/Scripts/bench-cluster.sh runs those.
do {
    let options = try Options(CommandLine.arguments)
    switch options.mode {
    case "floor-server": try await runFloorServer(options)
    case "setup": try await runSetup(options)
    case "fanout": try await runFanout(options)
    case "storm": try await runStorm(options)
    case "dashboards": try await runDashboards(options)
    case "sustained": try await runSustained(options)
    case "writes": try await runWrites(options)
    case "delivery": try await runDeliveryLatency(options)
    default: throw UsageError(usage)
    }
} catch {
    writeError("cellhub-stream-bench: \(error)\n")
    exit(1)
}
