internal import CNGHTTP2
import EventLoop
import Logging
import RPC

/// One HTTP/2 connection of the server: an nghttp2 server session fed with the socket's
/// bytes, turning requests into handler tasks and their results into frames.
///
/// Confined to its event loop. Handlers run as tasks whose executor preference is that
/// loop, so their writes reach the session without a thread hop.
final class ServerConnection: ConnectionHandler {
    let core: ServerCore
    let loop: EventLoop
    private(set) weak var connection: (any ByteStream)?
    /// The nghttp2 session; created in init, deleted in deinit; used only on `loop`.
    private(set) var session: OpaquePointer!
    var streams: [Int32: ServerStream] = [:]
    /// What this connection's calls share (`ServerContext.connection`).
    let scope = ConnectionScope()
    /// The last `authorization` value a call on this connection sent (`repeatedAuthorization`).
    private var lastAuthorization = ""
    /// The stream the last callback was about: header callbacks come in runs per stream.
    private var lastStream: ServerStream?
    private var draining = false
    /// Request bytes held by all streams (deframers and complete messages not yet handed over).
    var bufferedRequestBytes = 0
    /// Credit withheld from this connection's streams, in all (0: nothing to return).
    var withheldBytes = 0
    /// Of `withheldBytes`, connection-window credit only: bytes whose stream credit a
    /// streaming call's queue holds (`RequestQueue.heldCredit`).
    var withheldConnectionCredit = 0
    /// The peer half-closed its side of the TCP connection.
    private var peerFinishedSending = false
    private var closed = false
    /// nghttp2 had more to send when the socket buffer reached its high-water mark.
    private var heldBackOutput = false
    private var idleTimer: LoopTimer?
    private var pingTimer: LoopTimer?
    /// Ends the calls still running once the peer's EOF is older than the drain timeout.
    private var eofTimer: LoopTimer?
    /// Looks for calls whose request stopped arriving (armed while any call receives one).
    private var stallTimer: LoopTimer?
    /// Last bytes from the peer (keepalive); last call started or ended (idle timeout).
    private var lastActivity = monotonicNanoseconds()
    private var lastCallActivity = monotonicNanoseconds()
    /// When the unanswered keepalive PING left; nil while none is outstanding.
    private var pingSentAt: UInt64?
    /// Registered with the server-wide request budget, waiting for it to have room.
    private var waitingForRelief = false

    init(connection: any ByteStream, core: ServerCore) {
        self.core = core
        self.loop = connection.loop
        self.connection = connection
        let options = NGHTTP2Options.server(core.configuration)
        defer { nghttp2_option_del(options) }
        var session: OpaquePointer?
        let status = nghttp2_session_server_new2(&session, ServerCallbacks.table, Unmanaged.passUnretained(self).toOpaque(), options)
        precondition(status == 0 && session != nil, "nghttp2_session_server_new2 failed: \(status)")
        self.session = session
        submitInitialSettings()
        core.register(self)
        armTimers()
        connection.scheduleFlush()
    }

    deinit {
        nghttp2_session_del(session)
    }

