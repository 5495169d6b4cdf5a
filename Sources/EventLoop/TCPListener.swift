internal import CLinuxShim

#if canImport(Glibc)
import Glibc
#endif

/// A listening socket on one loop. Several loops listen on the same port with
/// SO_REUSEPORT, so the kernel spreads new connections across cores.
public final class TCPListener: Selectable {
    public let loop: EventLoop
    /// The listening socket; owned here, closed in `close()`.
    private let fd: Int32
    private var token: UInt64 = 0
    public let port: Int
    /// The protocol for a new connection; nil refuses it (closed at once).
    private let makeHandler: (TCPConnection) -> (any ConnectionHandler)?
    private let onAcceptError: (SystemCallError) -> Void
    private var paused = false
    private var closed = false

    /// Binds and listens; call on `loop`'s thread. `port` 0 picks an ephemeral port.
    public init(
        loop: EventLoop, host: String, port: Int, backlog: Int32 = 4096,
        makeHandler: @escaping (TCPConnection) -> (any ConnectionHandler)?,
        onAcceptError: @escaping (SystemCallError) -> Void
    ) throws(SystemCallError) {
        loop.preconditionInEventLoop()
        self.loop = loop
        self.makeHandler = makeHandler
        self.onAcceptError = onAcceptError
        let address = try SocketAddress.resolve(host: host, port: port, passive: true)
        let fd = try systemCall("socket") {
            socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        self.fd = fd
        do {
            var one: Int32 = 1
            _ = try systemCall("setsockopt(SO_REUSEADDR)") { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) }
            _ = try systemCall("setsockopt(SO_REUSEPORT)") { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
            _ = try systemCall("bind(\(host):\(port))") { address.withSockAddr { bind(fd, $0, $1) } }
            _ = try systemCall("listen") { listen(fd, backlog) }
            self.port = SocketAddress.localPort(of: fd)
        } catch {
            Glibc.close(fd)
            throw error
        }
        token = try loop.register(fd: fd, events: EPOLLIN.rawValue, self)
    }

    public func readable() {
        guard !paused, !closed else { return }
        // Accept everything queued; each connection gets its handler before its first event.
        for _ in 0..<256 {
            let accepted: Int32?
            do {
                accepted = try nonBlockingCall("accept4") {
                    cellhub_accept4(fd, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
                }
            } catch {
                switch error.errno {
                case ECONNABORTED, EPROTO:
                    continue  // that client gave up; the next one may be fine
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors or memory: stop accepting for a moment instead of
                    // spinning on a listen queue we cannot drain.
                    onAcceptError(error)
                    pause(forNanoseconds: 100_000_000)
                    return
                default:
                    onAcceptError(error)
                    return
                }
            }
            guard let accepted else { return }
            let connection = TCPConnection(loop: loop, fd: accepted, peer: SocketAddress.peerDescription(of: accepted))
            guard let handler = makeHandler(connection) else {
                connection.close()
                continue
            }
            connection.handler = handler
            do {
                try connection.start()
            } catch {
                connection.close()
            }
        }
    }

    public func writable() {}

    private func pause(forNanoseconds delay: UInt64) {
        paused = true
        watch(events: 0)
        loop.schedule(afterNanoseconds: delay) { [weak self] in
            guard let self, !self.closed else { return }
            self.paused = false
            self.watch(events: EPOLLIN.rawValue)
            self.readable()
        }
    }

    /// Changes what epoll reports for the socket; a failure (ENOMEM) is reported, and the
    /// listener stays as it was: level-triggered epoll retries on the next event.
    private func watch(events: UInt32) {
        do {
            try loop.modify(fd: fd, token: token, events: events)
        } catch {
            onAcceptError(error)
        }
    }

    /// Stops accepting and closes the socket (loop thread).
    public func close() {
        guard !closed else { return }
        closed = true
        loop.deregister(fd: fd, token: token)
        Glibc.close(fd)
    }
}
