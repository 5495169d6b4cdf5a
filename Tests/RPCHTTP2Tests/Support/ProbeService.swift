import CellHubProto
import RPC
import Synchronization

/// A test-only service whose handler reports what happens to it on the server side, so a
/// test can see that a client's cancel or deadline reaches the handler.
final class ProbeService: RPCService, Sendable {
    enum Event: Sendable, Equatable {
        case started
        /// The handler stopped because the call ended under it (its write threw or its task
        /// was cancelled); the associated value is how.
        case cancelled(String)
        case failed(String)
        /// A detached handler returned (the call stays open).
        case returned
        /// A detached call's `onClose` ran: it ended other than by the producer's finish.
        case closed
    }

    /// Writes 1 KiB messages until the call is over.
    static let endless = TypedMethodDescriptor<Grpc_Testing_StreamingOutputCallRequest, Grpc_Testing_StreamingOutputCallResponse>(
        service: "cellhub.test.Probe", method: "Endless", kind: .serverStreaming)

    /// Pushes one message per `response_parameters` entry, detaches and returns; with a
    /// `response_status`, the producer then finishes the call with it (and a trailer
    /// `x-probe: detached`) — or, when its message is "throw", the handler throws it after
    /// detaching; without one the call stays open until the client leaves or the deadline.
    static let detached = TypedMethodDescriptor<Grpc_Testing_StreamingOutputCallRequest, Grpc_Testing_StreamingOutputCallResponse>(
        service: "cellhub.test.Probe", method: "Detached", kind: .serverStreaming)

    /// Answers each request with one message of its first response size, until the request
    /// stream ends: `.returned` at the client's half-close, `.cancelled(code)` when the
    /// sequence throws because the call ended under the handler.
    static let reader = TypedMethodDescriptor<Grpc_Testing_StreamingOutputCallRequest, Grpc_Testing_StreamingOutputCallResponse>(
        service: "cellhub.test.Probe", method: "Reader", kind: .bidirectionalStreaming)

    /// What happened, oldest first (a queue: `nextEvent` takes from its front).
    private let log = EventLog()

    var methods: [ServerMethod] {
        let log = self.log
        return [
            .serverStreaming(Self.endless) { _, _, writer in
                log.yield(.started)
                var response = Grpc_Testing_StreamingOutputCallResponse()
                response.payload = Interop.payload(1_024)
                let message = EncodedMessage(response)
                do {
                    while true { try await writer.write(encoded: message) }
                } catch let error as RPCError where error.code == .cancelled {
                    log.yield(.cancelled("write threw \(error.code)"))
                    throw error
                } catch is CancellationError {
                    log.yield(.cancelled("task cancelled"))
                    throw CancellationError()
                } catch {
                    log.yield(.failed("\(error)"))
                    throw error
                }
            },
            .serverStreaming(Self.detached) { request, _, writer in
                log.yield(.started)
                guard let push = writer.pushStream else { throw RPCError(code: .internal, message: "no push stream") }
                for parameters in request.responseParameters {
                    var response = Grpc_Testing_StreamingOutputCallResponse()
                    response.payload = Interop.payload(Int(parameters.size))
                    _ = push.push(EncodedMessage(response))
                }
                guard push.detach(onClose: { log.yield(.closed) }) else { throw RPCError(code: .cancelled, message: "over") }
                if let echo = request.responseStatus {
                    let status = Status(code: StatusCode(rawValue: Int(echo.code)), message: echo.message)
                    if echo.message == "throw" { throw RPCError(code: status.code, message: status.message) }
                    push.executor.execute { push.finish(status: status, trailers: Metadata([("x-probe", "detached")])) }
                }
                log.yield(.returned)
            },
            .bidirectionalStreaming(Self.reader) { requests, _, writer in
                log.yield(.started)
                do {
                    for try await request in requests {
                        var response = Grpc_Testing_StreamingOutputCallResponse()
                        response.payload = Interop.payload(Int(request.responseParameters.first?.size ?? 0))
                        try await writer.write(response)
                    }
                } catch let error as RPCError {
                    log.yield(.cancelled("\(error.code)"))
                    throw error
                }
                log.yield(.returned)
            },
        ]
    }

    /// The next event, or nil when none comes within `timeout` (a later one is kept).
    func nextEvent(within timeout: Duration = .seconds(5)) async -> Event? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let event = log.take() { return event }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }
}

private final class EventLog: Sendable {
    private let events = Mutex<[ProbeService.Event]>([])

    func yield(_ event: ProbeService.Event) { events.withLock { $0.append(event) } }

    func take() -> ProbeService.Event? { events.withLock { $0.isEmpty ? nil : $0.removeFirst() } }
}