    private func submitInitialSettings() {
        let config = core.configuration
        var settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: UInt32(config.maxConcurrentStreams)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: UInt32(config.initialStreamWindowBytes)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: UInt32(config.maxHeaderListBytes)),
        ]
        _ = nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
        // The connection window starts at 64 KiB whatever SETTINGS say; open it up so large
        // requests from many streams are not throttled to one window per round trip.
        _ = nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, Int32(config.connectionWindowBytes))
    }

    // MARK: ConnectionHandler

    func connection(_ connection: any ByteStream, received bytes: UnsafeRawBufferPointer) {
        lastActivity = monotonicNanoseconds()
        pingSentAt = nil
        let consumed = nghttp2_session_mem_recv(session, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        if consumed < 0 {
            // Bad preface, flood limits, protocol errors: nghttp2 has queued a GOAWAY when it
            // could; send what is queued, then close.
            core.logger.debug("closing connection", metadata: ["peer": "\(connection.peer)", "reason": "\(NGHTTP2Error.describe(Int32(consumed)))"])
            terminate()
            return
        }
        connection.scheduleFlush()
    }

    func connectionReadEOF(_ connection: any ByteStream) {
        // A half-closed peer sends nothing more but may still read answers. Calls still
        // waiting for request bytes can never complete: end them. Calls already running may
        // finish within the drain timeout; then the connection closes (connectionWillFlush
        // checks). The stream no longer reads, so nothing spins on the EOF.
        peerFinishedSending = true
        for stream in Array(streams.values) {
            switch stream.phase {
            case .receivingHeaders:
                // No response can follow an unfinished header block: reset.
                _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, UInt32(NGHTTP2_CANCEL.rawValue))
            case .receivingMessage:
                finish(stream, status: Status(code: .cancelled, message: "the client closed the connection before its request was complete"), trailers: Metadata())
                resetAfterResponse(stream)
            case .running where stream.requests?.clientFinished == false:
                // A streaming request that can never end: its handler would wait for nothing.
                refuse(stream, Status(code: .cancelled, message: "the client closed the connection before its request was complete"))
            case .running, .finishing, .closed:
                break
            }
        }
        if streams.isEmpty {
            terminate()
            return
        }
        eofTimer = loop.schedule(afterNanoseconds: core.configuration.drainTimeoutNanoseconds) { [weak self] in
            self?.forceClose(Status(code: .unavailable, message: "the client closed the connection; calls still running were ended"))
        }
        // EOF alone does not tell a half-closed peer from one that closed its socket. A PING
        // does: a closed socket answers it with a reset (EPOLLERR), and the connection and
        // its calls end at once instead of at the drain timeout — a client that closes
        // thousands of streams gets them cancelled now, not all together seconds later.
        _ = nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nil)
        connection.scheduleFlush()
    }

    func connectionWillFlush(_ connection: any ByteStream) {
        pumpOutput(into: connection)
        let sessionDone = nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0
        let peerDone = peerFinishedSending && streams.isEmpty && nghttp2_session_want_write(session) == 0
        if (sessionDone || peerDone) && connection.outboundBytes == 0 {
            connection.close()
        }
    }

    /// Moves nghttp2's pending frames into the socket buffer, up to a bound: while the
    /// kernel is backed up we stop asking, and streams' data waits in their own buffers.
    private func pumpOutput(into connection: any ByteStream) {
        while true {
            guard connection.outboundBytes < core.configuration.socketHighWaterBytes else {
                // What stays in nghttp2 is asked for once the socket took this (`connectionDrained`).
                heldBackOutput = nghttp2_session_want_write(session) != 0
                return
            }
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            if count < 0 {
                core.logger.warning("nghttp2_session_mem_send failed", metadata: ["error": "\(NGHTTP2Error.describe(Int32(count)))"])
                connection.close()
                return
            }
            if count == 0 { return }
            connection.write(UnsafeRawBufferPointer(start: data, count: count))
        }
    }

    func connectionDrained(_ connection: any ByteStream) {
        guard heldBackOutput else { return }
        heldBackOutput = false
        // Next iteration, not in this flush pass: a fast reader must not keep the loop here.
        loop.executeAfterIteration { [weak self] in self?.connection?.scheduleFlush() }
    }

    func connectionClosed(_ connection: any ByteStream) {
        closed = true
        idleTimer?.cancel()
        pingTimer?.cancel()
        eofTimer?.cancel()
        stallTimer?.cancel()
        for stream in streams.values {
            // A far deadline (grpc-timeout allows 99999999H) would keep its timer, and the
            // stream it captures, alive long after the connection.
            stream.deadlineTimer?.cancel()
            cancelHandler(of: stream, reason: "connection closed")
            core.requestBytes.release(stream.bufferedBytes)
            stream.bufferedBytes = 0
        }
        streams.removeAll()
        bufferedRequestBytes = 0
        core.unregister(self)
    }

    /// Sends whatever nghttp2 still has (a GOAWAY, typically) and closes.
    private func terminate() {
        guard let connection, !connection.isClosed else { return }
        pumpOutput(into: connection)
        connection.shutdownOutput()
        connection.close()
    }

    // MARK: Timers: keepalive pings and idle connections

    private func armTimers() {
        let config = core.configuration
        if let idle = config.idleTimeoutNanoseconds {
            idleTimer = loop.schedule(afterNanoseconds: idle) { [weak self] in self?.idleCheck() }
        }
        if let interval = config.keepaliveIntervalNanoseconds {
            pingTimer = loop.schedule(afterNanoseconds: interval) { [weak self] in self?.keepalive() }
        }
    }

    private func idleCheck() {
        guard let idle = core.configuration.idleTimeoutNanoseconds, !closed else { return }
        let now = monotonicNanoseconds()
        if streams.isEmpty && now - lastCallActivity >= idle {
            core.logger.debug("closing idle connection", metadata: ["peer": "\(connection?.peer ?? "?")"])
            beginDrain()
        } else {
            // Next look when this connection could first have been idle long enough.
            idleTimer = loop.schedule(at: max(now, lastCallActivity) + idle) { [weak self] in self?.idleCheck() }
        }
    }

    /// PINGs a silent connection; closes it when the PING stays unanswered (no bytes at all)
    /// for the keepalive timeout: a peer that vanished or stopped reading holds nothing.
    private func keepalive() {
        guard let interval = core.configuration.keepaliveIntervalNanoseconds, !closed else { return }
        let now = monotonicNanoseconds()
        if let sentAt = pingSentAt {
            if now - sentAt >= core.configuration.keepaliveTimeoutNanoseconds {
                core.logger.info("closing connection: keepalive PING unanswered", metadata: ["peer": "\(connection?.peer ?? "?")"])
                forceClose(Status(code: .unavailable, message: "the connection stopped answering keepalive PINGs"))
                return
            }
        } else if now - lastActivity >= interval {
            _ = nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nil)
            pingSentAt = now
            connection?.scheduleFlush()
        }
        let next = pingSentAt.map { $0 + core.configuration.keepaliveTimeoutNanoseconds } ?? max(now, lastActivity) + interval
        pingTimer = loop.schedule(at: next) { [weak self] in self?.keepalive() }
    }

    // MARK: Graceful shutdown

    /// First phase of the two-phase GOAWAY: tell the client no new streams are welcome.
    func beginDrain() {
        guard !draining, !closed else { return }
        draining = true
        _ = nghttp2_submit_shutdown_notice(session)
        connection?.scheduleFlush()
        // Second phase one round trip later (streams the client opened meanwhile still count).
        loop.schedule(afterNanoseconds: 100_000_000) { [weak self] in
            guard let self, !self.closed else { return }
            _ = nghttp2_submit_goaway(
                self.session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(self.session),
                UInt32(NGHTTP2_NO_ERROR.rawValue), nil, 0)
            self.connection?.scheduleFlush()
        }
    }

    /// Ends every remaining call with `status` (UNAVAILABLE: the drain timeout passed) and
    /// closes.
    func forceClose(_ status: Status = Status(code: .unavailable, message: "the server is shutting down; retry elsewhere")) {
        guard !closed else { return }
        for stream in streams.values where stream.phase != .closed {
            cancelHandler(of: stream, reason: status.message, code: status.code)
            finish(stream, status: status, trailers: Metadata())
        }
        connection?.scheduleFlush()
        loop.executeAfterIteration { [weak self] in self?.terminate() }
    }

    var hasActiveStreams: Bool { !streams.isEmpty }

    static let gzip = Array("gzip".utf8)
    private static let identity = Array("identity".utf8)
}

