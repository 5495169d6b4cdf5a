internal import CNGHTTP2
import EventLoop
import RPC
import TLS

/// What a client call receives, in order: response headers, messages, then the end.
protocol ClientStreamObserver: AnyObject {
    func receivedHeaders(_ metadata: Metadata)
    /// One response message (still compressed if `compressed`); returns false to stop the call.
    func receivedMessage(_ payload: [UInt8], compressed: Bool) -> Bool
    /// The call ended: the status from the trailers, or one derived from how the stream ended.
    func finished(_ status: Status, trailers: Metadata)
    /// True while the consumer holds as much as it may: flow-control credit waits.
    var isSaturated: Bool { get }
}

/// One call in flight on a client connection. Confined to the connection's loop.
final class ClientStream {
    let observer: any ClientStreamObserver
    /// The one request message; empty when `outbox` streams the requests.
    var request: [UInt8]
    var requestOffset = 0
    let outbox: RequestOutbox?
    var deframer: MessageDeframer
    var httpStatus: Int?
    var grpcStatus: StatusCode?
    var grpcMessage = ""
    var encoding: [UInt8]?
    var metadata = Metadata()
    var headersDelivered = false
    var done = false
    /// Flow-control credit held back while a streaming consumer's queue is full (so a
    /// slow reader slows the server, not our memory); returned as the queue drains.
    var withheldCredit = 0

    init(observer: any ClientStreamObserver, request: [UInt8], outbox: RequestOutbox?, maxMessageBytes: Int) {
        self.observer = observer
        self.request = request
        self.outbox = outbox
        self.deframer = MessageDeframer(maxMessageBytes: maxMessageBytes)
    }
}

/// One HTTP/2 connection of a client: an nghttp2 client session over a TCP connection, or
/// over TLS on one.
final class ClientConnection: ConnectionHandler {
    let loop: EventLoop
    let authority: String
    /// `:scheme`: "https" over TLS, else "http".
    let scheme: String
    private var session: OpaquePointer!
    var connection: (any ByteStream)?
    var streams: [Int32: ClientStream] = [:]
    private(set) var isUsable = true
    /// Called once when the connection can take no new calls (lost, GOAWAY).
    var onUnusable: (() -> Void)?

