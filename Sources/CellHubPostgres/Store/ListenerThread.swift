import CellHub
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Drives a `ChangeListener` from a thread of its own, blocked in `poll(2)` on the LISTEN
/// connection's socket and a stop pipe: for a store opened without an event loop (every
/// `cellhubd` command but `serve`, most tests), where the thread sleeps on two descriptors and
/// costs nothing while the database is quiet.
///
/// Everything the listener does runs on the thread, blocking calls included: connecting,
/// the read on the LISTEN connection after a notification, the safety poll.
final class ListenerThread: ChangeListenerDriver, @unchecked Sendable {
    private let listener: ChangeListener
    /// Written once by `stop` to end the thread's `poll`; both ends owned by this object,
    /// closed in deinit after the thread exited.
    private let stopPipe: (read: Int32, write: Int32)
    private let exited = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)

    init(_ listener: ChangeListener) {
        self.listener = listener
        var ends: [Int32] = [0, 0]
        let status = pipe(&ends)
        precondition(status == 0, "pipe failed: errno \(errno)")
        // Not inherited by processes the server starts.
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        stopPipe = (ends[0], ends[1])
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            Unmanaged<ListenerThread>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, box.toOpaque())
        precondition(created == 0, "pthread_create failed: \(created)")
        pthread_detach(thread)
    }

    deinit {
        close(stopPipe.read)
        close(stopPipe.write)
    }

    /// Ends the thread and closes its connection; returns once it is gone. Idempotent.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(stopPipe.write, &byte, 1)
        exited.wait()
    }

    private func run() {
        var connection: PGConnection?
        var backoff = ChangeListener.Backoff()
        var retryAt: Int64 = 0
        var safetyAt = ChangeListener.now() + listener.safetyIntervalMs
        while true {
            let now = ChangeListener.now()
            if connection == nil, now >= retryAt {
                connection = listener.open(retryInMs: backoff.delayMs)
                if connection == nil {
                    retryAt = now + backoff.failed()
                } else {
                    backoff.reset()
                }
            }
            let deadline = connection == nil ? min(safetyAt, retryAt) : safetyAt
            let event = wait(on: connection, untilMs: deadline)
            if event == .stop { break }
            if event == .readable, let open = connection, !read(open) {
                connection = nil
                backoff.reset()
                retryAt = ChangeListener.now()  // reconnect at once
            }
            if ChangeListener.now() >= safetyAt {
                safetyAt = ChangeListener.now() + listener.safetyIntervalMs
                listener.readThroughPool(.safetyPoll)
            }
        }
        listener.notListening()
        connection = nil  // PQfinish
        exited.signal()
    }

    /// Takes the input that arrived and, when it held a notification of the log, reads the
    /// snapshot on the same connection. False when the connection broke.
    private func read(_ connection: PGConnection) -> Bool {
        switch listener.takeInput(connection) {
        case .broken: false
        case .quiet: true
        case .logChanged: listener.catchUp(on: connection)
        }
    }

    private enum Event { case stop, readable, timeout }

    /// Sleeps in `poll` until the stop pipe or the connection's socket is readable, or the
    /// deadline (monotonic ms) passed.
    private func wait(on connection: PGConnection?, untilMs deadline: Int64) -> Event {
        var descriptors = [pollfd(fd: stopPipe.read, events: Int16(POLLIN), revents: 0)]
        if let connection { descriptors.append(pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0)) }
        while true {
            let timeout = Int32(clamping: max(0, deadline - ChangeListener.now()))
            let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if ready < 0 {
                let code = errno
                if code == EINTR { continue }
                preconditionFailure("poll failed: errno \(code): a bug in CellHub")
            }
            if descriptors[0].revents != 0 { return .stop }
            if descriptors.count > 1, descriptors[1].revents != 0 { return .readable }
            return .timeout
        }
    }
}