// MARK: - Requests

extension ServerConnection {
    /// The open stream with `id` (one dictionary lookup per run of callbacks, not per header).
    func stream(_ id: Int32) -> ServerStream? {
        if let last = lastStream, last.id == id { return last }
        lastStream = streams[id]
        return lastStream
    }

    func beginStream(_ id: Int32) {
        guard !draining || id <= nghttp2_session_get_last_proc_stream_id(session) else { return }
        streams[id] = ServerStream(id: id, maxMessageBytes: core.configuration.maxReceiveMessageBytes)
        lastCallActivity = monotonicNanoseconds()
    }

    /// One request header field: the few gRPC cares about are matched as bytes; the rest
    /// become call metadata.
    func header(_ stream: ServerStream, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        // HTTP/2's accounting (RFC 9113 §6.5.2); past the limit nothing more is kept.
        stream.headerBytes += name.count + value.count + 32
        guard stream.headerBytes <= core.configuration.maxHeaderListBytes else {
            stream.headerProblem = RPCError(code: .resourceExhausted, message: "request headers exceed \(core.configuration.maxHeaderListBytes) bytes")
            return
        }
        if name.first == UInt8(ascii: ":") {
            if name.equals(":path") {
                stream.route = core.route(value)
                if stream.route == nil { stream.unknownPath = String(decoding: value, as: UTF8.self) }
            } else if name.equals(":method") {
                stream.methodIsPOST = value.equals("POST")
            }
            return  // other pseudo-headers (:scheme, :authority) are not metadata
        }
        switch name.count {
        case 12 where name.equals("content-type"):
            // application/grpc, optionally followed by +format or ;parameters.
            stream.contentTypeIsGRPC = value.count >= 16 && UnsafeRawBufferPointer(rebasing: value[0..<16]).equals("application/grpc")
                && (value.count == 16 || value[16] == UInt8(ascii: "+") || value[16] == UInt8(ascii: ";"))
            if !stream.contentTypeIsGRPC { stream.otherContentType = String(decoding: value, as: UTF8.self) }
            return
        case 2 where name.equals("te"):
            stream.teSeen = true
            stream.teIsTrailers = value.equals("trailers")
            return
        case 12 where name.equals("grpc-timeout"):
            stream.timeout = Array(value)
            return
        case 13 where name.equals("grpc-encoding"):
            stream.encoding = Array(value)
            return
        case 20 where name.equals("grpc-accept-encoding"):
            stream.clientAcceptsGzip = String(decoding: value, as: UTF8.self).split(separator: ",")
                .contains { $0.trimmingSpaces == "gzip" }
            return
        case 10 where name.equals("user-agent"), 4 where name.equals("host"), 14 where name.equals("content-length"):
            return
        default:
            break
        }
        if name.count == 13 && name.equals("authorization") {
            stream.metadata.append(Metadata.Entry(key: "authorization", value: .text(repeatedAuthorization(value))))
            return
        }
        let key = String(decoding: name, as: UTF8.self)
        if name.count > 4 && UnsafeRawBufferPointer(rebasing: name[(name.count - 4)...]).equals("-bin") {
            guard let decoded = Base64.decode(value) else {
                stream.headerProblem = RPCError(code: .invalidArgument, message: "metadata '\(key)' is not valid base64")
                return
            }
            stream.metadata.append(Metadata.Entry(key: key, value: .binary(decoded)))
        } else {
            stream.metadata.append(Metadata.Entry(key: key, value: .text(String(decoding: value, as: UTF8.self))))
        }
    }

    /// The `authorization` value as a String, the same instance as the connection's last one
    /// when the bytes repeat it (a client sends the same credentials on every call): no
    /// allocation or UTF-8 check per call, and comparing it with what the connection's scope
    /// remembers is an identity check.
    private func repeatedAuthorization(_ value: UnsafeRawBufferPointer) -> String {
        var last = lastAuthorization
        let same = last.utf8.count == value.count && last.withUTF8 { value.equals(UnsafeRawBufferPointer($0)) }
        if same { return last }
        lastAuthorization = String(decoding: value, as: UTF8.self)
        return lastAuthorization
    }

