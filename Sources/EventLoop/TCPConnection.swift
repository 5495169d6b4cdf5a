internal import CLinuxShim

#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking TCP socket on one event loop, with a buffered writer.
///
/// Output is appended with `write` and leaves once per loop iteration (`flush`), so many
/// small responses produced in one iteration cost one `write` system call. When the kernel
/// takes less than offered, the rest waits for EPOLLOUT; `outboundBytes` lets the protocol
/// stop producing while the socket is backed up.
public final class TCPConnection: ByteStream, Selectable, Flushable {
    public let loop: EventLoop
    /// The socket; owned by this object, closed exactly once in `close()`.
    private let fd: Int32
    private var token: UInt64 = 0
    public var handler: (any ConnectionHandler)?
    public let peer: String

    private var outbound: [UInt8] = []
    private var outboundOffset = 0
    private var flushScheduled = false
    private var waitingForWritable = false
    private var connecting = false
    /// The peer's FIN arrived: input is no longer watched (level-triggered epoll would
    /// report the EOF again on every iteration).
    private var readEOF = false
    private var onConnect: ((Result<Void, SystemCallError>) -> Void)?
    public private(set) var isClosed = false

    /// Bytes written by the protocol and not yet accepted by the kernel.
    public var outboundBytes: Int { outbound.count - outboundOffset }

    init(loop: EventLoop, fd: Int32, peer: String) {
        self.loop = loop
        self.fd = fd
        self.peer = peer
    }

    /// Starts watching the socket; `handler` must be set first.
    func start() throws(SystemCallError) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        token = try loop.register(fd: fd, events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue, self)
    }

    /// Opens a connection to `host:port` on `loop`; `completion` runs on the loop.
    public static func connect(
        on loop: EventLoop, host: String, port: Int, handler: any ConnectionHandler,
        completion: @escaping (Result<TCPConnection, SystemCallError>) -> Void
    ) {
        loop.preconditionInEventLoop()
        do throws(SystemCallError) {
            let address = try SocketAddress.resolve(host: host, port: port, passive: false)
            let fd = try systemCall("socket") { socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
            let connection = TCPConnection(loop: loop, fd: fd, peer: "\(host):\(port)")
            connection.handler = handler
            let status = address.withSockAddr { Glibc.connect(fd, $0, $1) }
            let error = errno
            if status != 0 && error != EINPROGRESS {
                Glibc.close(fd)
                throw SystemCallError(call: "connect", errno: error)
            }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            connection.connecting = true
            connection.onConnect = { result in
                switch result {
                case .success: completion(.success(connection))
                case .failure(let error): completion(.failure(error))
                }
            }
            connection.token = try loop.register(fd: fd, events: EPOLLOUT.rawValue | EPOLLIN.rawValue | EPOLLRDHUP.rawValue, connection)
        } catch {
            completion(.failure(error))
        }
    }

    // MARK: Writing

    /// Queues bytes; they are written at the end of this loop iteration.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, bytes.count > 0 else { return }
        if outboundOffset > 0 && outboundOffset == outbound.count {
            outbound.removeAll(keepingCapacity: true)
            outboundOffset = 0
        }
        outbound.append(contentsOf: bytes)
        scheduleFlush()
    }

    /// Asks for a flush at the end of this iteration (the handler may add output then).
    public func scheduleFlush() {
        guard !flushScheduled, !isClosed else { return }
        flushScheduled = true
        loop.scheduleFlush(self)
    }

    public func flush() {
        flushScheduled = false
        guard !isClosed, !connecting else { return }
        handler?.connectionWillFlush(self)
        guard !isClosed else { return }
        writeOutbound()
    }

    private func writeOutbound() {
        while outboundOffset < outbound.count {
            let written: Int?
            do {
                written = try outbound.withUnsafeBytes { buffer throws(SystemCallError) in
                    try nonBlockingCall("write") {
                        Glibc.send(fd, buffer.baseAddress! + outboundOffset, buffer.count - outboundOffset, Int32(MSG_NOSIGNAL))
                    }
                }
            } catch {
                // EPIPE / ECONNRESET: the peer is gone.
                close()
                return
            }
            guard let written else {
                waitForWritable(true)
                return
            }
            outboundOffset += written
        }
        outbound.removeAll(keepingCapacity: outbound.capacity <= 1 << 20)
        outboundOffset = 0
        waitForWritable(false)
        handler?.connectionDrained(self)
    }

    private func waitForWritable(_ wait: Bool) {
        guard wait != waitingForWritable, !isClosed else { return }
        waitingForWritable = wait
        updateInterest()
    }

    /// Tells epoll what to report: input until the peer's EOF, output while a write waits.
    private func updateInterest() {
        let events = (readEOF ? 0 : EPOLLIN.rawValue | EPOLLRDHUP.rawValue) | (waitingForWritable ? EPOLLOUT.rawValue : 0)
        do { try loop.modify(fd: fd, token: token, events: events) } catch { close() }
    }

    // MARK: Selectable

    public func readable() {
        guard !isClosed else { return }
        if readEOF {
            // Only EPOLLHUP/EPOLLERR reach a stream past its EOF: reset, or both sides shut.
            close()
            return
        }
        let buffer = loop.readBuffer
        // Bounded reads per wake-up so one busy connection cannot starve the loop.
        for _ in 0..<4 {
            let count: Int?
            do {
                count = try nonBlockingCall("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
            } catch {
                close()
                return
            }
            guard let count else { return }
            if count == 0 {
                readEOF = true
                updateInterest()
                handler?.connectionReadEOF(self)
                return
            }
            handler?.connection(self, received: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            if isClosed || count < buffer.count { return }
        }
    }

    public func writable() {
        if connecting {
            connecting = false
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            let callback = onConnect
            onConnect = nil
            if error != 0 {
                callback?(.failure(SystemCallError(call: "connect", errno: error)))
                close()
                return
            }
            waitingForWritable = true
            callback?(.success(()))
            scheduleFlush()
            return
        }
        writeOutbound()
        // The kernel took the backlog: let the protocol produce what it held back.
        if outboundBytes == 0 { scheduleFlush() }
    }

    /// Closes the socket now (unsent output is dropped) and tells the handler once.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        loop.deregister(fd: fd, token: token)
        Glibc.close(fd)
        outbound = []
        if let callback = onConnect {
            onConnect = nil
            callback(.failure(SystemCallError(call: "connect", errno: ECONNRESET)))
        }
        let handler = self.handler
        self.handler = nil
        handler?.connectionClosed(self)
    }

    /// Stops sending (FIN) once the buffered output is written; reading goes on.
    public func shutdownOutput() {
        guard !isClosed else { return }
        writeOutbound()
        if outboundBytes == 0 { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }
    }
}
