import BenchmarkSupport
#if canImport(Glibc)
import Glibc
#endif

/// cellhub-queue-bench: the segmentation queue under no-op workers over gRPC — jobs/s with a
/// backlog, and dispatch latency for a backlog and for a trickle of small enqueues — against
/// cellhubd. Tests/Scripts/bench-queue.sh runs it against durable and fast-commit servers
/// next to the disk's commit floor; see `usage` for each mode.
do {
    let options = try Options(CommandLine.arguments)
    switch options.mode {
    case "setup": try await runSetup(options)
    case "backlog": try await runBacklog(options)
    case "trickle": try await runTrickle(options)
    default: throw UsageError(usage)
    }
} catch {
    writeError("cellhub-queue-bench: \(error)\n")
    exit(1)
}
