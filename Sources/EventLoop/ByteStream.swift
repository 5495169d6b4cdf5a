/// The byte stream a protocol handler reads from and writes to: a TCP socket on an event
/// loop in production, memory in tests and fuzzers. Used on `loop`'s thread only.
public protocol ByteStream: AnyObject {
    var loop: EventLoop { get }
    /// The peer's address, for logs.
    var peer: String { get }
    var isClosed: Bool { get }
    /// Bytes written by the protocol and not yet taken by the other side.
    var outboundBytes: Int { get }
    /// Queues bytes; they leave at the end of the loop iteration.
    func write(_ bytes: UnsafeRawBufferPointer)
    /// Asks for `ConnectionHandler.connectionWillFlush` at the end of this iteration.
    func scheduleFlush()
    /// Stops sending (FIN) once the queued output has left.
    func shutdownOutput()
    /// Closes now (unsent output is dropped); the handler hears `connectionClosed` once.
    func close()
}

/// The protocol spoken over a byte stream (HTTP/2 here). Called on the loop thread only.
public protocol ConnectionHandler: AnyObject {
    /// Bytes arrived; they are valid only during the call.
    func connection(_ connection: any ByteStream, received bytes: UnsafeRawBufferPointer)
    /// The peer half-closed: it will send nothing more, and the stream stopped reading.
    func connectionReadEOF(_ connection: any ByteStream)
    /// Just before the stream writes its buffered output: the last chance to add to it.
    func connectionWillFlush(_ connection: any ByteStream)
    /// The stream is closed; release everything tied to it.
    func connectionClosed(_ connection: any ByteStream)
    /// Everything written so far went to the kernel without waiting: a protocol that held
    /// output back for the buffer's sake must ask for a flush now — no other event may come
    /// (the peer may be waiting for exactly those bytes).
    func connectionDrained(_ connection: any ByteStream)
}

extension ConnectionHandler {
    public func connectionDrained(_ connection: any ByteStream) {}
}

/// A byte stream in memory: what a test or fuzzer feeds in with `receive`, and what the
/// handler wrote, collected in `written`. Drive its loop with `EventLoop.runUntilIdle()`.
package final class MemoryByteStream: ByteStream, Flushable {
    package let loop: EventLoop
    package let peer = "memory"
    package var handler: (any ConnectionHandler)?
    package private(set) var isClosed = false
    package private(set) var outputShutDown = false
    /// Everything the handler wrote, in order.
    package var written: [UInt8] = []
    private var flushScheduled = false

    package init(loop: EventLoop) { self.loop = loop }

    package var outboundBytes: Int { 0 }

    package func write(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, !outputShutDown else { return }
        written.append(contentsOf: bytes)
    }

    package func scheduleFlush() {
        guard !flushScheduled, !isClosed else { return }
        flushScheduled = true
        loop.scheduleFlush(self)
    }

    package func flush() {
        flushScheduled = false
        guard !isClosed else { return }
        handler?.connectionWillFlush(self)
    }

    package func shutdownOutput() { outputShutDown = true }

    package func close() {
        guard !isClosed else { return }
        isClosed = true
        let handler = self.handler
        self.handler = nil
        handler?.connectionClosed(self)
    }

    /// Hands `bytes` to the handler as if they arrived from the peer.
    package func receive(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed else { return }
        handler?.connection(self, received: bytes)
    }

    /// The peer half-closed.
    package func receiveEOF() {
        guard !isClosed else { return }
        handler?.connectionReadEOF(self)
    }
}
