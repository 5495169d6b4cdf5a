package import EventLoop
package import Logging
package import RPC

/// A server's connection handling without sockets or threads: bytes in, frames out, on a
/// loop driven by hand (`EventLoop.runUntilIdle`). The same `ServerConnection` code as
/// `GRPCServer` runs; for tests and the fuzzer.
package final class ServerHarness {
    package let loop: EventLoop
    let core: ServerCore

    package init(configuration: ServerConfiguration, services: [any RPCService], logger: Logger) throws(SystemCallError) {
        loop = try EventLoop()
        core = ServerCore(configuration: configuration, methods: services.flatMap(\.servedMethods), logger: logger)
    }

    /// A new server connection; feed it with `receive`, then run `loop.runUntilIdle()`.
    package func connect() -> MemoryByteStream {
        loop.runUntilIdle()  // makes the calling thread the loop's
        let stream = MemoryByteStream(loop: loop)
        stream.handler = ServerConnection(connection: stream, core: core)
        return stream
    }

    /// Request bytes held in unfinished messages, all connections together.
    package var heldRequestBytes: Int { core.requestBytes.heldBytes }

    /// Connections not yet closed.
    package var liveConnectionCount: Int { core.liveConnections.count }
}
