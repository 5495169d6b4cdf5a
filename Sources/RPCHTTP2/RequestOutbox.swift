import EventLoop
import RPC

/// The request messages of a client-streaming or bidirectional call on their way out: the
/// writer appends frames, nghttp2 takes them as the server's flow control allows. A writer
/// that gets ahead by more than `highWaterBytes` waits until the bytes fall to
/// `lowWaterBytes` (backpressure). Confined to `loop`.
final class RequestOutbox: @unchecked Sendable {
    let loop: EventLoop
    /// The call, for its connection and stream id once it started (it owns this outbox).
    private weak var call: CallHandle?
    private var bytes: [UInt8] = []
    private var offset = 0
    /// The writer half-closed: END_STREAM follows the bytes queued.
    private(set) var finished = false
    /// Why writing is over: the call ended (its status, or a note that it ended OK).
    private var endError: RPCError?
    /// Writers waiting for the queued bytes to drain (a `RequestWriter` may be shared by tasks).
    private var writers: [CheckedContinuation<Void, any Error>] = []

    static let highWaterBytes = 256 << 10
    static let lowWaterBytes = 64 << 10

    init(loop: EventLoop, call: CallHandle) {
        self.loop = loop
        self.call = call
    }

    var pendingCount: Int { bytes.count - offset }

    /// Queues one frame; `writer` resumes at once while under the high-water mark, else once
    /// the bytes drained, and throws once the call is over.
    func enqueue(_ frame: [UInt8], writer: CheckedContinuation<Void, any Error>) {
        loop.preconditionInEventLoop()
        if let endError {
            writer.resume(throwing: endError)
            return
        }
        guard !finished else {
            writer.resume(throwing: RPCError(code: .internal, message: "a request message was written after finish()"))
            return
        }
        if pendingCount == 0 {
            bytes = frame
            offset = 0
        } else {
            bytes += frame
        }
        poke()
        if pendingCount > Self.highWaterBytes {
            writers.append(writer)
        } else {
            writer.resume()
        }
    }

    /// Half-closes the request side (once); the server sees it after the queued bytes.
    func finish() {
        loop.preconditionInEventLoop()
        guard !finished, endError == nil else { return }
        finished = true
        poke()
    }

    /// Copies up to `length` queued bytes into `buffer` (nghttp2's read callback).
    func take(into buffer: UnsafeMutablePointer<UInt8>, length: Int) -> Int {
        let count = min(length, pendingCount)
        if count > 0 {
            bytes.withUnsafeBytes { UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
            offset += count
            if pendingCount == 0 {
                bytes = []
                offset = 0
            } else if offset > 1 << 20 {
                bytes.removeFirst(offset)
                offset = 0
            }
        }
        if pendingCount <= Self.lowWaterBytes, !writers.isEmpty {
            let waiting = writers
            writers = []
            for writer in waiting { writer.resume() }
        }
        return count
    }

    /// The call ended (the first report wins): queued bytes go, and writes throw from now on.
    func callEnded(_ status: Status, trailers: Metadata) {
        guard endError == nil else { return }
        let error = status.code == .ok
            ? RPCError(code: .cancelled, message: "the call already ended (the server finished it with OK)")
            : RPCError(code: status.code, message: status.message, metadata: trailers)
        endError = error
        bytes = []
        offset = 0
        let waiting = writers
        writers = []
        for writer in waiting { writer.resume(throwing: error) }
    }

    /// Cancels the call (a writer's task was cancelled).
    func cancelCall() {
        call?.cancel()
    }

    /// Tells nghttp2 there is something to send (the stream's data was deferred).
    private func poke() {
        guard let call, let connection = call.connection, call.streamID > 0 else { return }
        connection.resumeRequest(call.streamID)
    }
}
