/// The thread a stream lives on (its connection's event loop): the hub hands each thread
/// its streams' events in one batch, and their timers run there.
package protocol StreamExecutor: AnyObject, Sendable {
    func execute(_ work: @escaping @Sendable () -> Void)
    /// Calls `work` on this executor after `nanoseconds`; call it on this executor.
    func schedule(afterNanoseconds nanoseconds: UInt64, _ work: @escaping () -> Void) -> any StreamTimer
}

package protocol StreamTimer: AnyObject {
    func cancel()
}

/// Where one stream's frames go: the transport's push side of one server stream. Used on
/// `executor` only; never waits.
package protocol StreamOutlet: AnyObject, Sendable {
    var executor: any StreamExecutor { get }
    /// Queues a frame; false once the stream is over.
    func send(_ frame: EventFrame) -> Bool
    /// Bytes queued and not yet taken by the peer.
    var unsentBytes: Int { get }
    /// Calls `body` once, on the executor, when the peer has taken most of what is queued.
    func whenDrained(_ body: @escaping () -> Void)
}

/// How the hub ends a stream (mapped to a gRPC status by CellHubServer).
package enum StreamEnd: Sendable, Hashable, Error {
    /// After ACCESS_REVOKED (do not resume).
    case accessRevoked
    /// After PROJECT_DELETED, or the project is not visible (do not resume).
    case projectNotFound(String)
    /// The user's token was revoked (do not resume).
    case unauthenticated
    /// The client fell too far behind: resume.
    case tooSlow
    /// The server is draining: resume (elsewhere).
    case draining
    /// The request cannot be served (an unknown time zone, say): do not resume as is.
    case invalid(String)
    /// A fault on the server (logged): resume.
    case failed(String)
}
