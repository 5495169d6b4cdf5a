internal import COpenSSL

/// The BIO between OpenSSL and a `TLSStream`'s transport: reads take the ciphertext of the
/// delivery being handled, writes go straight into the transport's output buffer.
///
/// Why not memory BIOs: they copy every byte once more each way, and emptying one clears its
/// whole allocation. A partial record needs no buffer of ours either: when the input runs
/// out, the read asks OpenSSL to retry (SSL_ERROR_WANT_READ) and OpenSSL keeps what it has.
///
/// Callbacks follow the nghttp2 rule of the house: non-capturing, the stream recovered
/// unretained from the BIO's data pointer (set before the SSL owns the BIO; the stream owns
/// the SSL, so it outlives every call).
enum TransportBIO {
    nonisolated(unsafe) static let method: OpaquePointer = {
        guard let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "cellhub transport") else {
            fatalError("OpenSSL could not create a BIO method (out of memory)")
        }
        _ = BIO_meth_set_write(method, write)
        _ = BIO_meth_set_read(method, read)
        _ = BIO_meth_set_ctrl(method, control)
        _ = BIO_meth_set_create(method, create)
        return method
    }()

    private static func stream(_ bio: OpaquePointer?) -> TLSStream {
        Unmanaged<TLSStream>.fromOpaque(BIO_get_data(bio)!).takeUnretainedValue()
    }

    private static let write: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = { bio, data, length in
        cellhub_bio_clear_retry_flags(bio)
        guard let data, length > 0 else { return 0 }
        stream(bio).sendRecords(UnsafeRawBufferPointer(start: data, count: Int(length)))
        return length
    }

    private static let read: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int32) -> Int32 = { bio, destination, length in
        cellhub_bio_clear_retry_flags(bio)
        guard let destination, length > 0 else { return 0 }
        guard let taken = stream(bio).takeInput(into: destination, count: Int(length)) else {
            cellhub_bio_set_retry_read(bio)
            return -1
        }
        return Int32(taken)
    }

    /// Flush is all OpenSSL asks of a transport (writes are done when the call returns);
    /// anything else is "not supported".
    private static let control: @convention(c) (OpaquePointer?, Int32, Int, UnsafeMutableRawPointer?) -> Int = { _, command, _, _ in
        command == BIO_CTRL_FLUSH ? 1 : 0
    }

    private static let create: @convention(c) (OpaquePointer?) -> Int32 = { bio in
        BIO_set_init(bio, 1)
        return 1
    }
}