    init(loop: EventLoop, authority: String, scheme: String) {
        self.loop = loop
        self.authority = authority
        self.scheme = scheme
        let options = NGHTTP2Options.client()
        defer { nghttp2_option_del(options) }
        var session: OpaquePointer?
        let status = nghttp2_session_client_new2(&session, ClientCallbacks.table, Unmanaged.passUnretained(self).toOpaque(), options)
        precondition(status == 0 && session != nil, "nghttp2_session_client_new2 failed: \(status)")
        self.session = session
        var settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: 1 << 20),
        ]
        _ = nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
        _ = nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, 16 << 20)
    }

    deinit {
        nghttp2_session_del(session)
    }

    /// Starts a call; returns false when the connection cannot take it (the caller retries elsewhere).
    func start(
        path: String, headers extra: HeaderList, request: [UInt8], outbox: RequestOutbox?, maxReceiveBytes: Int, observer: any ClientStreamObserver
    ) -> Int32? {
        guard isUsable, let connection, !connection.isClosed else { return nil }
        var headers = HeaderList()
        headers.add(":method", "POST")
        headers.add(":scheme", scheme)
        headers.add(":path", path)
        headers.add(":authority", authority)
        headers.add("content-type", "application/grpc")
        headers.add("te", "trailers")
        headers.add("user-agent", "cellhub-swift/1")
        headers.append(extra)
        let stream = ClientStream(observer: observer, request: request, outbox: outbox, maxMessageBytes: maxReceiveBytes)
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: ClientCallbacks.readRequestData)
        let id = headers.withNV { nghttp2_submit_request(session, nil, $0, $1, &provider, nil) }
        guard id > 0 else { return nil }
        streams[id] = stream
        connection.scheduleFlush()
        return id
    }

    /// The consumer of `id` caught up: return the credit held back for it.
    func releaseCredit(_ id: Int32) {
        guard let stream = streams[id], stream.withheldCredit > 0 else { return }
        _ = nghttp2_session_consume(session, id, stream.withheldCredit)
        stream.withheldCredit = 0
        connection?.scheduleFlush()
    }

    /// The outbox of `id` has bytes (or its end) to send: its DATA was deferred.
    func resumeRequest(_ id: Int32) {
        guard streams[id] != nil else { return }
        _ = nghttp2_session_resume_data(session, id)
        connection?.scheduleFlush()
    }

    /// Cancels a call: RST_STREAM(CANCEL); the observer hears CANCELLED.
    func cancel(_ id: Int32) {
        guard let stream = streams[id], !stream.done else { return }
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, UInt32(NGHTTP2_CANCEL.rawValue))
        end(id, Status(code: .cancelled, message: "cancelled by the client"))
        connection?.scheduleFlush()
    }

    // MARK: ConnectionHandler

    func connection(_ connection: any ByteStream, received bytes: UnsafeRawBufferPointer) {
        let consumed = nghttp2_session_mem_recv(session, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        if consumed < 0 {
            fail("HTTP/2 error from the server: \(NGHTTP2Error.describe(Int32(consumed)))")
            return
        }
        connection.scheduleFlush()
    }

    func connectionReadEOF(_ connection: any ByteStream) {
        fail("the server closed the connection")
    }

    func connectionWillFlush(_ connection: any ByteStream) {
        while connection.outboundBytes < 1 << 20 {
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            if count <= 0 { break }
            connection.write(UnsafeRawBufferPointer(start: data, count: count))
        }
    }

    func connectionClosed(_ connection: any ByteStream) {
        self.connection = nil
        // A server that refuses our certificate says so after our side of a TLS 1.3
        // handshake is done: the calls hear the alert, not just a lost connection.
        let tlsFailure = (connection as? TLSStream)?.failure
        fail(tlsFailure.map { "the TLS connection failed: \($0)" } ?? "the connection was lost")
    }

    private func fail(_ reason: String) {
        markUnusable()
        for id in Array(streams.keys) {
            end(id, Status(code: .unavailable, message: reason))
        }
        connection?.close()
    }

    func markUnusable() {
        guard isUsable else { return }
        isUsable = false
        onUnusable?()
        onUnusable = nil
    }

    // MARK: Callbacks

    func header(_ id: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard let stream = streams[id] else { return }
        if name.equals(":status") {
            stream.httpStatus = Int(String(decoding: value, as: UTF8.self))
        } else if name.equals("grpc-status") {
            stream.grpcStatus = Int(String(decoding: value, as: UTF8.self)).map(StatusCode.init(rawValue:)) ?? .unknown
        } else if name.equals("grpc-message") {
            stream.grpcMessage = PercentEncoding.decode(value)
        } else if name.equals("grpc-encoding") {
            stream.encoding = Array(value)
        } else if name.first != UInt8(ascii: ":") {
            let key = String(decoding: name, as: UTF8.self)
            if key == "content-type" || key == "grpc-accept-encoding" { return }
            if key.hasSuffix("-bin") {
                if let bytes = Base64.decode(value) { stream.metadata.append(Metadata.Entry(key: key, value: .binary(bytes))) }
            } else {
                stream.metadata.append(Metadata.Entry(key: key, value: .text(String(decoding: value, as: UTF8.self))))
            }
        }
    }

    func headersComplete(_ id: Int32, endStream: Bool) {
        guard let stream = streams[id] else { return }
        if endStream, let outbox = stream.outbox, !outbox.finished || outbox.pendingCount > 0 {
            // The server ended the call while we were still sending: stop (the status stands).
            _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, UInt32(NGHTTP2_NO_ERROR.rawValue))
            connection?.scheduleFlush()
        }
        if !stream.headersDelivered && !endStream {
            stream.headersDelivered = true
            let metadata = stream.metadata
            stream.metadata = Metadata()
            stream.observer.receivedHeaders(metadata)
        }
    }

    func data(_ id: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard let stream = streams[id], !stream.done else {
            _ = nghttp2_session_consume_connection(session, bytes.count)
            return
        }
        if stream.observer.isSaturated {
            stream.withheldCredit += bytes.count
        } else {
            _ = nghttp2_session_consume(session, id, bytes.count)
        }
        do throws(MessageDeframer.Failure) {
            try stream.deframer.append(bytes)
        } catch {
            let status = switch error {
            case .tooLarge(let announced): Status(code: .resourceExhausted, message: "response message of \(announced) bytes exceeds the limit of \(stream.deframer.maxMessageBytes) bytes")
            case .badFlag(let flag): Status(code: .internal, message: "invalid message flag byte \(flag)")
            }
            _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, UInt32(NGHTTP2_CANCEL.rawValue))
            end(id, status)
            return
        }
        for message in stream.deframer.takeMessages() where !stream.done {
            if message.compressed, stream.encoding != Array("gzip".utf8) {
                _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, UInt32(NGHTTP2_CANCEL.rawValue))
                end(id, Status(code: .internal, message: "compressed response without a supported grpc-encoding"))
                return
            }
            if !stream.observer.receivedMessage(message.payload, compressed: message.compressed) {
                cancel(id)
            }
        }
    }

    func streamClosed(_ id: Int32, errorCode: UInt32) {
        guard let stream = streams[id] else { return }
        let status: Status
        if let code = stream.grpcStatus {
            status = stream.deframer.hasPartialMessage && code == .ok
                ? Status(code: .internal, message: "the response ended inside a message")
                : Status(code: code, message: stream.grpcMessage)
        } else if errorCode != 0 {
            status = Status(code: errorCode == UInt32(NGHTTP2_REFUSED_STREAM.rawValue) ? .unavailable : (errorCode == UInt32(NGHTTP2_CANCEL.rawValue) ? .cancelled : .internal),
                            message: "stream reset by the server (HTTP/2 error \(errorCode))")
        } else if let http = stream.httpStatus, http != 200 {
            status = Status(code: Self.code(forHTTPStatus: http), message: "HTTP status \(http)")
        } else {
            status = Status(code: .internal, message: "the server ended the call without a grpc-status")
        }
        end(id, status)
    }

    private func end(_ id: Int32, _ status: Status) {
        guard let stream = streams.removeValue(forKey: id), !stream.done else { return }
        stream.done = true
        stream.observer.finished(status, trailers: stream.metadata)
    }

    func goaway() {
        markUnusable()
    }

    /// gRPC's HTTP-to-status mapping for responses without a grpc-status.
    static func code(forHTTPStatus status: Int) -> StatusCode {
        switch status {
        case 400: .internal
        case 401: .unauthenticated
        case 403: .permissionDenied
        case 404: .unimplemented
        case 429, 502, 503, 504: .unavailable
        default: .unknown
        }
    }

    func readRequestData(_ id: Int32, into buffer: UnsafeMutablePointer<UInt8>, length: Int, flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard let stream = streams[id] else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        if let outbox = stream.outbox {
            let count = outbox.take(into: buffer, length: length)
            if outbox.finished && outbox.pendingCount == 0 {
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                return count
            }
            return count > 0 ? count : Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        let count = min(length, stream.request.count - stream.requestOffset)
        if count > 0 {
            stream.request.withUnsafeBytes { UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress! + stream.requestOffset, byteCount: count) }
            stream.requestOffset += count
        }
        if stream.requestOffset == stream.request.count {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            stream.request = []
            stream.requestOffset = 0
        }
        return count
    }
}

