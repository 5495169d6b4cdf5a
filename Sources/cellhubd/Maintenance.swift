import CellHub
import CellHubStore
import Dispatch
import Logging

/// Periodic housekeeping while the server runs: idempotency keys past their window are
/// deleted (each holds a replayable response; without this every keyed upload would keep one
/// forever), and event-log rows past the retention window (age, then count) are pruned —
/// streams resuming from before them get a RESYNC. Runs on its own queue; each store call is
/// one short write transaction.
final class Maintenance {
    private let timer: any DispatchSourceTimer

    init(
        store: any CellHubStorage, intervalSeconds: Double, idempotencyWindowMs: Int64, eventRetentionMs: Int64, eventRetentionCount: Int,
        logger: Logger
    ) {
        let queue = DispatchQueue(label: "cellhubd.maintenance")
        timer = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.milliseconds(max(1, Int(intervalSeconds * 1_000)))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler {
            do {
                let pruned = try store.pruneIdempotencyKeys(createdBefore: SystemValues.milliseconds() - idempotencyWindowMs)
                if pruned > 0 { logger.notice("pruned expired idempotency keys", metadata: ["count": "\(pruned)"]) }
                let events = try store.pruneEvents(
                    committedBefore: SystemValues.milliseconds() - eventRetentionMs, keepingNewest: eventRetentionCount)
                if events > 0 { logger.info("pruned event-log rows past the retention window", metadata: ["count": "\(events)"]) }
            } catch {
                logger.warning("maintenance failed; retried at the next interval", metadata: ["error": "\(error)"])
            }
        }
        timer.resume()
    }

    /// Stops the timer (a run in progress finishes).
    func stop() { timer.cancel() }
}
