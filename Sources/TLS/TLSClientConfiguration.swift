/// How a client speaks TLS to its server: whom it trusts, the name the server's certificate
/// must carry, and optionally its own certificate (for servers that ask for one).
public struct TLSClientConfiguration: Sendable {
    public var context: TLSContext
    /// The name checked against the server's certificate and sent as SNI (an IP address is
    /// checked against the certificate's IP entries and not sent); nil: the host connected to.
    public var serverName: String?
    /// A handshake not finished within this long fails (the connection attempt backs off).
    public var handshakeTimeoutNanoseconds: UInt64 = 10_000_000_000

    /// `caFile` nil trusts the system's roots (/etc/ssl/certs).
    public init(caFile: String? = nil, certificateChainFile: String? = nil, privateKeyFile: String? = nil, serverName: String? = nil) throws(TLSError) {
        context = try TLSContext.client(caFile: caFile, certificateChainFile: certificateChainFile, privateKeyFile: privateKeyFile)
        self.serverName = serverName
    }
}
