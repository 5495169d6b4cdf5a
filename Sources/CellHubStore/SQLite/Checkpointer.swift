import CellHub
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Copies the WAL back into the database on its own connection and thread, so that no commit
/// pays for a checkpoint (with `synchronous=FULL` one also fsyncs the whole database file).
///
/// The writer reports the WAL's size after each commit (`SQLiteConnection.delegateCheckpoints`);
/// past `thresholdFrames` this wakes the thread, which runs a PASSIVE checkpoint: it copies what
/// no reader still needs and never blocks readers or the writer.
final class Checkpointer: @unchecked Sendable {
    /// SQLite's own default for automatic checkpoints (pages of WAL).
    static let thresholdFrames = 1_000

    /// Owned by the checkpoint thread once it runs; `@unchecked Sendable` covers only that
    /// hand-over (the thread is its only user).
    private let connection: SQLiteConnection
    private let state = Mutex<(requested: Bool, stopped: Bool)>((false, false))
    private let wake = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)
    /// Checkpoints run so far (tests).
    private let runs = Atomic<Int>(0)

    init(connection: SQLiteConnection) {
        self.connection = connection
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { argument in
            Unmanaged<Checkpointer>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, box.toOpaque())
        precondition(status == 0, "pthread_create failed: \(status)")
        pthread_detach(thread)
    }

    /// Called after each commit with the WAL's frame count.
    func committed(walFrames: Int) {
        guard walFrames >= Self.thresholdFrames else { return }
        let wakeUp = state.withLock { state -> Bool in
            defer { state.requested = true }
            return !state.requested && !state.stopped
        }
        if wakeUp { wake.signal() }
    }

    var checkpointsRun: Int { runs.load(ordering: .relaxed) }

    /// Stops the thread after the checkpoint in progress, if any.
    func stop() {
        let running = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard running else { return }
        wake.signal()
        exited.wait()
    }

    private func run() {
        while true {
            wake.wait()
            let stop = state.withLock { state -> Bool in
                state.requested = false
                return state.stopped
            }
            if stop { break }
            // A failure (a reader holding the whole WAL, a busy database) is retried at the
            // next request; the WAL meanwhile just grows.
            try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            runs.add(1, ordering: .relaxed)
        }
        exited.signal()
    }
}
