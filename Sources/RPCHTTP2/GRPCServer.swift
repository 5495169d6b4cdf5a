public import EventLoop
public import Logging
public import RPC
import Synchronization
import TLS

#if canImport(Glibc)
import Glibc
#endif

/// What every connection of a server shares: configuration, routes, logger, and the set
/// of live connections (for graceful shutdown).
final class ServerCore: Sendable {
    let configuration: ServerConfiguration
    /// Every method with its `:path` bytes, by the path's length: a request compares its
    /// path with the one or two of that length (memcmp), no String made or hashed.
    private let routesByLength: [[Route]]
    let services: Set<String>
    let logger: Logger
    private let connections = Mutex<[ObjectIdentifier: LoopBound<ServerConnection>]>([:])
    /// Request bytes held in unfinished messages, all connections together.
    let requestBytes: RequestByteBudget
    /// Monotonic time of the last "connection limit reached" log line (one per 10 s).
    private let lastLimitLog = Atomic<UInt64>(0)
    /// One `CallExecutor` per loop, made on first use.
    private let executors = Mutex<[ObjectIdentifier: LoopExecutor]>([:])

    init(configuration: ServerConfiguration, methods: [ServerMethod], logger: Logger) {
        self.configuration = configuration
        var routes: [String: ServerMethod] = [:]
        for method in methods {
            precondition(routes[method.descriptor.path] == nil, "\(method.descriptor.path) registered twice")
            routes[method.descriptor.path] = method
        }
        var byLength: [[Route]] = Array(repeating: [], count: (routes.keys.map(\.utf8.count).max() ?? 0) + 1)
        for route in routes.values.map(Route.init) { byLength[route.path.count].append(route) }
        routesByLength = byLength
        self.services = Set(methods.map(\.descriptor.service))
        self.logger = logger
        requestBytes = RequestByteBudget(
            hardLimit: max(configuration.maxBufferedRequestBytes, configuration.maxReceiveMessageBytes + 5))
    }

    /// The executor of the calls on `loop` (the same object for every call there).
    func executor(for loop: EventLoop) -> LoopExecutor {
        executors.withLock { executors in
            if let executor = executors[ObjectIdentifier(loop)] { return executor }
            let executor = LoopExecutor(loop: loop)
            executors[ObjectIdentifier(loop)] = executor
            return executor
        }
    }

    /// Serves a new connection unless the server is at its connection limit (then logs it,
    /// at most every 10 s, and refuses): HTTP/2 over the socket, or over TLS on it. A TLS
    /// connection counts from its accept, so handshakes that never finish hold no more than
    /// the limit, each for the handshake timeout at most.
    func accept(_ connection: TCPConnection) -> (any ConnectionHandler)? {
        let count = connections.withLock { $0.count }
        guard count < configuration.maxConnections else {
            let now = monotonicNanoseconds()
            let last = lastLimitLog.load(ordering: .relaxed)
            if now - last >= 10_000_000_000, lastLimitLog.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged {
                logger.warning("connection limit reached: refusing new connections", metadata: [
                    "limit": "\(configuration.maxConnections)", "peer": "\(connection.peer)"])
            }
            return nil
        }
        guard let tls = configuration.tls else { return ServerConnection(connection: connection, core: self) }
        let stream: TLSStream
        do {
            stream = try TLSStream.server(over: connection, context: tls.current, handshakeTimeoutNanoseconds: configuration.tlsHandshakeTimeoutNanoseconds)
        } catch {
            logger.warning("cannot start TLS on a new connection", metadata: ["peer": "\(connection.peer)", "error": "\(error)"])
            return nil
        }
        let logger = self.logger, peer = connection.peer
        stream.onHandshake = { result in
            if case .failure(let error) = result {
                logger.debug("TLS handshake failed", metadata: ["peer": "\(peer)", "reason": "\(error)"])
            }
        }
        stream.handler = ServerConnection(connection: stream, core: self)
        stream.start()
        return stream
    }

    func route(_ path: UnsafeRawBufferPointer) -> Route? {
        guard path.count < routesByLength.count else { return nil }
        for route in routesByLength[path.count] where memcmp(route.path.baseAddress!, path.baseAddress!, path.count) == 0 {
            return route
        }
        return nil
    }

    func register(_ connection: ServerConnection) {
        connections.withLock { $0[ObjectIdentifier(connection)] = LoopBound(value: connection, loop: connection.loop) }
    }

