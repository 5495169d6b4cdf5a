import CellHubProto
import CellHubServer
import RPC

/// `InteropTestService` with the responses it builds kept small: a request may ask for up to
/// 64 MiB per message, and a 64 KiB input opens hundreds of streams, so the stock service
/// would have the fuzzer exhausting memory legitimately instead of finding bugs.
///
/// Requests whose response sizes (together) are between 64 KiB and the service's own limit
/// are answered RESOURCE_EXHAUSTED here; all others reach the service unchanged, including
/// sizes above its limit, which it must refuse without allocating them.
struct BoundedInteropService: RPCService {
    static let maxResponseBytes = 64 << 10

    private let service = InteropTestService()

    var methods: [ServerMethod] {
        service.methods.map { method in
            // Streaming requests build their responses message by message: served as they are.
            guard case .oneRequest(let handler) = method.body else { return method }
            let path = method.descriptor.path
            return ServerMethod(descriptor: method.descriptor) { bytes, context, sink in
                // An undecodable request goes on to the service, which answers INVALID_ARGUMENT.
                let sizes: [Int32]
                if path == Grpc_Testing_TestService.unaryCall.descriptor.path {
                    sizes = (try? Grpc_Testing_SimpleRequest(serializedBytes: bytes)).map { [$0.responseSize] } ?? []
                } else if path == Grpc_Testing_TestService.streamingOutputCall.descriptor.path {
                    sizes = (try? Grpc_Testing_StreamingOutputCallRequest(serializedBytes: bytes))?.responseParameters.map(\.size) ?? []
                } else {
                    sizes = []
                }
                let served = sizes.lazy.filter { $0 > 0 && $0 <= InteropTestService.maxPayloadBytes }.reduce(0) { $0 + Int($1) }
                guard served <= Self.maxResponseBytes else {
                    throw RPCError(code: .resourceExhausted, message: "the fuzzer's interop service sends at most \(Self.maxResponseBytes) bytes")
                }
                try await handler(bytes, context, sink)
            }
        }
    }
}
