internal import CNGHTTP2

/// The nghttp2 callback table of server sessions, built once.
///
/// Each callback is a non-capturing C function that recovers the `ServerConnection` from
/// `user_data`, calls one method, and maps the outcome to nghttp2's contract: 0 = go on,
/// NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE = reset this stream, NGHTTP2_ERR_CALLBACK_FAILURE
/// = kill the session. Nothing throws through C.
enum ServerCallbacks {
    nonisolated(unsafe) static let table: OpaquePointer = {
        var callbacks: OpaquePointer?
        precondition(nghttp2_session_callbacks_new(&callbacks) == 0, "nghttp2_session_callbacks_new failed")
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, onFrameSend)
        nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks, onFrameNotSend)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameRecv)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunkRecv)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        return callbacks!
    }()

    /// Runs `body` with the connection behind `user_data`, without retaining it: the
    /// session belongs to the connection, so the connection outlives every callback.
    @inline(__always)
    private static func withConnection<R>(_ userData: UnsafeMutableRawPointer?, _ body: (ServerConnection) -> R) -> R {
        Unmanaged<ServerConnection>.fromOpaque(userData!)._withUnsafeGuaranteedRef(body)
    }

    private static func isRequestHeaders(_ frame: UnsafePointer<nghttp2_frame>) -> Bool {
        frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) && frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST
    }

    private static let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, userData in
        guard let frame, isRequestHeaders(frame) else { return 0 }
        withConnection(userData) { $0.beginStream(frame.pointee.hd.stream_id) }
        return 0
    }

    private static let onHeader: nghttp2_on_header_callback = { _, frame, name, nameLength, value, valueLength, _, userData in
        guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
        withConnection(userData) { server in
            guard let stream = server.stream(frame.pointee.hd.stream_id), stream.phase == .receivingHeaders else { return }
            server.header(stream, name: UnsafeRawBufferPointer(start: name, count: nameLength), value: UnsafeRawBufferPointer(start: value, count: valueLength))
        }
        return 0
    }

    /// A response frame left: a status sent early may now be followed by a reset.
    private static let onFrameSend: nghttp2_on_frame_send_callback = { _, frame, userData in
        guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
              frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 else { return 0 }
        withConnection(userData) { $0.responseEnded(frame.pointee.hd.stream_id) }
        return 0
    }

    /// nghttp2 dropped a frame it could not send (a header block over its limits, say).
    /// For response HEADERS it leaves the stream open: the call would hang; reset it.
    private static let onFrameNotSend: nghttp2_on_frame_not_send_callback = { _, frame, errorCode, userData in
        guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
        withConnection(userData) { $0.responseHeadersNotSent(frame.pointee.hd.stream_id, reason: errorCode) }
        return 0
    }

    private static let onFrameRecv: nghttp2_on_frame_recv_callback = { _, frame, userData in
        guard let frame else { return 0 }
        let endStream = frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        withConnection(userData) { server in
            guard let stream = server.stream(frame.pointee.hd.stream_id) else { return }
            switch UInt32(frame.pointee.hd.type) {
            case NGHTTP2_HEADERS.rawValue:
                if stream.phase == .receivingHeaders {
                    server.requestHeadersComplete(stream, endStream: endStream)
                } else if endStream {
                    server.requestComplete(stream)  // trailers ending the request
                }
            case NGHTTP2_DATA.rawValue:
                if endStream { server.requestComplete(stream) }
            default:
                break
            }
        }
        return 0
    }

    private static let onDataChunkRecv: nghttp2_on_data_chunk_recv_callback = { _, _, streamID, data, length, userData in
        withConnection(userData) { server in
            guard let stream = server.stream(streamID) else {
                server.discardData(streamID, length)
                return
            }
            server.requestData(stream, UnsafeRawBufferPointer(start: data, count: length))
        }
        return 0
    }

    private static let onStreamClose: nghttp2_on_stream_close_callback = { _, streamID, errorCode, userData in
        withConnection(userData) { $0.streamClosed(streamID, errorCode: errorCode) }
        return 0
    }

    static let readResponseData: nghttp2_data_source_read_callback = { _, streamID, buffer, length, flags, _, userData in
        withConnection(userData) { $0.readResponseData(streamID, into: buffer!, length: length, flags: flags!) }
    }
}

enum NGHTTP2Error {
    static func describe(_ code: Int32) -> String {
        "\(String(cString: nghttp2_strerror(code))) (\(code))"
    }
}