    func unregister(_ connection: ServerConnection) {
        connections.withLock { $0[ObjectIdentifier(connection)] = nil }
    }

    var liveConnections: [LoopBound<ServerConnection>] { connections.withLock { Array($0.values) } }
}

/// A method and its `:path` bytes; a class so that a stream holds it with one reference.
final class Route: Sendable {
    let method: ServerMethod
    /// `:path` as bytes; allocated once here, freed in deinit.
    nonisolated(unsafe) let path: UnsafeMutableRawBufferPointer

    init(_ method: ServerMethod) {
        self.method = method
        let utf8 = Array(method.descriptor.path.utf8)
        path = .allocate(byteCount: utf8.count, alignment: 1)
        utf8.withUnsafeBytes { path.copyMemory(from: $0) }
    }

    deinit { path.deallocate() }
}

/// A loop-confined object carried across threads only to be used back on its loop.
struct LoopBound<Value: AnyObject>: @unchecked Sendable {
    let value: Value
    let loop: EventLoop

    func onLoop(_ body: @escaping @Sendable (Value) -> Void) {
        nonisolated(unsafe) let value = self.value
        loop.execute { body(value) }
    }
}

/// A gRPC server over HTTP/2, one listener per loop: cleartext (h2c with prior knowledge), or
/// TLS with ALPN h2 when the configuration has a TLS context.
public final class GRPCServer: Sendable {
    private let core: ServerCore
    private let group: EventLoopGroup
    private let listeners = Mutex<[LoopBound<TCPListener>]>([])
    public var logger: Logger { core.logger }

    public init(configuration: ServerConfiguration, services: [any RPCService], logger: Logger) throws(SystemCallError) {
        core = ServerCore(configuration: configuration, methods: services.flatMap(\.servedMethods), logger: logger)
        group = try EventLoopGroup(loopCount: configuration.loopCount, busyPollNanoseconds: configuration.busyPollNanoseconds)
    }

    /// The server's event loops, for other work that watches a descriptor (the PostgreSQL
    /// store's LISTEN connection). They run from `init` until the end of `shutdown`.
    package var eventLoops: [EventLoop] { group.loops }

    /// Binds every loop's listener and returns the bound port.
    public func start() async throws -> Int {
        var port = core.configuration.port
        let core = self.core
        for loop in group.loops {
            // The first listener picks the port (0 = ephemeral); the others share it.
            let boundPort = port
            let listener: LoopBound<TCPListener> = try await withCheckedThrowingContinuation { continuation in
                loop.execute {
                    do {
                        let listener = try TCPListener(
                            loop: loop, host: core.configuration.host, port: boundPort,
                            makeHandler: { connection in core.accept(connection) },
                            onAcceptError: { error in core.logger.warning("accept failed", metadata: ["error": "\(error)"]) })
                        continuation.resume(returning: LoopBound(value: listener, loop: loop))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
            port = listener.value.port
            listeners.withLock { $0.append(listener) }
        }
        return port
    }

    /// Graceful shutdown: stop accepting, two-phase GOAWAY, let calls finish within the
    /// drain timeout, end the rest UNAVAILABLE, stop the loops. `afterGoaway` runs once the
    /// GOAWAYs are on their way: where long-lived streams are told to end.
    public func shutdown(afterGoaway: @Sendable () -> Void = {}) async {
        for listener in listeners.withLock({ $0 }) {
            listener.onLoop { $0.close() }
        }
        let connections = core.liveConnections
        await withTaskGroup(of: Void.self) { group in
            for connection in connections {
                group.addTask { await withCheckedContinuation { done in connection.onLoop { $0.beginDrain(); done.resume() } } }
            }
        }
        afterGoaway()
        let deadline = monotonicNanoseconds() + core.configuration.drainTimeoutNanoseconds
        while monotonicNanoseconds() < deadline {
            let busy = await withTaskGroup(of: Bool.self) { group in
                for connection in core.liveConnections {
                    group.addTask { await connection.hasActiveStreams() }
                }
                return await group.reduce(false) { $0 || $1 }
            }
            if !busy { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        for connection in core.liveConnections { connection.onLoop { $0.forceClose() } }
        try? await Task.sleep(for: .milliseconds(50))  // let the final frames leave
        group.shutdown()
    }
}

extension LoopBound where Value == ServerConnection {
    func hasActiveStreams() async -> Bool {
        await withCheckedContinuation { continuation in
            onLoop { continuation.resume(returning: $0.hasActiveStreams) }
        }
    }
}

