import CellHub
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Copies the WAL back into the database on its own connection and thread, so that commits do
/// not pay for the copying (with `synchronous=FULL` it also fsyncs the whole database file).
///
/// The writer reports the WAL's size after each commit (`SQLiteConnection.delegateCheckpoints`);
/// each time the WAL has grown by `thresholdFrames` since the last pass this wakes the thread,
/// which runs a PASSIVE checkpoint: it copies what no reader still needs and never blocks
/// readers or the writer. (Not after every commit past the threshold: each pass fsyncs the
/// database and copies the hot pages — counters, the log's tail — again, and passes that
/// followed every commit were half the queue's CPU.) Under a steady stream of
/// commits and reads that never lets the WAL start over (some reader always holds a recent
/// snapshot), and a WAL that only grows makes every commit extend the file (block allocation
/// and a metadata journal commit per fsync: several times the I/O of rewriting it in place).
/// So past `restartFrames`, once a PASSIVE pass has copied what it could, the next commit
/// restarts the WAL on the writer connection (`SQLiteConnection.delegateCheckpoints`): the
/// RESTART copies the few frames committed since that pass and waits briefly for the readers'
/// short transactions to leave the WAL; the following commit writes from the WAL's start. It
/// has to be the writer: a steady stream of commits never lets another connection in.
final class Checkpointer: @unchecked Sendable {
    /// SQLite's own default for automatic checkpoints (pages of WAL).
    static let thresholdFrames = 1_000
    /// WAL size past which a checkpoint also restarts the WAL, by default (16 MiB of 4 KiB pages).
    static let restartFrames = 4_000

    /// Owned by the checkpoint thread once it runs; `@unchecked Sendable` covers only that
    /// hand-over (the thread is its only user).
    private let connection: SQLiteConnection
    /// `frames`: the WAL's size at the last commit. `passedAt`: its size when the last pass was
    /// requested (0 once it started over). `restartDue`: a PASSIVE pass of a WAL past
    /// `restartFrames` ended; the writer's next commit restarts it, and no pass runs meanwhile
    /// (it would hold the checkpoint lock the RESTART needs).
    private let state = Mutex<(requested: Bool, stopped: Bool, frames: Int, passedAt: Int, restartDue: Bool)>(
        (false, false, 0, 0, false))
    private let wake = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)
    /// Checkpoints run and WAL restarts that succeeded so far (tests).
    private let runs = Atomic<Int>(0)
    private let restarts = Atomic<Int>(0)

    private let restartFrames: Int

    init(connection: SQLiteConnection, restartFrames: Int = Checkpointer.restartFrames) {
        self.connection = connection
        self.restartFrames = restartFrames
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { argument in
            Unmanaged<Checkpointer>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, box.toOpaque())
        precondition(status == 0, "pthread_create failed: \(status)")
        pthread_detach(thread)
    }

    /// Called after each commit with the WAL's frame count; true when the committing writer
    /// should restart the WAL now.
    func committed(walFrames: Int) -> Bool {
        guard walFrames >= Self.thresholdFrames else { return false }
        let (wakeUp, restart) = state.withLock { state -> (Bool, Bool) in
            if walFrames < state.frames { state.passedAt = 0 }  // the WAL started over
            state.frames = walFrames
            if state.restartDue {
                state.restartDue = false
                return (false, true)
            }
            guard !state.requested, !state.stopped, walFrames >= state.passedAt + Self.thresholdFrames else {
                return (false, false)
            }
            state.requested = true
            state.passedAt = walFrames
            return (true, false)
        }
        if wakeUp { wake.signal() }
        return restart
    }

    var checkpointsRun: Int { runs.load(ordering: .relaxed) }
    var restartsRun: Int { restarts.load(ordering: .relaxed) }

    /// The writer restarted the WAL.
    func restarted() { restarts.add(1, ordering: .relaxed) }

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
            let (stop, frames, restartDue) = state.withLock { state -> (Bool, Int, Bool) in
                state.requested = false
                return (state.stopped, state.frames, state.restartDue)
            }
            if stop { break }
            if restartDue { continue }
            // A failure (a reader holding the whole WAL, a busy database) is retried at the
            // next request; the WAL meanwhile just grows.
            try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            if frames >= restartFrames { state.withLock { $0.restartDue = true } }
            runs.add(1, ordering: .relaxed)
        }
        exited.signal()
    }
}
