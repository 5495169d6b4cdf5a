@testable import EventLoop
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A protocol that stops producing at a high-water mark of unsent output (the server's
/// `socketHighWaterBytes`) relies on hearing when the kernel took everything. A flush that
/// only writes the backlog — the kernel drained before the loop saw EPOLLOUT — used to be
/// the last event: the rest waited for the peer to send something, which a client waiting
/// for those very bytes never does (h2load's 100-stream runs crawled at one batch per second
/// under CPU contention).
@Suite struct HeldBackOutputTests {
    /// Produces `chunks` chunks, none while `highWater` bytes wait for the socket.
    final class Producer: ConnectionHandler, @unchecked Sendable {  // confined to the loop
        let chunk = [UInt8](repeating: 0x2A, count: 64 << 10)
        let highWater = 32 << 10
        var remaining: Int
        var heldBack = false

        init(chunks: Int) { remaining = chunks }

        func connection(_ connection: any ByteStream, received bytes: UnsafeRawBufferPointer) {}
        func connectionReadEOF(_ connection: any ByteStream) {}
        func connectionClosed(_ connection: any ByteStream) {}

        func connectionWillFlush(_ connection: any ByteStream) {
            while connection.outboundBytes < highWater && remaining > 0 {
                chunk.withUnsafeBytes { connection.write($0) }
                remaining -= 1
            }
            heldBack = remaining > 0
        }

        func connectionDrained(_ connection: any ByteStream) {
            guard heldBack else { return }
            heldBack = false
            connection.loop.executeAfterIteration { connection.scheduleFlush() }
        }
    }

    @Test func aFlushThatOnlyWritesTheBacklogIsNotTheLastOne() throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let (ours, peer) = (fds[0], fds[1])
        defer { Glibc.close(peer) }
        _ = fcntl(ours, F_SETFL, fcntl(ours, F_GETFL) | O_NONBLOCK)
        var small: Int32 = 4 << 10
        setsockopt(ours, SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size))

        let loop = try EventLoop()
        let thread = Thread { loop.run() }
        thread.start()
        defer { loop.stop() }
        let chunks = 8
        let producer = Producer(chunks: chunks)
        let connection = LoopBound(TCPConnection(loop: loop, fd: ours, peer: "socketpair")).value
        connection.handler = producer
        let bound = LoopBound(connection)

        // 1. The first flush: one chunk, most of it left waiting (the kernel holds ~8 KiB).
        let started = Atomic(false)
        loop.execute {
            try? bound.value.start()
            bound.value.scheduleFlush()
            started.store(true, ordering: .releasing)
        }
        while !started.load(ordering: .acquiring) { usleep(1_000) }
        usleep(50_000)
        // 2. On the loop, before it can see EPOLLOUT: the kernel gets room for the whole
        // backlog, the peer reads what was sent, and something else asks for a flush. That
        // flush writes the backlog and produces nothing (the backlog was past the mark).
        let received = Mutex(0)
        loop.execute {
            var large: Int32 = 4 << 20
            setsockopt(ours, SOL_SOCKET, SO_SNDBUF, &large, socklen_t(MemoryLayout<Int32>.size))
            received.withLock { $0 += Self.readAvailable(peer) }
            bound.value.scheduleFlush()
        }
        // 3. Everything must arrive with nothing more from the peer's side.
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(peer, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while received.withLock({ $0 }) < chunks * producer.chunk.count {
            let count = buffer.withUnsafeMutableBytes { recv(peer, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received.withLock { $0 += count }
        }
        #expect(received.withLock { $0 } == chunks * producer.chunk.count, "the held-back chunks never left")
        loop.execute { bound.value.close() }
    }

    /// A loop-confined object handed to closures that run on its loop.
    final class LoopBound<Value>: @unchecked Sendable {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    /// What the peer can read right now, without waiting.
    static func readAvailable(_ fd: Int32) -> Int {
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            guard count > 0 else { return total }
            total += count
        }
    }
}