/// The nghttp2 callback table of client sessions (see ServerCallbacks for the rules).
enum ClientCallbacks {
    nonisolated(unsafe) static let table: OpaquePointer = {
        var callbacks: OpaquePointer?
        precondition(nghttp2_session_callbacks_new(&callbacks) == 0, "nghttp2_session_callbacks_new failed")
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameRecv)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunkRecv)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        return callbacks!
    }()

    private static func connection(_ userData: UnsafeMutableRawPointer?) -> ClientConnection {
        Unmanaged<ClientConnection>.fromOpaque(userData!).takeUnretainedValue()
    }

    private static let onHeader: nghttp2_on_header_callback = { _, frame, name, nameLength, value, valueLength, _, userData in
        guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
        connection(userData).header(frame.pointee.hd.stream_id, name: UnsafeRawBufferPointer(start: name, count: nameLength), value: UnsafeRawBufferPointer(start: value, count: valueLength))
        return 0
    }

    private static let onFrameRecv: nghttp2_on_frame_recv_callback = { _, frame, userData in
        guard let frame else { return 0 }
        switch UInt32(frame.pointee.hd.type) {
        case NGHTTP2_HEADERS.rawValue:
            connection(userData).headersComplete(frame.pointee.hd.stream_id, endStream: frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0)
        case NGHTTP2_GOAWAY.rawValue:
            connection(userData).goaway()
        default:
            break
        }
        return 0
    }

    private static let onDataChunkRecv: nghttp2_on_data_chunk_recv_callback = { _, _, streamID, data, length, userData in
        connection(userData).data(streamID, UnsafeRawBufferPointer(start: data, count: length))
        return 0
    }

    private static let onStreamClose: nghttp2_on_stream_close_callback = { _, streamID, errorCode, userData in
        connection(userData).streamClosed(streamID, errorCode: errorCode)
        return 0
    }

    static let readRequestData: nghttp2_data_source_read_callback = { _, streamID, buffer, length, flags, _, userData in
        connection(userData).readRequestData(streamID, into: buffer!, length: length, flags: flags!)
    }
}