    /// The request headers are complete: validate, route, arm the deadline.
    func requestHeadersComplete(_ stream: ServerStream, endStream: Bool) {
        guard stream.phase == .receivingHeaders else { return }  // trailers from the client: ignored
        stream.phase = .receivingMessage
        guard stream.contentTypeIsGRPC else {
            respondHTTPError(stream, httpStatus: "415", grpcCode: .invalidArgument, message: "content-type must be application/grpc, got '\(stream.otherContentType)'")
            return
        }
        guard stream.methodIsPOST else {
            respondHTTPError(stream, httpStatus: "405", grpcCode: .unimplemented, message: "gRPC requires the POST method")
            return
        }
        guard stream.teIsTrailers else {
            finish(stream, status: Status(code: .internal, message: stream.teSeen ? "the te header must be \"trailers\"" : "missing \"te: trailers\" header"), trailers: Metadata())
            return
        }
        if let problem = stream.headerProblem {
            finish(stream, status: problem.status, trailers: Metadata())
            return
        }
        if let timeout = stream.timeout {
            guard let nanoseconds = GRPCTimeout.parse(timeout) else {
                finish(stream, status: Status(code: .invalidArgument, message: "malformed grpc-timeout '\(String(decoding: timeout, as: UTF8.self))'"), trailers: Metadata())
                return
            }
            let now = monotonicNanoseconds()
            stream.deadline = nanoseconds > UInt64.max - now ? UInt64.max : now + nanoseconds
        }
        if let encoding = stream.encoding, encoding != Self.identity, encoding != Self.gzip {
            var trailers = Metadata()
            trailers.add("grpc-accept-encoding", "gzip,identity")
            finish(stream, status: Status(code: .unimplemented, message: "unsupported grpc-encoding '\(String(decoding: encoding, as: UTF8.self))' (supported: gzip, identity)"), trailers: trailers)
            return
        }
        guard let route = stream.route else {
            let path = stream.unknownPath ?? ""
            let service = path.split(separator: "/").first.map(String.init) ?? ""
            let known = core.services.contains(service)
            finish(stream, status: Status(code: .unimplemented, message: known ? "unknown method \(path)" : "unknown service \(service)"), trailers: Metadata())
            return
        }
        if let deadline = stream.deadline {
            stream.deadlineTimer = loop.schedule(at: deadline) { [weak self, weak stream] in
                guard let self, let stream else { return }
                self.deadlineExpired(stream)
            }
        }
        if case .requestStream = route.method.body {
            // Client-streaming and bidirectional handlers read the messages as they come.
            let requests = RequestQueue()
            requests.clientFinished = endStream
            stream.requests = requests
            startHandler(stream, method: route.method, payload: [], requestWasCompressed: false)
        } else if endStream {
            requestComplete(stream)
        } else {
            stream.lastRequestBytesAt = monotonicNanoseconds()
            armStallTimer(at: stream.lastRequestBytesAt + core.configuration.requestStallTimeoutNanoseconds)
        }
    }

    /// One timer per connection finds the calls whose request stopped arriving: a peer that
    /// announces a message and stalls must not hold its bytes (and a stream) forever.
    func armStallTimer(at deadline: UInt64) {
        guard stallTimer == nil, !closed else { return }
        stallTimer = loop.schedule(at: deadline) { [weak self] in
            guard let self else { return }
            self.stallTimer = nil
            self.endStalledRequests()
        }
    }

    private func endStalledRequests() {
        let timeout = core.configuration.requestStallTimeoutNanoseconds
        let now = monotonicNanoseconds()
        var next: UInt64?
        for stream in Array(streams.values) where stream.awaitsRequestBytes {
            let due = stream.lastRequestBytesAt + timeout
            if due <= now {
                core.logger.info("request stalled", metadata: ["path": "\(stream.path)", "peer": "\(connection?.peer ?? "?")"])
                refuse(stream, Status(code: .cancelled, message: "the request stopped arriving (no bytes for \(timeout / 1_000_000_000) s)"))
            } else {
                next = min(next ?? due, due)
            }
        }
        if let next { armStallTimer(at: next) }
    }

