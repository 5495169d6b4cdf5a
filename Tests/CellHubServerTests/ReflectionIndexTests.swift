import CellHubProto
import CellHubServer
import RPC
import Testing

@Suite struct ReflectionIndexTests {
    static let served = ["cellhub.v1.StatsService", "cellhub.v1.ProjectService", "grpc.health.v1.Health"]
    let index = ReflectionIndex(services: served)

    /// The `name` field of a serialized FileDescriptorProto (field 1, written first).
    static func fileName(_ descriptor: [UInt8]) -> String? {
        guard descriptor.count > 2, descriptor[0] == 0x0A, descriptor[1] < 0x80, descriptor.count >= 2 + Int(descriptor[1]) else { return nil }
        return String(decoding: descriptor[2..<2 + Int(descriptor[1])], as: UTF8.self)
    }

    func fileNames(_ answer: ReflectionAnswer) -> [String]? {
        guard case .files(let files) = answer else { return nil }
        return files.map { Self.fileName($0) ?? "?" }
    }

    @Test func listsTheServedServicesSorted() {
        #expect(index.answer(.listServices) == .services(Self.served.sorted()))
    }

    @Test("a symbol's file comes first, then every file it imports, each once")
    func fileContainingSymbolBringsItsImports() throws {
        let names = try #require(fileNames(index.answer(.fileContainingSymbol("cellhub.v1.StatsService"))))
        #expect(names.first == "cellhub/v1/stats_service.proto")
        #expect(Set(names).count == names.count)
        let statsService = try #require(ProtoFileDescriptors.all.first { $0.name == "cellhub/v1/stats_service.proto" })
        for dependency in statsService.dependencies { #expect(names.contains(dependency)) }
        // Methods, messages, nested messages and enums are symbols too.
        for symbol in ["cellhub.v1.StatsService.GetProjectStats", "cellhub.v1.GetProjectStatsRequest", "cellhub.v1.Role"] {
            #expect(fileNames(index.answer(.fileContainingSymbol(symbol))) != nil, "\(symbol)")
        }
        #expect(fileNames(index.answer(.fileByFilename("grpc/health/v1/health.proto"))) == ["grpc/health/v1/health.proto"])
    }

    @Test("unknown names, extensions and empty requests are error responses")
    func unknownNamesAreNotFound() {
        for question: ReflectionQuestion in [
            .fileContainingSymbol("cellhub.v1.Nope"), .fileByFilename("nope.proto"),
            .fileContainingExtension(type: "cellhub.v1.Role", number: 100), .allExtensionNumbersOfType("cellhub.v1.Nope"),
        ] {
            guard case .error(let code, _) = index.answer(question) else {
                Issue.record("\(question) answered \(index.answer(question))")
                continue
            }
            #expect(code == .notFound)
        }
        guard case .error(.invalidArgument, _) = index.answer(.none) else { Issue.record("an empty request"); return }
        #expect(index.answer(.allExtensionNumbersOfType("cellhub.v1.GetProjectStatsRequest"))
            == .extensionNumbers(type: "cellhub.v1.GetProjectStatsRequest", numbers: []))
    }

    @Test("a service the server does not serve is invisible, with its file")
    func unservedServicesAreInvisible() {
        guard case .error(.notFound, _) = index.answer(.fileContainingSymbol("grpc.testing.TestService")) else {
            Issue.record("TestService is not served here")
            return
        }
        guard case .error(.notFound, _) = index.answer(.fileByFilename("grpc/testing/test.proto")) else {
            Issue.record("test.proto defines only unserved services")
            return
        }
        let interop = ReflectionIndex(services: ["grpc.testing.TestService"])
        #expect(fileNames(interop.answer(.fileContainingSymbol("grpc.testing.TestService")))?.first == "grpc/testing/test.proto")
    }

    @Test("v1alpha messages are v1 messages on the wire (one implementation serves both)")
    func v1alphaIsV1OnTheWire() throws {
        var alpha = Grpc_Reflection_V1alpha_ServerReflectionRequest()
        alpha.host = "example"
        var ext = Grpc_Reflection_V1alpha_ExtensionRequest()
        ext.containingType = "a.B"
        ext.extensionNumber = 7
        alpha.messageRequest = .fileContainingExtension(ext)
        let v1 = try Grpc_Reflection_V1_ServerReflectionRequest(serializedBytes: alpha.serializedBytes())
        #expect(v1.host == "example")
        guard case .fileContainingExtension(let decoded) = v1.messageRequest else { Issue.record("\(v1)"); return }
        #expect(decoded.containingType == "a.B" && decoded.extensionNumber == 7)

        var response = Grpc_Reflection_V1_ServerReflectionResponse()
        var files = Grpc_Reflection_V1_FileDescriptorResponse()
        files.fileDescriptorProto = [[1, 2, 3], [4]]
        response.messageResponse = .fileDescriptorResponse(files)
        response.originalRequest = v1
        let back = try Grpc_Reflection_V1alpha_ServerReflectionResponse(serializedBytes: response.serializedBytes())
        guard case .fileDescriptorResponse(let alphaFiles) = back.messageResponse else { Issue.record("\(back)"); return }
        #expect(alphaFiles.fileDescriptorProto == [[1, 2, 3], [4]])
        #expect(back.originalRequest?.host == "example")
    }
}
