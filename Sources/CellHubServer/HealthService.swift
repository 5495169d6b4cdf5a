public import CellHubProto
public import RPC
import Synchronization

/// `grpc.health.v1.Health`: Check answers at once; Watch sends the current status, then
/// every change, until the client goes away.
public final class HealthService: Grpc_Health_V1_HealthHandler, InlineAnswering, Sendable {
    public typealias ServingStatus = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: ServingStatus] = ["": .serving]
        var watchers: [Int: (service: String, continuation: AsyncStream<ServingStatus>.Continuation)] = [:]
        var nextWatcher = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Sets `service`'s status ("" is the whole server) and tells its watchers.
    public func setStatus(_ status: ServingStatus, for service: String = "") {
        let watchers = state.withLock { state in
            state.statuses[service] = status
            return state.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for watcher in watchers { watcher.yield(status) }
    }

    public func check(_ request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        try status(request)
    }

    /// Check is a lookup in memory: answered on the loop, without a task.
    public var inlineAnswers: [InlineAnswer] {
        [InlineAnswer(Grpc_Health_V1_Health.check) { [self] request, _ in try status(request) }]
    }

    private func status(_ request: Grpc_Health_V1_HealthCheckRequest) throws(RPCError) -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = state.withLock({ $0.statuses[request.service] }) else {
            throw RPCError(code: .notFound, message: "unknown service '\(request.service)'")
        }
        var response = Grpc_Health_V1_HealthCheckResponse()
        response.status = status
        return response
    }

    public func watch(
        _ request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext,
        writer: ServerStreamWriter<Grpc_Health_V1_HealthCheckResponse>
    ) async throws {
        // Bounded: a watcher that does not keep up only needs the latest status.
        let (updates, continuation) = AsyncStream.makeStream(of: ServingStatus.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            let id = state.nextWatcher
            state.nextWatcher += 1
            state.watchers[id] = (request.service, continuation)
            continuation.yield(state.statuses[request.service] ?? .serviceUnknown)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        defer { continuation.finish() }
        var last: ServingStatus?
        for await status in updates where status != last {
            last = status
            var response = Grpc_Health_V1_HealthCheckResponse()
            response.status = status
            try await writer.write(response)
        }
    }
}