    func requestData(_ stream: ServerStream, _ bytes: UnsafeRawBufferPointer) {
        guard stream.phase == .receivingMessage || (stream.phase == .running && stream.requests != nil) else {
            discardData(stream.id, bytes.count)  // already answered: drop, but keep the window open
            return
        }
        stream.lastRequestBytesAt = lastActivity
        // Memory bound, server-wide: bytes past the hard budget end the call at once (they
        // are dropped); past the soft budget, or this connection's own, credit is withheld so
        // the peer's window runs dry. Withheld credit returns as bytes are released (here or,
        // for the server-wide budget, on any connection: `returnWithheldCredit`).
        guard core.requestBytes.reserve(bytes.count) else {
            discardData(stream.id, bytes.count)
            core.logger.notice("request refused: server-wide request byte budget exhausted", metadata: [
                "path": "\(stream.path)", "peer": "\(connection?.peer ?? "?")", "budget": "\(core.requestBytes.hardLimit)"])
            refuse(stream, Status(code: .resourceExhausted, message: "the server holds too many unfinished request bytes right now; retry later"))
            return
        }
        stream.bufferedBytes += bytes.count
        bufferedRequestBytes += bytes.count
        let withinBudgets = bufferedRequestBytes <= requestBudget && !core.requestBytes.overSoftLimit
        if let requests = stream.requests, requests.reader == nil, isBehind(stream, requests) {
            // The handler is behind: the stream's credit returns as it reads (`nextRequest`);
            // the connection's now, so other calls never wait behind a slow handler.
            requests.heldCredit += bytes.count
            if withinBudgets {
                _ = nghttp2_session_consume_connection(session, bytes.count)
            } else {
                withheldConnectionCredit += bytes.count
                withheldBytes += bytes.count
                if core.requestBytes.overSoftLimit { awaitRelief() }
            }
        } else if withinBudgets {
            _ = nghttp2_session_consume(session, stream.id, bytes.count)
        } else {
            stream.withheldCredit += bytes.count
            withheldBytes += bytes.count
            if core.requestBytes.overSoftLimit { awaitRelief() }
        }
        do throws(MessageDeframer.Failure) {
            try stream.deframer.append(bytes)
        } catch {
            switch error {
            case .tooLarge(let announced):
                refuse(stream, Status(code: .resourceExhausted, message: "request message of \(announced) bytes exceeds the limit of \(core.configuration.maxReceiveMessageBytes) bytes"))
            case .badFlag(let flag):
                refuse(stream, Status(code: .internal, message: "invalid message flag byte \(flag)"))
            }
            return
        }
        if let requests = stream.requests {
            queueRequests(stream, requests)
            return
        }
        for message in stream.deframer.takeMessages() {
            if stream.requestMessage == nil { stream.requestMessage = message } else { stream.extraRequestMessage = true }
        }
        if stream.extraRequestMessage {
            finish(stream, status: Status(code: .internal, message: "\(stream.path) takes exactly one request message"), trailers: Metadata())
            resetAfterResponse(stream)
        }
    }

    /// Data nobody holds (an unknown or answered stream): return its window at once.
    func discardData(_ id: Int32, _ count: Int) {
        if nghttp2_session_consume(session, id, count) != 0 {
            _ = nghttp2_session_consume_connection(session, count)
        }
    }

    /// `stream` no longer holds request bytes: take them off the budgets and return credit
    /// withheld from it and, while under budget again, from the others.
    func releaseRequestBytes(_ stream: ServerStream) {
        bufferedRequestBytes -= stream.bufferedBytes
        core.requestBytes.release(stream.bufferedBytes)
        stream.bufferedBytes = 0
        if stream.withheldCredit > 0 {
            discardData(stream.id, stream.withheldCredit)
            withheldBytes -= stream.withheldCredit
            stream.withheldCredit = 0
        }
        if let requests = stream.requests, requests.heldCredit > 0 {
            // Stream credit only (the connection's went back or waits in the budget).
            _ = nghttp2_session_consume_stream(session, stream.id, requests.heldCredit)
            requests.heldCredit = 0
        }
        returnWithheldCredit()
    }

    /// Registers with the server-wide budget (once) to hear when it has room again.
    func awaitRelief() {
        guard !waitingForRelief else { return }
        waitingForRelief = true
        core.requestBytes.waitForRelief(LoopBound(value: self, loop: loop))
    }

    /// Returns the credit withheld from streams while this connection and the server are
    /// both under their budgets again.
    func returnWithheldCredit() {
        guard !closed, bufferedRequestBytes <= requestBudget else { return }
        waitingForRelief = false
        // The common case, checked without visiting every stream (this runs once per call).
        guard withheldBytes > 0 else { return }
        if core.requestBytes.overSoftLimit {
            awaitRelief()
            return
        }
        for other in streams.values where other.withheldCredit > 0 {
            _ = nghttp2_session_consume(session, other.id, other.withheldCredit)
            other.withheldCredit = 0
        }
        if withheldConnectionCredit > 0 {
            _ = nghttp2_session_consume_connection(session, withheldConnectionCredit)
            withheldConnectionCredit = 0
        }
        withheldBytes = 0
        connection?.scheduleFlush()
    }

    var requestBudget: Int {
        max(core.configuration.maxBufferedRequestBytesPerConnection, core.configuration.maxReceiveMessageBytes + 5)
    }

    /// The client half-closed: the request is complete. Start the handler.
    func requestComplete(_ stream: ServerStream) {
        if let requests = stream.requests {
            clientFinished(stream, requests)
            return
        }
        guard stream.phase == .receivingMessage, let method = stream.route?.method else { return }
        if stream.deframer.hasPartialMessage {
            finish(stream, status: Status(code: .internal, message: "the request ended inside a message (its length prefix promised more bytes)"), trailers: Metadata())
            return
        }
        guard let message = stream.requestMessage else {
            finish(stream, status: Status(code: .internal, message: "\(stream.path) received no request message"), trailers: Metadata())
            return
        }
        stream.requestMessage = nil
        releaseRequestBytes(stream)
        var payload = message.payload
        if message.compressed {
            guard let encoding = stream.encoding, encoding == Self.gzip else {
                finish(stream, status: Status(code: .internal, message: "compressed message without a grpc-encoding"), trailers: Metadata())
                return
            }
            do {
                payload = try Gzip.decompress(payload, limit: core.configuration.maxReceiveMessageBytes)
            } catch .tooLarge {
                finish(stream, status: Status(code: .resourceExhausted, message: "decompressed request exceeds the limit of \(core.configuration.maxReceiveMessageBytes) bytes"), trailers: Metadata())
                return
            } catch {
                finish(stream, status: Status(code: .internal, message: "the request is not valid gzip"), trailers: Metadata())
                return
            }
        }
        startHandler(stream, method: method, payload: payload, requestWasCompressed: message.compressed)
    }

