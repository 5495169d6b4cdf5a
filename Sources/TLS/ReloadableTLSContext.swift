import Synchronization

/// A server's TLS context that can be rebuilt from its files while the server runs (SIGHUP):
/// new handshakes take the current context, connections already made keep theirs, and a
/// reload that fails leaves the current one in place.
public final class ReloadableTLSContext: Sendable {
    public let certificateChainFile: String
    public let privateKeyFile: String
    public let clientCAFile: String?
    private let context: Mutex<TLSContext>

    /// Builds the first context; throws when a file cannot be used.
    public init(certificateChainFile: String, privateKeyFile: String, clientCAFile: String? = nil) throws(TLSError) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.clientCAFile = clientCAFile
        context = Mutex(try TLSContext.server(certificateChainFile: certificateChainFile, privateKeyFile: privateKeyFile, clientCAFile: clientCAFile))
    }

    /// The context new connections are made from.
    public var current: TLSContext { context.withLock { $0 } }

    /// Reads the files again and, when they make a usable context, uses it for new
    /// connections; otherwise throws and nothing changes.
    public func reload() throws(TLSError) {
        let fresh = try TLSContext.server(certificateChainFile: certificateChainFile, privateKeyFile: privateKeyFile, clientCAFile: clientCAFile)
        context.withLock { $0 = fresh }
    }
}
