public import CellHubProto
public import RPC
public import RPCHTTP2

/// An event of a Watch* stream as the resuming wrapper needs to see it.
public protocol WatchEvent: RPCMessage {
    /// Where to resume after this event.
    var position: StreamPosition { get }
    /// PRESENCE: ephemeral (nothing committed), it never moves the position.
    var isEphemeral: Bool { get }
    /// A resume the server could not honour: the stream restarted from a fresh snapshot
    /// (project, dashboard) or backlog (activity) and events may have been missed.
    var isResync: Bool { get }
}

extension ProjectEvent: WatchEvent {
    public var position: StreamPosition { StreamPosition(epoch: epoch, revision: revision, sequence: sequence) }
    public var isEphemeral: Bool { if case .presence = payload { true } else { false } }
    public var isResync: Bool { if case .snapshot(let snapshot) = payload { snapshot.resync } else { false } }
}

extension DashboardEvent: WatchEvent {
    public var position: StreamPosition { StreamPosition(epoch: epoch, revision: revision, sequence: 0) }
    public var isEphemeral: Bool { false }
    public var isResync: Bool { if case .snapshot(let snapshot) = payload { snapshot.resync } else { false } }
}

extension ActivityEvent: WatchEvent {
    public var position: StreamPosition { StreamPosition(epoch: epoch, revision: revision, sequence: sequence) }
    public var isEphemeral: Bool { false }
    public var isResync: Bool { if case .caughtUp(let caughtUp) = payload { caughtUp.positionLost } else { false } }
}

extension StreamPosition {
    public init(epoch: String, revision: UInt64, sequence: UInt32) {
        self.init()
        self.epoch = epoch
        self.revision = revision
        self.sequence = sequence
    }
}

/// Delays between reconnection attempts: `initial`, times `multiplier` per failure up to
/// `maximum`, each scaled by a random factor in 1 ± `jitter` so that clients a restart
/// disconnected together do not return together.
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double
    public var jitter: Double

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(10),
                multiplier: Double = 2, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
    }

    public func delay(afterFailures failures: Int) -> Duration {
        var base = initial
        for _ in 0..<failures where base < maximum { base = base * multiplier }
        return min(base, maximum) * Double.random(in: (1 - jitter)...(1 + jitter))
    }
}

/// What a resumed stream yields: an event, or word that the connection ended with a
/// resumable status and the next one opens after `delay` (a view can show "reconnecting").
public enum WatchItem<Event: WatchEvent>: Sendable {
    case event(Event)
    case reconnecting(RPCError, delay: Duration)
}

/// A Watch* stream that never ends on its own: after UNAVAILABLE (server draining or gone,
/// connection lost) or RESOURCE_EXHAUSTED (fell behind) it reconnects with jittered
/// exponential backoff and resumes from the last event it yielded, so no event is missed or
/// repeated; a RESYNC arrives as an event (`isResync`). Other statuses — NOT_FOUND,
/// PERMISSION_DENIED, UNAUTHENTICATED, INVALID_ARGUMENT — are thrown: do not resume.
/// Cancelling the iterating task ends it (the call is cancelled).
public struct ResumingWatch<Event: WatchEvent>: AsyncSequence, Sendable {
    public typealias Element = WatchItem<Event>

    let start: StreamPosition?
    let backoff: Backoff
    let open: @Sendable (StreamPosition?) -> ResponseStream<Event>

    public init(from position: StreamPosition?, backoff: Backoff,
                open: @escaping @Sendable (StreamPosition?) -> ResponseStream<Event>) {
        start = position
        self.backoff = backoff
        self.open = open
    }

    public func makeAsyncIterator() -> Iterator { Iterator(watch: self, position: start) }

    static func resumable(_ code: StatusCode) -> Bool { code == .unavailable || code == .resourceExhausted }

    public struct Iterator: AsyncIteratorProtocol {
        let watch: ResumingWatch
        /// The position after the last event yielded (nil: none yet, start fresh).
        public private(set) var position: StreamPosition?
        var events: ResponseStream<Event>.Iterator?
        var failures = 0
        var pause: Duration?

        init(watch: ResumingWatch, position: StreamPosition?) {
            self.watch = watch
            self.position = position
        }

        public mutating func next() async throws -> WatchItem<Event>? {
            if let pause {
                self.pause = nil
                try await Task.sleep(for: pause)
            }
            // The stream's own iterator cancels the call when the task is cancelled or when it
            // is dropped (leaving a `for try await` loop early).
            var events = self.events ?? watch.open(position).makeAsyncIterator()
            let ended: RPCError
            do {
                if let event = try await events.next() {
                    self.events = events
                    failures = 0
                    if !event.isEphemeral { position = event.position }
                    return .event(event)
                }
                ended = RPCError(code: .unavailable, message: "the server ended the stream")
            } catch let error as RPCError where ResumingWatch.resumable(error.code) && !Task.isCancelled {
                ended = error
            }
            self.events = nil
            let delay = watch.backoff.delay(afterFailures: failures)
            failures += 1
            pause = delay
            return .reconnecting(ended, delay: delay)
        }
    }
}