    /// Runs the handler of `stream` as a task on this loop; its outcome becomes the status.
    /// `payload` is the request of a one-request method (empty for streaming ones).
    ///
    /// The task starts at once, on this thread, inside the nghttp2 callback that completed
    /// the request: a handler that never suspends (a health check, a cached read) has its
    /// response submitted before this loop iteration's write, not one iteration later, and no
    /// job is enqueued for it. Past its first suspension it resumes on this loop as before.
    private func startHandler(_ stream: ServerStream, method: ServerMethod, payload: [UInt8], requestWasCompressed: Bool) {
        let callContext = ServerContext(
            method: method.descriptor, requestMetadata: stream.metadata, deadline: stream.deadline,
            peer: connection?.peer ?? "unknown", requestWasCompressed: requestWasCompressed, connection: scope)
        stream.context = callContext
        stream.phase = .running
        if let answer = method.inlineAnswer, answerInline(stream, answer, payload: payload, context: callContext) { return }
        let sink = StreamSink(connection: self, stream: stream)
        let logger = core.logger
        let task = Task.immediate(executorPreference: loop) {
            let status: Status
            let trailers: Metadata
            do {
                switch method.body {
                case .oneRequest(let handler):
                    try await handler(payload, callContext, sink)
                case .requestStream(let handler):
                    try await handler(StreamRequests(connection: sink.connection, stream: sink.stream), callContext, sink)
                }
                if sink.handOverIfDetached() { return }
                status = .ok
                trailers = callContext.trailingMetadata
            } catch {
                let outcome = callOutcome(of: error, context: callContext, logger: logger)
                status = outcome.status
                trailers = outcome.trailers
            }
            sink.complete(status: status, trailers: trailers)
        }
        // Kept only while the handler still runs: one that finished or handed the call over
        // before its first suspension is done with its task.
        if stream.phase == .running && !stream.detached { stream.task = task }
    }

    /// Tries the method's inline answer; false when it declined (the handler runs instead).
    /// An answer or an error ends the call here, as the handler's would.
    private func answerInline(_ stream: ServerStream, _ answer: InlineAnswer.Attempt, payload: [UInt8], context: ServerContext) -> Bool {
        do {
            guard let response = try answer(payload, context) else { return false }
            try write(stream, frame: response, compressed: context.compressResponses)
            finish(stream, status: .ok, trailers: context.trailingMetadata)
        } catch {
            let (status, trailers) = callOutcome(of: error, context: context, logger: core.logger)
            finish(stream, status: status, trailers: trailers)
        }
        return true
    }

    private func deadlineExpired(_ stream: ServerStream) {
        guard stream.phase != .closed, stream.phase != .finishing else { return }
        cancelHandler(of: stream, reason: "deadline exceeded", code: .deadlineExceeded)
        finish(stream, status: Status(code: .deadlineExceeded, message: "deadline exceeded"), trailers: Metadata())
    }

    /// The stream closed (END_STREAM both ways, RST_STREAM, or connection loss).
    func streamClosed(_ id: Int32, errorCode: UInt32) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        if lastStream === stream { lastStream = nil }
        lastCallActivity = monotonicNanoseconds()
        releaseRequestBytes(stream)
        let wasRunning = stream.phase == .running || stream.phase == .receivingMessage || stream.phase == .receivingHeaders
        stream.phase = .closed
        stream.deadlineTimer?.cancel()
        if wasRunning && (stream.task != nil || stream.onClose != nil) {
            core.logger.info("rpc cancelled by the client", metadata: ["path": "\(stream.path)", "peer": "\(connection?.peer ?? "?")", "http2_error": "\(errorCode)"])
        }
        cancelHandler(of: stream, reason: wasRunning ? "the client cancelled the call (stream closed, HTTP/2 error \(errorCode))" : "stream closed")
        if (draining || peerFinishedSending) && streams.isEmpty { connection?.scheduleFlush() }
    }

    /// The call ended under its handler: cancel its task; a write or request read it waits
    /// in throws `code` (the request stream of a streaming call throws it from now on).
    func cancelHandler(of stream: ServerStream, reason: String, code: StatusCode = .cancelled) {
        stream.drainWaiter = nil
        stream.task?.cancel()
        stream.task = nil
        stream.takeOnClose()?()
        stream.requests?.fail(RPCError(code: code, message: reason))
        if let writer = stream.writerWaiting {
            stream.writerWaiting = nil
            writer.resume(throwing: RPCError(code: .cancelled, message: reason))
        }
    }

    /// Ends a call early with `status` (its request broke a rule, stalled, or can never
    /// finish): the status goes out, the client is told to stop sending, and a streaming
    /// handler already running is cancelled (its request stream throws `status`).
    func refuse(_ stream: ServerStream, _ status: Status) {
        finish(stream, status: status, trailers: Metadata())
        if stream.requests == nil {
            resetAfterResponse(stream)
        } else {
            cancelHandler(of: stream, reason: status.message, code: status.code)
        }
    }

    /// After answering early, tell the client to stop sending the rest of its request —
    /// once the status has left: a reset queued now could overtake it (nghttp2 sends
    /// RST_STREAM ahead of HEADERS), and the client would never see the status.
    func resetAfterResponse(_ stream: ServerStream) {
        stream.resetAfterResponse = true
    }

    /// A response header block (headers, trailers or Trailers-Only) could not be submitted
    /// or sent: no status will reach the client, so the stream is reset (INTERNAL_ERROR;
    /// clients report INTERNAL) instead of being left to hang.
    func responseHeadersNotSent(_ id: Int32, reason: Int32) {
        core.logger.warning("response headers not sent: resetting the stream", metadata: [
            "stream": "\(id)", "path": "\(streams[id]?.path ?? "?")", "error": "\(NGHTTP2Error.describe(reason))"])
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, UInt32(NGHTTP2_INTERNAL_ERROR.rawValue))
        connection?.scheduleFlush()
    }

    /// The response's last HEADERS frame (trailers or Trailers-Only) was sent.
    func responseEnded(_ id: Int32) {
        guard let stream = streams[id], stream.resetAfterResponse else { return }
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, UInt32(NGHTTP2_NO_ERROR.rawValue))
    }
}

