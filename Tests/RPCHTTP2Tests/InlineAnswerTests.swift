import CellHubProto
import RPC
import RPCHTTP2
import Synchronization
import Testing

/// A service's inline answer is what the client hears when it gives one, the handler's when it
/// declines, and its error becomes the call's status and trailers like a handler's would.
@Suite struct InlineAnswerTests {
    @Test func anInlineAnswerEndsTheCallWithoutATaskOrTheHandler() async throws {
        let split = SplitService()
        try await withTimeout {
            try await withLoopback(extraServices: [split]) { _, client throws in
                let response = try await client.unary(SplitService.split, SplitService.request(.answer))
                #expect(response.message.username == "inline")
                #expect(response.trailingMetadata["x-answered"] == "inline")
                #expect(split.handlerCalls == 0)
                #expect(split.inlineAttemptsOutsideATask == 1, "the inline answer ran inside a task")
            }
        }
    }

    @Test func aDeclinedInlineAnswerFallsBackToTheHandler() async throws {
        let split = SplitService()
        try await withTimeout {
            try await withLoopback(extraServices: [split]) { _, client throws in
                let response = try await client.unary(SplitService.split, SplitService.request(.decline))
                #expect(response.message.username == "handler")
                #expect(split.handlerCalls == 1)
            }
        }
    }

    @Test func anInlineErrorIsTheCallsStatusWithItsTrailers() async throws {
        let split = SplitService()
        try await withTimeout {
            try await withLoopback(extraServices: [split]) { _, client throws in
                let error = await rpcError { try await client.unary(SplitService.split, SplitService.request(.fail)) }
                #expect(error?.code == .notFound)
                #expect(error?.message == "no such thing")
                #expect(error?.metadata["x-why"] == "inline")
                #expect(split.handlerCalls == 0)
                // The connection carries on: the next call on it is answered.
                let next = try await client.unary(SplitService.split, SplitService.request(.answer))
                #expect(next.message.username == "inline")
            }
        }
    }
}

/// The server keeps a connection's last `authorization` value to reuse when a call repeats it:
/// every call must still see exactly what it sent.
@Suite struct RepeatedAuthorizationTests {
    @Test func eachCallOnAConnectionSeesItsOwnAuthorization() async throws {
        let split = SplitService()
        try await withTimeout {
            try await withLoopback(extraServices: [split]) { _, client throws in
                for value in ["Bearer a", "Bearer a", "Bearer b", "Bearer a", "", "Bearer ab", "Bearer b", nil, "Bearer a"] {
                    var options = CallOptions()
                    if let value { options.metadata.add("authorization", value) }
                    let response = try await client.unary(SplitService.split, SplitService.request(.decline), options: options)
                    #expect(response.message.oauthScope == value ?? "(none)")
                }
            }
        }
    }
}

/// One unary method whose inline answer answers, declines or fails as the request's
/// `response_size` says.
final class SplitService: InlineAnswering, Sendable {
    enum Choice: Int32 { case answer = 1, decline = 2, fail = 3 }

    static let split = TypedMethodDescriptor<Grpc_Testing_SimpleRequest, Grpc_Testing_SimpleResponse>(
        service: "cellhub.test.Split", method: "Split", kind: .unary)

    static func request(_ choice: Choice) -> Grpc_Testing_SimpleRequest {
        var request = Grpc_Testing_SimpleRequest()
        request.responseSize = choice.rawValue
        return request
    }

    private let counts = Mutex((handler: 0, outsideTask: 0))
    var handlerCalls: Int { counts.withLock { $0.handler } }
    var inlineAttemptsOutsideATask: Int { counts.withLock { $0.outsideTask } }

    var methods: [ServerMethod] {
        [
            .unary(Self.split) { _, context in
                self.counts.withLock { $0.handler += 1 }
                var response = Grpc_Testing_SimpleResponse()
                response.username = "handler"
                response.oauthScope = context.requestMetadata["authorization"] ?? "(none)"
                return response
            },
        ]
    }

    var inlineAnswers: [InlineAnswer] {
        [
            InlineAnswer(Self.split) { request, context in
                let outsideTask = withUnsafeCurrentTask { $0 == nil }
                if outsideTask { self.counts.withLock { $0.outsideTask += 1 } }
                switch Choice(rawValue: request.responseSize) {
                case .answer:
                    context.trailingMetadata.add("x-answered", "inline")
                    var response = Grpc_Testing_SimpleResponse()
                    response.username = "inline"
                    return response
                case .fail:
                    throw RPCError(code: .notFound, message: "no such thing", metadata: Metadata([("x-why", "inline")]))
                case .decline, nil:
                    return nil
                }
            },
        ]
    }
}
