internal import COpenSSL
public import EventLoop

#if canImport(Glibc)
import Glibc
#endif

/// TLS over a byte stream, as a byte stream: the transport's handler on one side (records in
/// and out), the protocol's stream on the other (plaintext), so the protocol (HTTP/2's
/// ServerConnection or ClientConnection) runs unchanged over it.
///
/// Driven by the transport's events on its loop, never blocking: each delivery of ciphertext
/// advances the handshake or is decrypted at once, and the protocol's output is encrypted once
/// per loop iteration, in the transport's flush, so the frames of one iteration share records.
/// OpenSSL reads and writes through a BIO over the transport (`TransportBIO`): the transport
/// keeps the socket, its write batching, its backpressure (`outboundBytes` counts both sides)
/// and its EOF handling. A handshake that does not finish within its timeout closes the stream.
public final class TLSStream: ByteStream, ConnectionHandler {
    public let loop: EventLoop
    /// Where the records travel. Held strongly: the transport holds this stream as its
    /// handler too, and drops it when it closes, which ends the cycle.
    public let transport: any ByteStream
    /// The protocol over TLS; it sees plaintext only.
    public var handler: (any ConnectionHandler)?
    /// Hears once whether the handshake succeeded; a failure is followed by the close.
    public var onHandshake: ((Result<Void, TLSError>) -> Void)?
    public private(set) var isClosed = false
    /// Why TLS ended the connection, if it did.
    public private(set) var failure: TLSError?

    /// The `SSL` (and through it the transport BIO); owned here, freed in deinit.
    private let ssl: OpaquePointer
    private let isServer: Bool
    private let handshakeTimeoutNanoseconds: UInt64
    private var handshakeTimer: LoopTimer?
    private var established = false
    /// The ciphertext of the transport's current delivery; the BIO reads it during the SSL
    /// calls of that delivery, and OpenSSL keeps a partial record itself.
    private var input = UnsafeRawBufferPointer(start: nil, count: 0)
    /// Plaintext the protocol wrote and TLS has not encrypted yet (before the handshake ends,
    /// all of it: HTTP/2's preface and SETTINGS).
    private var pending: [UInt8] = []
    /// The protocol heard `connectionReadEOF` (close_notify or the transport's EOF).
    private var readFinished = false
    private var outputShutDown = false

    private init(transport: any ByteStream, context: TLSContext, handshakeTimeoutNanoseconds: UInt64) throws(TLSError) {
        guard let ssl = SSL_new(context.context) else { throw .openSSL(.connection, "cannot create a TLS connection") }
        guard let bio = BIO_new(TransportBIO.method) else {
            SSL_free(ssl)
            throw .openSSL(.connection, "cannot create a TLS connection")
        }
        self.ssl = ssl
        self.loop = transport.loop
        self.transport = transport
        self.isServer = context.isServer
        self.handshakeTimeoutNanoseconds = handshakeTimeoutNanoseconds
        BIO_set_data(bio, Unmanaged.passUnretained(self).toOpaque())
        SSL_set_bio(ssl, bio, bio)  // one BIO both ways; the SSL takes its one reference
    }

    deinit { SSL_free(ssl) }

    /// The server side of a connection the transport accepted; call `start()` once the
    /// transport delivers to it.
    public static func server(over transport: any ByteStream, context: TLSContext, handshakeTimeoutNanoseconds: UInt64) throws(TLSError) -> TLSStream {
        let stream = try TLSStream(transport: transport, context: context, handshakeTimeoutNanoseconds: handshakeTimeoutNanoseconds)
        SSL_set_accept_state(stream.ssl)
        return stream
    }

