import EventLoop
import RPC

/// The push interface of one server-streaming call (`ServerPushStream`): messages go
/// straight into the stream's outbound bytes, on the connection's loop, without a task
/// switch or a wait. The fan-out path of the EventHub.
final class PushHandle: ServerPushStream, @unchecked Sendable {
    // Both are confined to `connection.loop`; every entry point below checks it.
    private let connection: ServerConnection
    private let stream: ServerStream
    let executor: any CallExecutor

    init(connection: ServerConnection, stream: ServerStream) {
        self.connection = connection
        self.stream = stream
        executor = connection.core.executor(for: connection.loop)
    }

    func push(_ message: EncodedMessage) -> Bool {
        connection.loop.preconditionInEventLoop()
        do {
            try connection.write(stream, frame: message, compressed: false)
            return true
        } catch {
            return false
        }
    }

    var unsentBytes: Int {
        connection.loop.preconditionInEventLoop()
        return stream.outboundCount
    }

    func whenDrained(_ body: @escaping () -> Void) {
        connection.loop.preconditionInEventLoop()
        guard stream.phase == .running else { return }
        if stream.outboundCount <= connection.core.configuration.streamLowWaterBytes {
            body()
        } else {
            stream.drainWaiter = body
        }
    }
}

extension PushHandle {
    func detach(onClose: @escaping () -> Void) -> Bool {
        connection.loop.preconditionInEventLoop()
        guard stream.phase == .running, !stream.detached else { return false }
        stream.detached = true
        stream.onClose = onClose
        return true
    }

    func finish(status: Status, trailers: Metadata) {
        connection.loop.preconditionInEventLoop()
        // onClose is set exactly while the producer owns the call: once it ran (or runs now),
        // the call ended otherwise and that status stands.
        guard stream.phase == .running, stream.takeOnClose() != nil else { return }
        connection.finish(stream, status: status, trailers: trailers)
    }
}

/// An event loop as the `CallExecutor` of the calls it serves (one per loop, so its
/// identity names the loop).
final class LoopExecutor: CallExecutor, @unchecked Sendable {
    let loop: EventLoop

    init(loop: EventLoop) { self.loop = loop }

    func execute(_ work: @escaping @Sendable () -> Void) { loop.execute(work) }

    func schedule(afterNanoseconds nanoseconds: UInt64, _ work: @escaping () -> Void) -> any CallTimer {
        LoopCallTimer(timer: loop.schedule(afterNanoseconds: nanoseconds, work))
    }

    var isCurrent: Bool { loop.inEventLoop }
}

/// A loop timer as a `CallTimer`.
private final class LoopCallTimer: CallTimer {
    let timer: LoopTimer

    init(timer: LoopTimer) { self.timer = timer }

    func cancel() { timer.cancel() }
}
