package import CellHub
package import RPC
import Synchronization

/// A call's push side (`ServerPushStream`) as an EventHub outlet: the hub's frames go to
/// the call as they are, on the call's event loop.
package final class PushOutlet: StreamOutlet {
    private let push: any ServerPushStream
    package let executor: any StreamExecutor

    package init(_ push: any ServerPushStream) {
        self.push = push
        executor = LoopExecutors.shared.adapter(for: push.executor)
    }

    /// A frame may hold several messages back to back: pushed uncompressed, the bytes go on
    /// the wire as they are, so the transport sees them as the messages they are.
    package func send(_ frame: EventFrame) -> Bool { push.push(EncodedMessage(frame: frame.bytes)) }
    package var unsentBytes: Int { push.unsentBytes }
    package func whenDrained(_ body: @escaping () -> Void) { push.whenDrained(body) }
}

/// One `StreamExecutor` per call executor, so the hub sees one shard per event loop.
final class LoopExecutors: Sendable {
    static let shared = LoopExecutors()
    private let adapters = Mutex<[ObjectIdentifier: ExecutorAdapter]>([:])

    func adapter(for executor: any CallExecutor) -> ExecutorAdapter {
        adapters.withLock { adapters in
            if let adapter = adapters[ObjectIdentifier(executor)] { return adapter }
            let adapter = ExecutorAdapter(executor)
            adapters[ObjectIdentifier(executor)] = adapter
            return adapter
        }
    }
}

final class ExecutorAdapter: StreamExecutor {
    private let base: any CallExecutor

    init(_ base: any CallExecutor) { self.base = base }

    func execute(_ work: @escaping @Sendable () -> Void) { base.execute(work) }

    func schedule(afterNanoseconds nanoseconds: UInt64, _ work: @escaping () -> Void) -> any StreamTimer {
        TimerAdapter(base.schedule(afterNanoseconds: nanoseconds, work))
    }
}

private final class TimerAdapter: StreamTimer {
    let timer: any CallTimer

    init(_ timer: any CallTimer) { self.timer = timer }

    func cancel() { timer.cancel() }
}
