import CellHubServer
import EventLoop
import FuzzSupport
import Logging
import RPC
import RPCHTTP2

#if canImport(Glibc)
import Glibc
#endif

/// Fuzzes everything a server connection does with the bytes a peer sends: the HTTP/2
/// preface, frames and HPACK (nghttp2), our header handling, gRPC framing and gzip, the
/// request byte budgets, and the interop and health handlers, through `ServerHarness` (the
/// same `ServerConnection` as `GRPCServer`, on a loop driven by hand, no sockets). The
/// interop service's responses are kept small (`BoundedInteropService`).
///
/// Input layout (see `IngressInput`): a flags byte, up to seven 16-bit piece lengths, then
/// the bytes the peer sends. Each input gets a fresh connection; once it is closed the
/// harness must hold no request bytes and no live connection, and the connection object
/// must be gone: a leak or budget drift traps.
@main
enum ServerIngressFuzzer {
    static func main() {
        FuzzDriver.main(target: fuzzServerIngress, corpus: "server-ingress")
    }

    /// Inputs are cut here: enough for a few dozen frames, small enough for fast runs.
    static let maxInputBytes = 64 << 10

    /// Loggers that drop everything: the fuzzer looks at behaviour, not log lines.
    static let logger = Logger(label: "fuzz.server-ingress") { _ in SwiftLogNoOpLogHandler() }

    // libFuzzer calls the target on one thread, one input at a time: the harnesses (each
    // confined to its loop) are only ever touched from that thread.
    /// The production defaults, timers off (nothing waits on wall time).
    nonisolated(unsafe) static let defaults = makeHarness(configuration: defaultConfiguration)
    /// Limits small enough that 64 KiB of input reaches them: message and header sizes, the
    /// per-connection and server-wide request budgets, stream count, window, reset rate,
    /// CONTINUATION cap, send limit and streaming backpressure.
    nonisolated(unsafe) static let tight = makeHarness(configuration: tightConfiguration)

    static var defaultConfiguration: ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.loopCount = 1
        configuration.keepaliveIntervalNanoseconds = nil
        configuration.idleTimeoutNanoseconds = nil
        configuration.busyPollNanoseconds = 0
        return configuration
    }

    static var tightConfiguration: ServerConfiguration {
        var configuration = defaultConfiguration
        configuration.maxReceiveMessageBytes = 4 << 10
        configuration.maxSendMessageBytes = 4 << 10
        configuration.maxConcurrentStreams = 8
        configuration.maxHeaderListBytes = 1 << 10
        configuration.initialStreamWindowBytes = 8 << 10
        configuration.connectionWindowBytes = 16 << 10
        configuration.streamHighWaterBytes = 1 << 10
        configuration.streamLowWaterBytes = 256
        configuration.maxBufferedRequestBytesPerConnection = 6 << 10
        configuration.maxBufferedRequestBytes = 12 << 10
        configuration.resetBurst = 4
        configuration.resetRatePerSecond = 1
        configuration.maxContinuations = 2
        return configuration
    }

    static func makeHarness(configuration: ServerConfiguration) -> ServerHarness {
        do {
            return try ServerHarness(configuration: configuration, services: [BoundedInteropService(), HealthService()], logger: logger)
        } catch {
            fatalError("cannot create the server harness: \(error)")
        }
    }

    /// One input: one connection fed piece by piece, the loop run until idle after each,
    /// then closed; the harness must be back to zero.
    static func run(_ bytes: UnsafeRawBufferPointer) {
        let input = IngressInput(bytes)
        let harness = input.tightLimits ? tight : defaults
        let stream = harness.connect()
        // The ServerConnection: nothing may keep it once its stream closed and the loop ran
        // (a handler task still suspended, a timer or a cycle would).
        weak let connection = stream.handler
        func feed(_ piece: UnsafeRawBufferPointer) {
            guard !piece.isEmpty else { return }
            stream.receive(piece)
            harness.loop.runUntilIdle()
            stream.written.removeAll(keepingCapacity: true)
            fuzzCheck(harness.heldRequestBytes >= 0, "request byte budget below zero: \(harness.heldRequestBytes)")
        }
        if input.prependPreface {
            IngressInput.clientPreface.withUnsafeBytes { feed($0) }
        }
        for piece in input.pieces { feed(piece) }
        if input.endWithEOF {
            stream.receiveEOF()
            harness.loop.runUntilIdle()
        }
        stream.close()
        harness.loop.runUntilIdle()
        fuzzCheck(harness.heldRequestBytes == 0, "\(harness.heldRequestBytes) request bytes held after the connection closed")
        fuzzCheck(harness.liveConnectionCount == 0, "\(harness.liveConnectionCount) connections live after the connection closed")
        // A handler asleep in Task.sleep (the interop stream's interval) when its call is
        // cancelled may have been woken by the runtime's timer thread at the same moment:
        // then its job reaches the loop from that thread, just after the loop went idle.
        // Give such stragglers a second before calling the connection leaked.
        var waited = 0
        while connection != nil && waited < 10_000 {
            usleep(100)
            waited += 1
            harness.loop.runUntilIdle()
        }
        fuzzCheck(connection == nil, "the server connection outlived its closed stream by a second")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzServerIngress(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    ServerIngressFuzzer.run(UnsafeRawBufferPointer(start: data, count: min(size, ServerIngressFuzzer.maxInputBytes)))
    return 0
}
