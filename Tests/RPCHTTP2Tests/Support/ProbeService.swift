import CellHubProto
import RPC

/// A test-only service whose handler reports what happens to it on the server side, so a
/// test can see that a client's cancel or deadline reaches the handler.
final class ProbeService: RPCService, Sendable {
    enum Event: Sendable, Equatable {
        case started
        /// The handler stopped because the call ended under it (its write threw or its task
        /// was cancelled); the associated value is how.
        case cancelled(String)
        case failed(String)
    }

    /// Writes 1 KiB messages until the call is over.
    static let endless = TypedMethodDescriptor<Grpc_Testing_StreamingOutputCallRequest, Grpc_Testing_StreamingOutputCallResponse>(
        service: "cellhub.test.Probe", method: "Endless", kind: .serverStreaming)

    let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation

    init() {
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
    }

    var methods: [ServerMethod] {
        let continuation = self.continuation
        return [
            .serverStreaming(Self.endless) { _, _, writer in
                continuation.yield(.started)
                var response = Grpc_Testing_StreamingOutputCallResponse()
                response.payload = Interop.payload(1_024)
                let message = EncodedMessage(response)
                do {
                    while true { try await writer.write(encoded: message) }
                } catch let error as RPCError where error.code == .cancelled {
                    continuation.yield(.cancelled("write threw \(error.code)"))
                    throw error
                } catch is CancellationError {
                    continuation.yield(.cancelled("task cancelled"))
                    throw CancellationError()
                } catch {
                    continuation.yield(.failed("\(error)"))
                    throw error
                }
            },
        ]
    }

    /// The next event, or nil when none comes within `timeout`.
    func nextEvent(within timeout: Duration = .seconds(5)) async -> Event? {
        let events = self.events
        return await withTaskGroup(of: Event?.self) { group in
            group.addTask {
                for await event in events { return event }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
