import CellHubProto
import RPC
import RPCHTTP2
import Testing

/// Builders for the interop test requests, so each test reads as the interop case it is.
enum Interop {
    static let specialStatusMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"
    static let echoInitialKey = "x-grpc-test-echo-initial"
    static let echoTrailingKey = "x-grpc-test-echo-trailing-bin"
    static let echoInitialValue = "test_initial_metadata_value"
    static let echoTrailingValue: [UInt8] = [0x0A, 0x0B, 0x0A, 0x0B, 0x0A, 0x0B]

    static let unimplementedMethod = TypedMethodDescriptor<Grpc_Testing_Empty, Grpc_Testing_Empty>(
        service: "grpc.testing.TestService", method: "UnimplementedCall", kind: .unary)
    static let unimplementedService = TypedMethodDescriptor<Grpc_Testing_Empty, Grpc_Testing_Empty>(
        service: "grpc.testing.UnimplementedService", method: "UnimplementedCall", kind: .unary)

    static func payload(_ size: Int) -> Grpc_Testing_Payload {
        var payload = Grpc_Testing_Payload()
        payload.type = .compressable
        payload.body = [UInt8](repeating: 0, count: size)
        return payload
    }

    static func bool(_ value: Bool) -> Grpc_Testing_BoolValue {
        var wrapped = Grpc_Testing_BoolValue()
        wrapped.value = value
        return wrapped
    }

    static func status(_ code: Int32, _ message: String) -> Grpc_Testing_EchoStatus {
        var status = Grpc_Testing_EchoStatus()
        status.code = code
        status.message = message
        return status
    }

    static func unary(
        requestSize: Int = 0, responseSize: Int = 0, responseCompressed: Bool? = nil, expectCompressed: Bool? = nil,
        status: Grpc_Testing_EchoStatus? = nil
    ) -> Grpc_Testing_SimpleRequest {
        var request = Grpc_Testing_SimpleRequest()
        request.responseType = .compressable
        request.responseSize = Int32(responseSize)
        if requestSize > 0 { request.payload = payload(requestSize) }
        request.responseCompressed = responseCompressed.map(bool)
        request.expectCompressed = expectCompressed.map(bool)
        request.responseStatus = status
        return request
    }

    static func streaming(
        sizes: [Int], intervalMicroseconds: Int = 0, compressed: [Bool]? = nil, status: Grpc_Testing_EchoStatus? = nil,
        payloadSize: Int = 0
    ) -> Grpc_Testing_StreamingOutputCallRequest {
        var request = Grpc_Testing_StreamingOutputCallRequest()
        request.responseType = .compressable
        if payloadSize > 0 { request.payload = payload(payloadSize) }
        request.responseParameters = sizes.enumerated().map { index, size in
            var parameters = Grpc_Testing_ResponseParameters()
            parameters.size = Int32(size)
            parameters.intervalUs = Int32(intervalMicroseconds)
            parameters.compressed = compressed.map { bool($0[index]) }
            return parameters
        }
        request.responseStatus = status
        return request
    }

    /// A client-streaming request carrying `size` payload bytes.
    static func input(_ size: Int, expectCompressed: Bool? = nil) -> Grpc_Testing_StreamingInputCallRequest {
        var request = Grpc_Testing_StreamingInputCallRequest()
        request.payload = payload(size)
        request.expectCompressed = expectCompressed.map(bool)
        return request
    }

    static var echoMetadata: Metadata {
        var metadata = Metadata()
        metadata.add(echoInitialKey, echoInitialValue)
        metadata.add(echoTrailingKey, binary: echoTrailingValue)
        return metadata
    }
}

/// The `RPCError` `body` throws (recording an issue when it throws something else or nothing).
func rpcError<T>(_ body: () async throws -> T, sourceLocation: SourceLocation = #_sourceLocation) async -> RPCError? {
    do {
        let value = try await body()
        Issue.record("expected an RPCError, the call returned \(value)", sourceLocation: sourceLocation)
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        Issue.record("expected an RPCError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Every message of a response stream, in order (throws what the stream throws).
func collect<Message>(_ stream: ResponseStream<Message>) async throws -> [Message] {
    var messages: [Message] = []
    for try await message in stream { messages.append(message) }
    return messages
}

extension GRPCClient {
    /// The interop ping_pong exchange on FullDuplexCall: four requests, each answered before
    /// the next is sent; the payload sizes answered, which should be `Interop.pingPongSizes`.
    func interopPingPong() async throws -> [Int] {
        try await bidirectionalStreaming(Grpc_Testing_TestService.fullDuplexCall) { requests, responses in
            var iterator = responses.makeAsyncIterator()
            var sizes: [Int] = []
            for (requestSize, responseSize) in zip([27_182, 8, 1_828, 45_904], Interop.pingPongSizes) {
                try await requests.write(Interop.streaming(sizes: [responseSize], payloadSize: requestSize))
                sizes.append(try await iterator.next()?.payload?.body.count ?? -1)
            }
            requests.finish()
            #expect(try await iterator.next() == nil, "nothing after the half-close but the OK status")
            return sizes
        }
    }
}

extension Interop {
    /// The response sizes of ping_pong, in order.
    static let pingPongSizes = [31_415, 9, 2_653, 58_979]
}
