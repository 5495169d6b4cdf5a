import CellHubProto
public import RPC

/// `grpc.reflection.v1.ServerReflection` and its predecessor `v1alpha` (what grpcurl,
/// Postman, grpcui and Evans ask to list and call services without the protos): one
/// bidirectional stream per client, one answer per question, in order.
///
/// The two versions' messages are the same on the wire (field for field), so `v1alpha` is
/// served with the `v1` types: one implementation, two method paths.
public struct ReflectionService: RPCService {
    private let index: ReflectionIndex

    /// - Parameter services: the other services the server serves (reflection lists itself too).
    public init(describing services: [any RPCService]) {
        let names = services.flatMap(\.methods).map(\.descriptor.service)
        index = ReflectionIndex(services: names + [Self.v1.descriptor.service, Self.v1alpha.descriptor.service])
    }

    typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

    static let v1 = Grpc_Reflection_V1_ServerReflection.serverReflectionInfo
    static let v1alpha = TypedMethodDescriptor<Request, Response>(
        service: "grpc.reflection.v1alpha.ServerReflection", method: "ServerReflectionInfo", kind: .bidirectionalStreaming)

    public var methods: [ServerMethod] {
        [Self.v1, Self.v1alpha].map { method in
            ServerMethod.bidirectionalStreaming(method) { [index] requests, _, writer in
                for try await request in requests {
                    try await writer.write(Self.response(to: request, index: index))
                }
            }
        }
    }

    static func response(to request: Request, index: ReflectionIndex) -> Response {
        var response = Response()
        response.validHost = request.host
        response.originalRequest = request
        switch index.answer(ReflectionQuestion(request)) {
        case .services(let names):
            var list = Grpc_Reflection_V1_ListServiceResponse()
            list.service = names.map { name in
                var service = Grpc_Reflection_V1_ServiceResponse()
                service.name = name
                return service
            }
            response.messageResponse = .listServicesResponse(list)
        case .files(let files):
            var descriptors = Grpc_Reflection_V1_FileDescriptorResponse()
            descriptors.fileDescriptorProto = files
            response.messageResponse = .fileDescriptorResponse(descriptors)
        case .extensionNumbers(let type, let numbers):
            var extensions = Grpc_Reflection_V1_ExtensionNumberResponse()
            extensions.baseTypeName = type
            extensions.extensionNumber = numbers
            response.messageResponse = .allExtensionNumbersResponse(extensions)
        case .error(let code, let message):
            var error = Grpc_Reflection_V1_ErrorResponse()
            error.errorCode = Int32(code.rawValue)
            error.errorMessage = message
            response.messageResponse = .errorResponse(error)
        }
        return response
    }
}

extension ReflectionQuestion {
    init(_ request: Grpc_Reflection_V1_ServerReflectionRequest) {
        switch request.messageRequest {
        case .listServices: self = .listServices
        case .fileByFilename(let name): self = .fileByFilename(name)
        case .fileContainingSymbol(let symbol): self = .fileContainingSymbol(symbol)
        case .fileContainingExtension(let ext): self = .fileContainingExtension(type: ext.containingType, number: ext.extensionNumber)
        case .allExtensionNumbersOfType(let type): self = .allExtensionNumbersOfType(type)
        case nil: self = .none
        }
    }
}