// MARK: - Responses

extension ServerConnection {
    /// Queues a response message (called by the handler's sink on this loop).
    func write(_ stream: ServerStream, frame message: EncodedMessage, compressed: Bool) throws(RPCError) {
        guard stream.phase == .running else { throw RPCError(code: .cancelled, message: "the call is over") }
        guard message.payloadCount <= core.configuration.maxSendMessageBytes else {
            throw RPCError(code: .resourceExhausted, message: "response message of \(message.payloadCount) bytes exceeds the send limit of \(core.configuration.maxSendMessageBytes) bytes")
        }
        if !stream.headersSent {
            stream.respondsCompressed = stream.clientAcceptsGzip && (compressed || (stream.context?.compressResponses ?? false))
        }
        if compressed && stream.respondsCompressed {
            let packed = message.frame.withUnsafeBytes { Gzip.compress(UnsafeRawBufferPointer(rebasing: $0[5...])) }
            let length = UInt32(packed.count)
            stream.outbound += [1, UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            stream.outbound += packed
        } else {
            if stream.outboundCount == 0 {
                // The common case (a unary response, a stream the peer keeps up with):
                // take the encoded frame as the buffer, no copy.
                stream.outbound = message.frame
                stream.outboundOffset = 0
            } else {
                stream.outbound += message.frame
            }
        }
        scheduleData(stream)
    }

    /// Whether the writer of `stream` must wait for the peer to read.
    func isOverBudget(_ stream: ServerStream) -> Bool {
        stream.outboundCount > core.configuration.streamHighWaterBytes
    }

    /// The handler is done: trailers follow the buffered messages (or Trailers-Only).
    func finish(_ stream: ServerStream, status: Status, trailers: Metadata) {
        guard stream.phase != .finishing, stream.phase != .closed else { return }
        stream.phase = .finishing
        if let requests = stream.requests {
            // The handler may still read: from now on its request stream throws.
            requests.fail(RPCError(code: status.code == .ok ? .cancelled : status.code, message: status.code == .ok ? "the call is over" : status.message))
            if !requests.clientFinished { resetAfterResponse(stream) }
        }
        releaseRequestBytes(stream)
        stream.deadlineTimer?.cancel()
        stream.pendingStatus = (status, trailers)
        if stream.headersSent {
            _ = nghttp2_session_resume_data(session, stream.id)
        } else {
            // Trailers-Only: one HEADERS frame with END_STREAM carrying the status.
            var headers = HeaderList()
            headers.add(":status", "200")
            headers.add("content-type", "application/grpc")
            addStatus(status, trailers: trailers, to: &headers)
            stream.headersSent = true
            let rv = headers.withNV { nghttp2_submit_response(session, stream.id, $0, $1, nil) }
            if rv != 0 { responseHeadersNotSent(stream.id, reason: rv) }
        }
        connection?.scheduleFlush()
    }

    /// A request that is not gRPC at all gets an HTTP status (and, for gRPC-aware
    /// clients, the closest gRPC status).
    private func respondHTTPError(_ stream: ServerStream, httpStatus: StaticString, grpcCode: StatusCode, message: String) {
        stream.phase = .finishing
        var headers = HeaderList()
        headers.add(":status", httpStatus)
        headers.add("content-type", "application/grpc")
        addStatus(Status(code: grpcCode, message: message), trailers: Metadata(), to: &headers)
        stream.headersSent = true
        let rv = headers.withNV { nghttp2_submit_response(session, stream.id, $0, $1, nil) }
        if rv != 0 { responseHeadersNotSent(stream.id, reason: rv) }
        connection?.scheduleFlush()
    }

    private func addStatus(_ status: Status, trailers: Metadata, to headers: inout HeaderList) {
        headers.add("grpc-status", String(status.code.rawValue))
        if !status.message.isEmpty { headers.add("grpc-message", PercentEncoding.encodeStatusMessage(status.message)) }
        addMetadata(trailers, to: &headers)
    }

    private func addMetadata(_ metadata: Metadata, to headers: inout HeaderList) {
        for entry in metadata {
            switch entry.value {
            case .text(let text): headers.add(entry.key, text)
            case .binary(let bytes): headers.add(entry.key, Base64.encode(bytes))
            }
        }
    }

    private func scheduleData(_ stream: ServerStream) {
        if stream.headersSent {
            _ = nghttp2_session_resume_data(session, stream.id)
        } else {
            stream.headersSent = true
            var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: ServerCallbacks.readResponseData)
            let rv: Int32
            if !stream.respondsCompressed && (stream.context?.initialMetadata.isEmpty ?? true) {
                rv = StaticHeaders.plainResponse.withUnsafeBufferPointer { nghttp2_submit_response(session, stream.id, $0.baseAddress, $0.count, &provider) }
            } else {
                var headers = HeaderList()
                headers.add(":status", "200")
                headers.add("content-type", "application/grpc")
                if stream.respondsCompressed { headers.add("grpc-encoding", "gzip") }
                headers.add("grpc-accept-encoding", "gzip,identity")
                if let context = stream.context { addMetadata(context.initialMetadata, to: &headers) }
                rv = headers.withNV { nghttp2_submit_response(session, stream.id, $0, $1, &provider) }
            }
            if rv != 0 { responseHeadersNotSent(stream.id, reason: rv) }
        }
        connection?.scheduleFlush()
    }

