public import TLS

/// Limits and timeouts of a gRPC server; every default is a deliberate choice.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 0
    /// TLS for every connection (ALPN h2; mutual TLS when the context has client CAs); nil
    /// serves cleartext h2c. Reloading it changes the certificate of new connections only.
    public var tls: ReloadableTLSContext?
    /// A TLS handshake not finished within this long closes its connection: a client that
    /// stalls holds a descriptor and a connection slot for this long at most (never a loop).
    public var tlsHandshakeTimeoutNanoseconds: UInt64 = 10_000_000_000
    /// Event loops (threads); each accepts on the same port via SO_REUSEPORT.
    public var loopCount = 2
    public var maxReceiveMessageBytes = 64 << 20
    public var maxSendMessageBytes = 64 << 20
    public var maxConcurrentStreams = 1_000
    public var maxHeaderListBytes = 16 << 10
    public var initialStreamWindowBytes = 1 << 20
    public var connectionWindowBytes = 16 << 20
    /// A streaming writer suspends above this many unsent bytes and resumes below the low mark.
    public var streamHighWaterBytes = 256 << 10
    public var streamLowWaterBytes = 64 << 10
    /// Client-streaming and bidirectional calls: request bytes a stream queues for a handler
    /// that has not read them yet. Past it the client's window is refilled only as the handler
    /// reads, so the client pauses (one message always fits, whatever its size).
    public var maxQueuedRequestBytesPerStream = 256 << 10
    /// Request bytes one connection may hold before its peer's window stops being
    /// refilled (at least one maximal message must fit).
    public var maxBufferedRequestBytesPerConnection = 128 << 20
    /// Request bytes all connections together may hold in unfinished messages: past 3/4 of
    /// it credit is withheld, past it calls end RESOURCE_EXHAUSTED. At least one maximal
    /// message must fit.
    public var maxBufferedRequestBytes = 256 << 20
    /// A call whose request message is incomplete and receives nothing for this long ends
    /// CANCELLED (a peer that announces a message and stalls holds nothing forever).
    public var requestStallTimeoutNanoseconds: UInt64 = 30_000_000_000
    /// Connections served at once; past it new ones are closed as they are accepted.
    public var maxConnections = 10_000
    /// Stop taking frames from nghttp2 while this much output waits for the socket.
    public var socketHighWaterBytes = 1 << 20
    /// RST_STREAM rate limit (rapid reset): burst, then per second.
    public var resetBurst = 1_000
    public var resetRatePerSecond = 100
    public var maxContinuations = 8
    /// PING a connection that was silent this long; nil = never.
    public var keepaliveIntervalNanoseconds: UInt64? = 60_000_000_000
    /// Close a connection whose keepalive PING got no bytes back within this long.
    public var keepaliveTimeoutNanoseconds: UInt64 = 20_000_000_000
    /// Close (GOAWAY) a connection without calls for this long; nil = never.
    public var idleTimeoutNanoseconds: UInt64? = 300_000_000_000
    /// After I/O, a loop polls this long for more before sleeping: lower latency for
    /// request/response ping-pong at the price of CPU while busy. 0 = never poll.
    public var busyPollNanoseconds: UInt64 = 50_000
    /// How long graceful shutdown lets calls finish before ending them UNAVAILABLE.
    public var drainTimeoutNanoseconds: UInt64 = 5_000_000_000

    public init() {}
}