    /// The client side: the server's certificate must carry `serverName` (a DNS name, also
    /// sent as SNI, or an IP address).
    public static func client(
        over transport: any ByteStream, context: TLSContext, serverName: String, handshakeTimeoutNanoseconds: UInt64
    ) throws(TLSError) -> TLSStream {
        let stream = try TLSStream(transport: transport, context: context, handshakeTimeoutNanoseconds: handshakeTimeoutNanoseconds)
        SSL_set_connect_state(stream.ssl)
        let named = if isIPAddress(serverName) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(stream.ssl), serverName) == 1
        } else {
            // RFC 6066: SNI carries DNS names only.
            cellhub_ssl_set_server_name(stream.ssl, serverName) == 1 && SSL_set1_host(stream.ssl, serverName) == 1
        }
        guard named else { throw .openSSL(.configuration, "cannot check the server's certificate for '\(serverName)'") }
        return stream
    }

    /// Arms the handshake timeout and, on a client, sends the ClientHello. Loop thread.
    public func start() {
        loop.preconditionInEventLoop()
        let timeout = handshakeTimeoutNanoseconds
        handshakeTimer = loop.schedule(afterNanoseconds: timeout) { [weak self] in
            self?.fail(TLSError(.handshake, "the TLS handshake did not finish within \(Double(timeout) / 1e9) s"))
        }
        if !isServer { advanceHandshake() }
    }

    // MARK: ByteStream (plaintext, for the protocol)

    public var peer: String { transport.peer }

    public var outboundBytes: Int { pending.count + transport.outboundBytes }

    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, !outputShutDown, bytes.count > 0 else { return }
        pending.append(contentsOf: bytes)
        if established && pending.count >= Self.encryptionBatchBytes {
            encryptPending()
        } else {
            transport.scheduleFlush()
        }
    }

    /// Plaintext encrypted as soon as this much waits: full records (16 KiB) all the same, and
    /// a buffer that stays small and warm instead of growing to the protocol's high-water
    /// mark (a megabyte allocated, faulted in and freed on every flush of a busy stream).
    static let encryptionBatchBytes = 64 << 10

    public func scheduleFlush() { transport.scheduleFlush() }

    /// Sends what the protocol wrote and close_notify, then the transport's FIN.
    public func shutdownOutput() {
        guard !isClosed, !outputShutDown else { return }
        if established {
            encryptPending()
            guard !isClosed else { return }
            ERR_clear_error()
            _ = SSL_shutdown(ssl)  // queues our close_notify; the peer's is not waited for
            _ = TLSError.drainErrorQueue()
        }
        outputShutDown = true
        pending = []
        transport.shutdownOutput()
    }

    public func close() {
        guard !isClosed else { return }
        transport.close()
        // A transport that does not (yet) deliver to this stream did not tell it.
        if !isClosed { connectionClosed(transport) }
    }

    // MARK: ConnectionHandler (records, from the transport)

    public func connection(_ transport: any ByteStream, received bytes: UnsafeRawBufferPointer) {
        guard !isClosed, !readFinished else { return }
        input = bytes
        defer { input = UnsafeRawBufferPointer(start: nil, count: 0) }
        if !established { advanceHandshake() }
        if established, !isClosed { readRecords() }
    }

    public func connectionReadEOF(_ transport: any ByteStream) {
        guard !isClosed else { return }
        guard established else {
            fail(TLSError(.handshake, "the peer closed the connection during the TLS handshake"))
            return
        }
        finishReading()
    }

    public func connectionWillFlush(_ transport: any ByteStream) {
        guard !isClosed else { return }
        handler?.connectionWillFlush(self)
        guard established, !isClosed else { return }
        encryptPending()
    }

    public func connectionDrained(_ transport: any ByteStream) {
        // Every record left and no plaintext waits: the protocol's output all went out too.
        guard !isClosed, established, pending.isEmpty else { return }
        handler?.connectionDrained(self)
    }

    public func connectionClosed(_ transport: any ByteStream) {
        guard !isClosed else { return }
        isClosed = true
        handshakeTimer?.cancel()
        handshakeTimer = nil
        if !established { report(.failure(failure ?? TLSError(.handshake, "the connection closed during the TLS handshake"))) }
        pending = []
        let handler = self.handler
        self.handler = nil
        handler?.connectionClosed(self)
    }

    // MARK: TLS

    /// One step of the handshake with the input at hand; its output goes out through the BIO.
    private func advanceHandshake() {
        ERR_clear_error()  // SSL_get_error reads this thread's queue: it must hold only our errors
        let result = SSL_do_handshake(ssl)
        guard result == 1 else {
            let error = SSL_get_error(ssl, result)
            if error == SSL_ERROR_WANT_READ { return }
            fail(handshakeFailure(error))
            return
        }
        var name: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &name, &length)
        guard length == 2, let name, name[0] == UInt8(ascii: "h"), name[1] == UInt8(ascii: "2") else {
            // A server reaches this with a client that sent no ALPN at all (one that offered
            // only other protocols was refused in the handshake).
            fail(TLSError(.handshake, "the peer did not agree to HTTP/2 (ALPN h2)"))
            return
        }
        established = true
        handshakeTimer?.cancel()
        handshakeTimer = nil
        report(.success(()))
        // What the protocol wrote meanwhile can leave now.
        transport.scheduleFlush()
    }

    private func handshakeFailure(_ error: Int32) -> TLSError {
        let verification = SSL_get_verify_result(ssl)
        if verification != X509_V_OK {
            _ = TLSError.drainErrorQueue()
            return TLSError(.handshake, "the peer's certificate was refused: \(String(cString: X509_verify_cert_error_string(verification)))")
        }
        if error == SSL_ERROR_SYSCALL || error == SSL_ERROR_ZERO_RETURN {
            _ = TLSError.drainErrorQueue()
            return TLSError(.handshake, "the peer ended the TLS handshake")
        }
        return .openSSL(.handshake, "TLS handshake failed")
    }

    /// Decrypts everything the input holds and hands it to the protocol, up to the loop's
    /// scratch buffer at a time.
    private func readRecords() {
        let buffer = loop.layerBuffer
        while !isClosed {
            var filled = 0
            var outcome = SSL_ERROR_NONE
            while filled < buffer.count {
                ERR_clear_error()
                let count = SSL_read(ssl, buffer.baseAddress! + filled, Int32(buffer.count - filled))
                if count > 0 {
                    filled += Int(count)
                    continue
                }
                outcome = SSL_get_error(ssl, count)
                break
            }
            if filled > 0 {
                handler?.connection(self, received: UnsafeRawBufferPointer(rebasing: buffer[0..<filled]))
                if isClosed { return }
            }
            switch outcome {
            case SSL_ERROR_NONE:
                continue  // the buffer filled up: more may be waiting
            case SSL_ERROR_WANT_READ:
                return
            case SSL_ERROR_ZERO_RETURN:
                finishReading()  // close_notify: the peer sends nothing more
                return
            default:
                fail(.openSSL(.connection, "TLS connection failed"))
                return
            }
        }
    }

    private func finishReading() {
        guard !readFinished else { return }
        readFinished = true
        handler?.connectionReadEOF(self)
    }

    /// Encrypts what the protocol wrote; the records go to the transport through the BIO.
    private func encryptPending() {
        guard !pending.isEmpty else { return }
        ERR_clear_error()
        // A memory-backed BIO never pushes back, so SSL_write takes everything or fails.
        let written = pending.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        guard Int(written) == pending.count else {
            fail(.openSSL(.connection, "TLS write failed"))
            return
        }
        pending.removeAll(keepingCapacity: pending.capacity <= 4 * Self.encryptionBatchBytes)
    }

    /// Ends the connection for `error`: an alert OpenSSL queued leaves first.
    private func fail(_ error: TLSError) {
        guard !isClosed else { return }
        failure = error
        if !established { report(.failure(error)) }
        transport.shutdownOutput()
        close()
    }

    private func report(_ result: Result<Void, TLSError>) {
        guard let callback = onHandshake else { return }
        onHandshake = nil
        callback(result)
    }

    // MARK: The BIO's side (called by OpenSSL inside the SSL calls above)

    /// Copies up to `count` bytes of the current input; nil when it is used up.
    func takeInput(into destination: UnsafeMutableRawPointer, count: Int) -> Int? {
        guard input.count > 0 else { return nil }
        let taken = min(count, input.count)
        destination.copyMemory(from: input.baseAddress!, byteCount: taken)
        input = UnsafeRawBufferPointer(rebasing: input[taken...])
        return taken
    }

    /// Records for the peer.
    func sendRecords(_ bytes: UnsafeRawBufferPointer) {
        transport.write(bytes)
    }
}

private func isIPAddress(_ name: String) -> Bool {
    var address = in6_addr()
    return inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1
}