    /// nghttp2 asks for up to `length` bytes of DATA for `streamID`.
    func readResponseData(_ streamID: Int32, into buffer: UnsafeMutablePointer<UInt8>, length: Int, flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard let stream = stream(streamID) else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        let count = min(length, stream.outboundCount)
        if count > 0 {
            stream.outbound.withUnsafeBytes { bytes in
                UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + stream.outboundOffset, byteCount: count)
            }
            stream.outboundOffset += count
            if stream.outboundCount == 0 {
                // Drop the buffer rather than clear it: it is often a shared encoded frame.
                stream.outbound = []
                stream.outboundOffset = 0
            } else if stream.outboundOffset > 1 << 20 {
                stream.outbound.removeFirst(stream.outboundOffset)
                stream.outboundOffset = 0
            }
        }
        if stream.outboundCount <= core.configuration.streamLowWaterBytes {
            if let writer = stream.writerWaiting {
                stream.writerWaiting = nil
                writer.resume()
            }
            if let waiter = stream.drainWaiter {
                stream.drainWaiter = nil
                waiter()
            }
        }
        if stream.outboundCount == 0, let (status, trailers) = stream.pendingStatus {
            stream.pendingStatus = nil
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue | NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
            let rv: Int32
            if status.code == .ok && status.message.isEmpty && trailers.isEmpty {
                rv = StaticHeaders.okTrailers.withUnsafeBufferPointer { nghttp2_submit_trailer(session, streamID, $0.baseAddress, $0.count) }
            } else {
                var headers = HeaderList()
                addStatus(status, trailers: trailers, to: &headers)
                rv = headers.withNV { nghttp2_submit_trailer(session, streamID, $0, $1) }
            }
            if rv != 0 { responseHeadersNotSent(streamID, reason: rv) }
            return count
        }
        return count > 0 ? count : Int(NGHTTP2_ERR_DEFERRED.rawValue)
    }
}

/// The status and trailers a handler's error ends its call with.
private func callOutcome(of error: any Error, context: ServerContext, logger: Logger) -> (status: Status, trailers: Metadata) {
    switch error {
    case let error as RPCError:
        var merged = context.trailingMetadata
        for entry in error.metadata { merged.append(entry) }
        if let cause = error.cause { logger.debug("call failed", metadata: ["path": "\(context.method.path)", "status": "\(error.status)", "cause": "\(cause)"]) }
        return (error.status, merged)
    case is CancellationError:
        return (Status(code: .cancelled, message: "the call was cancelled"), Metadata())
    default:
        // Unexpected: log the details here, send nothing of them.
        logger.error("handler failed", metadata: ["path": "\(context.method.path)", "error": "\(error)"])
        return (Status(code: .internal, message: "internal error"), Metadata())
    }
}

/// The sink a handler writes to: forwards to its connection on the loop thread.
struct StreamSink: ServerResponseSink, @unchecked Sendable {
    var pushStream: (any ServerPushStream)? { PushHandle(connection: connection, stream: stream) }

    // Both are confined to `connection.loop`; every entry point below checks it.
    let connection: ServerConnection
    let stream: ServerStream

    func write(_ message: EncodedMessage, compressed: Bool) async throws {
        if !connection.loop.inEventLoop {
            // A handler that moved work to another executor: come back to the loop first.
            try await withTaskExecutorPreference(connection.loop) { try await write(message, compressed: compressed) }
            return
        }
        try Task.checkCancellation()
        try connection.write(stream, frame: message, compressed: compressed)
        if connection.isOverBudget(stream) {
            try await withCheckedThrowingContinuation { continuation in
                stream.writerWaiting = continuation
            }
        }
    }

    /// The handler returned having detached the call: the producer finishes it. What only
    /// the handler needed goes (the request headers; the context, unless the response
    /// headers still need its initial metadata or compression choice).
    func handOverIfDetached() -> Bool {
        connection.loop.preconditionInEventLoop()
        guard stream.detached else { return false }
        stream.task = nil
        stream.metadata = Metadata()
        if let context = stream.context, stream.headersSent || (context.initialMetadata.isEmpty && !context.compressResponses) {
            stream.context = nil
        }
        return true
    }

    func complete(status: Status, trailers: Metadata) {
        connection.loop.preconditionInEventLoop()
        stream.task = nil
        stream.takeOnClose()?()  // detached, then the handler threw: the producer hears of it
        connection.finish(stream, status: status, trailers: trailers)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
