import CellHub
import Dispatch
import EventLoop
import Synchronization

/// Drives a `ChangeListener` from an event loop of the server (`PostgresStore.listen(on:)`):
/// the LISTEN connection's socket registered with the loop for readability, the reconnect and
/// safety-poll timers as loop timers, and whatever blocks on two serial queues off the loop.
///
/// On the loop runs only what cannot block: `PQconsumeInput` and `PQnotifies` when the socket
/// is readable (`PQconsumeInput` reads what the socket holds; the connection is in libpq's
/// nonblocking mode and nothing is ever sent on it from the loop). Off the loop, on
/// `connections`: opening the connection (`PQconnectdb`, the LISTEN and the catch-up read
/// all block) and closing it (`PQfinish`). On `reads`: the snapshot reads — after a
/// notification, and the safety poll — through the store's pool, one at a time, a request
/// made while one waits to start joining it. The reads do not use the LISTEN connection, so
/// the loop has it to itself from registration to release; and having their own queue they
/// go on while an opening hangs (a server that does not answer).
///
/// Stop it before its loop stops: `stop` waits for the loop to deregister the socket.
final class ListenerLoopDriver: ChangeListenerDriver, Selectable, @unchecked Sendable {
    private let listener: ChangeListener
    private let loop: EventLoop
    private let connections = DispatchQueue(label: "cellhub.listener.connections")
    private let reads = DispatchQueue(label: "cellhub.listener.reads")
    /// True while a read is queued on `reads` and has not started: later requests join it.
    private let readQueued = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)

    // Confined to the loop.
    /// The LISTEN connection while it is registered with the loop; owned here from
    /// registration until `release` hands it to `connections` to be closed.
    private var connection: PGConnection?
    /// Its socket as registered, and the token (libpq closes the socket itself when it finds
    /// the connection broken: `PQsocket` then says -1).
    private var registration: (fd: Int32, token: UInt64)?
    private var backoff = ChangeListener.Backoff()
    /// True from an opening's dispatch until its outcome is back on the loop.
    private var opening = false
    private var retryTimer: LoopTimer?
    private var safetyTimer: LoopTimer?
    private var stopped = false
    /// `stop`'s wait, when an opening was in flight: signalled once its connection is closed.
    private var whenOpeningEnds: DispatchSemaphore?

    init(_ listener: ChangeListener, loop: EventLoop) {
        self.listener = listener
        self.loop = loop
        loop.execute { [self] in
            guard !stopped else { return }
            openConnection()
            scheduleSafetyPoll()
        }
    }

    /// Deregisters and closes the connection, cancels the timers, and returns once no opening
    /// or read is in flight. Must not be called on the loop (it waits for it). Idempotent.
    func stop() {
        guard !stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        precondition(!loop.inEventLoop, "a listener's loop driver stopped on its own loop, which it waits for: a bug in CellHub")
        let done = DispatchSemaphore(value: 0)
        loop.execute { [self] in
            stopped = true
            retryTimer?.cancel()
            safetyTimer?.cancel()
            closeConnection()
            listener.notListening()
            if opening {
                whenOpeningEnds = done
            } else {
                connections.async { done.signal() }  // after the closing queued before
            }
        }
        done.wait()
        reads.sync {}  // a read in flight has observed
    }

    // MARK: Selectable

    func readable() {
        guard let connection else { return }
        switch listener.takeInput(connection) {
        case .quiet: break
        case .logChanged: requestRead(.notification)
        case .broken:
            closeConnection()
            backoff.reset()
            openConnection()  // at once
        }
    }

    func writable() {}

    // MARK: The connection

    /// Opens the connection on `connections`; the outcome comes back to `opened`.
    private func openConnection() {
        opening = true
        let retryInMs = backoff.delayMs
        connections.async { [self] in
            nonisolated(unsafe) var opened = listener.open(retryInMs: retryInMs)
            if let connection = opened, !connection.setNonBlocking() {
                listener.notListening()
                listener.failed("cannot put the LISTEN connection in nonblocking mode (retrying in \(retryInMs) ms): \(connection.lastErrorMessage)")
                opened = nil
            }
            loop.execute { [self] in self.opened(opened) }
        }
    }

    private func opened(_ opened: PGConnection?) {
        opening = false
        if stopped {
            release(opened)
            if let whenOpeningEnds { connections.async { whenOpeningEnds.signal() } }
            return
        }
        guard let opened else {
            retry(afterMs: backoff.failed())
            return
        }
        let fd = opened.socket
        do {
            let token = try loop.register(fd: fd, events: EventLoop.readEvents, self)
            registration = (fd, token)
            connection = opened
            backoff.reset()
        } catch {
            listener.notListening()
            listener.failed("cannot watch the LISTEN connection's socket (retrying in \(backoff.delayMs) ms): \(error)")
            release(opened)
            retry(afterMs: backoff.failed())
        }
    }

    private func retry(afterMs delay: Int64) {
        retryTimer = loop.schedule(afterNanoseconds: UInt64(delay) * 1_000_000) { [self] in
            retryTimer = nil
            guard !stopped else { return }
            openConnection()
        }
    }

    /// Deregisters the socket and closes the connection, if there is one.
    private func closeConnection() {
        if let registration { loop.deregister(fd: registration.fd, token: registration.token) }
        registration = nil
        let closing = connection
        connection = nil
        release(closing)
    }

    /// Closes `connection` on `connections`: the last reference goes there, so `PQfinish`
    /// runs off the loop.
    private func release(_ connection: PGConnection?) {
        guard let connection else { return }
        nonisolated(unsafe) let last = Unmanaged.passRetained(connection)
        connections.async { last.release() }
    }

    // MARK: Reads

    private func scheduleSafetyPoll() {
        safetyTimer = loop.schedule(afterNanoseconds: UInt64(listener.safetyIntervalMs) * 1_000_000) { [self] in
            guard !stopped else { return }
            requestRead(.safetyPoll)
            scheduleSafetyPoll()
        }
    }

    /// Reads the snapshot through the pool on `reads`, unless a read is queued and has not
    /// started (it will see this change too).
    private func requestRead(_ reason: ChangeListener.PoolReadReason) {
        guard !readQueued.exchange(true, ordering: .acquiringAndReleasing) else { return }
        reads.async { [self] in
            readQueued.store(false, ordering: .releasing)
            listener.readThroughPool(reason)
        }
    }
}
