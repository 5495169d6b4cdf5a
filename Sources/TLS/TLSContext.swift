internal import COpenSSL

#if canImport(Glibc)
import Glibc
#endif

/// The settings every TLS connection made from it shares: certificate and key, what peers
/// are trusted, TLS 1.2+ with HTTP/2's cipher suites, ALPN h2.
///
/// Immutable once built, so every event loop makes its connections from the same context
/// (OpenSSL makes `SSL_new` on a shared `SSL_CTX` thread-safe). A reload builds a new one
/// (`ReloadableTLSContext`); connections keep the context they were made from, because each
/// `SSL` holds its own reference.
public final class TLSContext: @unchecked Sendable {
    /// The `SSL_CTX`; one reference owned here, released in deinit.
    let context: OpaquePointer
    public let isServer: Bool

    private init(context: OpaquePointer, isServer: Bool) {
        self.context = context
        self.isServer = isServer
    }

    deinit { SSL_CTX_free(context) }

    /// A server context: the certificate chain (PEM: the leaf first, then intermediates), its
    /// private key, and with `clientCAFile` mutual TLS (a client certificate is required and
    /// must chain to one of those CAs).
    public static func server(certificateChainFile: String, privateKeyFile: String, clientCAFile: String? = nil) throws(TLSError) -> TLSContext {
        let context = try TLSContext(isServer: true)
        try context.useIdentity(certificateChainFile: certificateChainFile, privateKeyFile: privateKeyFile)
        // A client that offers no h2 is refused in the handshake (no_application_protocol).
        SSL_CTX_set_alpn_select_cb(context.context, selectH2, nil)
        // One TLS 1.3 session ticket, not OpenSSL's two: stock gRPC clients rarely resume
        // (grpcio and grpc-go keep no session cache unless told to), and each ticket costs a
        // handshake ~4 % more; one still lets a client that does resume reconnect once.
        _ = SSL_CTX_set_num_tickets(context.context, 1)
        // Resumed sessions must be tied to this server (OpenSSL refuses to resume a session
        // with a verified client otherwise).
        _ = SSL_CTX_set_session_id_context(context.context, "cellhub", 7)
        if let clientCAFile {
            try checkReadable(clientCAFile, what: "client CA file")
            guard SSL_CTX_load_verify_locations(context.context, clientCAFile, nil) == 1 else {
                throw .openSSL(.configuration, "client CA file \(clientCAFile) holds no usable PEM certificate")
            }
            // The CA names go in the CertificateRequest, so a client with several
            // certificates picks the right one.
            guard let names = SSL_load_client_CA_file(clientCAFile) else {
                throw .openSSL(.configuration, "client CA file \(clientCAFile) holds no usable PEM certificate")
            }
            SSL_CTX_set_client_CA_list(context.context, names)
            SSL_CTX_set_verify(context.context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
        return context
    }

    /// A client context: trusts the CAs in `caFile`, or the system's roots (/etc/ssl/certs)
    /// when nil; with a certificate chain and key, it can answer a server that asks for one.
    public static func client(caFile: String? = nil, certificateChainFile: String? = nil, privateKeyFile: String? = nil) throws(TLSError) -> TLSContext {
        let context = try TLSContext(isServer: false)
        if let caFile {
            try checkReadable(caFile, what: "CA file")
            guard SSL_CTX_load_verify_locations(context.context, caFile, nil) == 1 else {
                throw .openSSL(.configuration, "CA file \(caFile) holds no usable PEM certificate")
            }
        } else {
            guard SSL_CTX_set_default_verify_paths(context.context) == 1 else {
                throw .openSSL(.configuration, "cannot load the system's trusted certificates")
            }
        }
        SSL_CTX_set_verify(context.context, SSL_VERIFY_PEER, nil)
        guard SSL_CTX_set_alpn_protos(context.context, h2Protocols, UInt32(h2Protocols.count)) == 0 else {
            throw .openSSL(.configuration, "cannot offer ALPN h2")
        }
        switch (certificateChainFile, privateKeyFile) {
        case (let certificate?, let key?):
            try context.useIdentity(certificateChainFile: certificate, privateKeyFile: key)
        case (nil, nil):
            break
        default:
            throw TLSError(.configuration, "a client certificate needs both its chain file and its private key file")
        }
        return context
    }

    /// The settings both sides share.
    private convenience init(isServer: Bool) throws(TLSError) {
        guard let context = SSL_CTX_new(isServer ? TLS_server_method() : TLS_client_method()) else {
            throw .openSSL(.configuration, "cannot create a TLS context")
        }
        self.init(context: context, isServer: isServer)
        guard cellhub_ssl_ctx_require_tls12(context) == 1 else {
            throw .openSSL(.configuration, "cannot require TLS 1.2")
        }
        // Renegotiation is a CPU sink a client could trigger at will; HTTP/2 forbids it anyway.
        // A peer that closes without close_notify is an EOF like any other: HTTP/2 frames
        // carry their own ends, so a truncation cannot go unnoticed.
        _ = SSL_CTX_set_options(context, cellhub_ssl_op_no_renegotiation | cellhub_ssl_op_ignore_unexpected_eof)
        // TLS 1.2 suites HTTP/2 accepts (RFC 9113 §9.2.2: ephemeral key exchange, AEAD only);
        // TLS 1.3 suites are all fine. Every suite offered is strong, so the client's order
        // decides: it knows whether its CPU does AES (AES-GCM) or not (ChaCha20).
        guard SSL_CTX_set_cipher_list(context, "ECDHE+AESGCM:ECDHE+CHACHA20") == 1 else {
            throw .openSSL(.configuration, "cannot set the TLS 1.2 cipher suites")
        }
        // Idle connections give their 16 KiB record buffers back: ten thousand of them
        // would otherwise hold hundreds of MiB. Keeping them saved 0.3 % of a unary call's
        // instructions under load (callgrind): not worth the memory.
        cellhub_ssl_ctx_set_mode(context, Int(SSL_MODE_RELEASE_BUFFERS))
    }

    private func useIdentity(certificateChainFile: String, privateKeyFile: String) throws(TLSError) {
        try Self.checkReadable(certificateChainFile, what: "certificate file")
        try Self.checkReadable(privateKeyFile, what: "private key file")
        guard SSL_CTX_use_certificate_chain_file(context, certificateChainFile) == 1 else {
            throw .openSSL(.configuration, "certificate file \(certificateChainFile) holds no usable PEM certificate chain")
        }
        ERR_clear_error()
        // OpenSSL checks the key against the certificate as it loads it: a mismatch is
        // told apart from a file that holds no key by its reason code.
        guard SSL_CTX_use_PrivateKey_file(context, privateKeyFile, SSL_FILETYPE_PEM) == 1, SSL_CTX_check_private_key(context) == 1 else {
            let last = ERR_peek_last_error()
            if ERR_GET_LIB(last) == ERR_LIB_X509 && ERR_GET_REASON(last) == X509_R_KEY_VALUES_MISMATCH {
                _ = TLSError.drainErrorQueue()
                throw TLSError(.configuration, "private key \(privateKeyFile) does not belong to the certificate in \(certificateChainFile)")
            }
            throw .openSSL(.configuration, "private key file \(privateKeyFile) holds no usable PEM private key")
        }
    }

    /// OpenSSL says "no such file" as "system library"; saying which file and why is kinder.
    private static func checkReadable(_ path: String, what: String) throws(TLSError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw TLSError(.configuration, "cannot read the \(what) \(path): \(String(cString: strerror(errno)))")
        }
        close(fd)
    }

    /// ALPN's wire form of the one protocol CellHub speaks.
    static let h2Protocols: [UInt8] = [2, UInt8(ascii: "h"), UInt8(ascii: "2")]
}

/// The server's ALPN choice: h2 when the client offers it, else the handshake fails with
/// no_application_protocol (gRPC is HTTP/2 only). OpenSSL calls it with the client's list
/// (length-prefixed names); `out` may point into that list, which outlives the handshake step.
private let selectH2: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?, UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
    guard let out, let outLength, let offered else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    var index = 0
    let count = Int(offeredLength)
    while index < count {
        let length = Int(offered[index])
        if length == 2, index + 2 < count, offered[index + 1] == UInt8(ascii: "h"), offered[index + 2] == UInt8(ascii: "2") {
            out.pointee = offered + index + 1
            outLength.pointee = 2
            return SSL_TLSEXT_ERR_OK
        }
        index += 1 + length
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL
}
