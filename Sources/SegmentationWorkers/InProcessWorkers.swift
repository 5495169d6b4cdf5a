package import CellHub
import CellHubProto
package import Logging

/// `serve --workers N`: N built-in workers inside the server, each on its own thread. They
/// take jobs through the same JobDispatcher feeds as ClaimJobs streams (one lease at a time
/// each) and store results through the same WorkerService calls as CompleteJob and FailJob —
/// only the network is left out.
package final class InProcessWorkers: Sendable {
    private let feeds: [InProcessFeed]
    private let dispatcher: JobDispatcher

    package init(count: Int, dispatcher: JobDispatcher, workers: WorkerService, logger: Logger) {
        self.dispatcher = dispatcher
        feeds = (0..<max(0, count)).map { index in
            InProcessFeed(name: "builtin-\(index + 1)", workers: workers, logger: logger)
        }
    }

    /// Connects every worker's feed; each stays connected until the dispatcher drains.
    package func start() {
        for feed in feeds {
            let dispatcher = self.dispatcher
            Task {
                while await dispatcher.serve(workerName: feed.name, models: [BuiltinModel.name], capacity: 1, outlet: feed) != .draining {}
            }
        }
    }

    /// Waits for the job each thread is running, then ends the threads (call after the
    /// dispatcher drained, so no new job arrives).
    package func stop() {
        for feed in feeds {
            feed.thread.sync {}
            feed.thread.stop()
        }
    }
}

/// One built-in worker: the dispatcher pushes its assignment onto the worker's thread, which
/// segments the image there and stores the outcome.
private final class InProcessFeed: WorkerFeedOutlet {
    let name: String
    let thread: SerialWorker
    let executor: any StreamExecutor
    private let workers: WorkerService
    private let logger: Logger
    private let caller: Caller

    init(name: String, workers: WorkerService, logger: Logger) {
        self.name = name
        self.workers = workers
        self.logger = logger
        thread = SerialWorker(name: name)
        executor = ThreadExecutor(thread)
        caller = Caller(userID: "", name: name, isWorker: true)
    }

    /// Runs the job to its end (on `thread`): the feed's capacity of one is taken until the
    /// dispatcher hears it ended.
    func send(_ claimed: WorkerService.Claimed) -> Bool {
        guard let lease = claimed.job.leaseID else { return true }
        let jobID = claimed.job.id
        switch BuiltinModel.run(content: claimed.content, contentType: claimed.image.contentType) {
        case .success(let result):
            // processingMs nil: the store measures claim to completion, as for remote workers.
            let output = SegmentationOutput(cellCount: result.cellCount, result: result.serializedBytes())
            do {
                _ = try workers.complete(jobID: jobID, leaseID: lease, output: output, caller: caller)
            } catch {
                report(error, jobID: jobID, doing: "storing the result")
            }
        case .failure(let failure):
            do {
                _ = try workers.fail(jobID: jobID, leaseID: lease, reason: failure.reason, retryable: failure.retryable, caller: caller)
            } catch {
                report(error, jobID: jobID, doing: "reporting the failure")
            }
        }
        return true
    }

    /// A revoked job is either done already or its result will be refused: nothing to do.
    func sendRevoked(jobID: String, leaseID: String, reason: String) -> Bool { true }
    func sendHeartbeat() -> Bool { true }
    var unsentBytes: Int { 0 }
    func whenDrained(_ body: @escaping () -> Void) { body() }

    private func report(_ error: SegmentationError, jobID: String, doing: String) {
        if case .failedPrecondition = error {
            // Cancelled, deleted or expired while it ran: the result is discarded on purpose.
            logger.debug("\(name): job \(jobID) ended while running; result discarded")
        } else {
            logger.error("\(name): \(doing) for job \(jobID) failed: \(error)")
        }
    }
}

/// A SerialWorker as the executor a dispatcher feed runs on.
private final class ThreadExecutor: StreamExecutor {
    private let thread: SerialWorker

    init(_ thread: SerialWorker) { self.thread = thread }

    func execute(_ work: @escaping @Sendable () -> Void) { thread.execute(work) }

    func schedule(afterNanoseconds nanoseconds: UInt64, _ work: @escaping () -> Void) -> any StreamTimer {
        // Called on the thread itself (the protocol's rule), where `work` then runs.
        nonisolated(unsafe) let work = work
        return ThreadTimer(thread: thread, id: thread.schedule(afterNanoseconds: nanoseconds) { work() })
    }
}

private final class ThreadTimer: StreamTimer {
    private let thread: SerialWorker
    private let id: UInt64

    init(thread: SerialWorker, id: UInt64) {
        self.thread = thread
        self.id = id
    }

    func cancel() { thread.cancelTimer(id) }
}
