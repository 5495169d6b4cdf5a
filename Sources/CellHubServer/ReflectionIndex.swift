package import CellHubProto
package import RPC

/// What server reflection (`grpc.reflection.v1` and `v1alpha`, same questions) can be asked,
/// and its answers, apart from either version's messages.
package enum ReflectionQuestion: Sendable, Equatable {
    case listServices
    case fileByFilename(String)
    case fileContainingSymbol(String)
    case fileContainingExtension(type: String, number: Int32)
    case allExtensionNumbersOfType(String)
    /// A request with no question set.
    case none
}

package enum ReflectionAnswer: Sendable, Equatable {
    case services([String])
    /// Serialized FileDescriptorProtos: the file asked for first, then what it imports.
    case files([[UInt8]])
    case extensionNumbers(type: String, numbers: [Int32])
    /// An `ErrorResponse`: a gRPC status code and message (the stream itself stays open).
    case error(StatusCode, String)
}

/// The descriptors server reflection hands out: the files of the services a server serves
/// and every file they import, as the generator serialized them (`ProtoFileDescriptors`).
/// Files no served service reaches are not visible, so a tool never sees a service it cannot
/// call.
package struct ReflectionIndex: Sendable {
    /// Fully qualified names of the served services, sorted.
    package let services: [String]
    private let files: [String: ProtoFileDescriptor]
    private let fileOfSymbol: [String: String]
    /// Each visible file's FileDescriptorProto bytes, decoded once.
    private let serialized: [String: [UInt8]]

    /// - Parameter services: the served services' full names (e.g. from every method's
    ///   descriptor); a service no generated file defines is listed but has no descriptor.
    package init(services: some Sequence<String>, descriptors: [ProtoFileDescriptor] = ProtoFileDescriptors.all) {
        let served = Set(services)
        self.services = served.sorted()
        let all = Dictionary(descriptors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // Visible: the files defining a served service, and everything they import.
        var visible: [String: ProtoFileDescriptor] = [:]
        var pending = descriptors.filter { !served.isDisjoint(with: $0.symbols) }.map(\.name)
        while let name = pending.popLast() {
            guard visible[name] == nil, let file = all[name] else { continue }
            visible[name] = file
            pending += file.dependencies
        }
        files = visible
        serialized = visible.mapValues(\.serialized)
        var fileOfSymbol: [String: String] = [:]
        for file in visible.values {
            for symbol in file.symbols { fileOfSymbol[symbol] = file.name }
        }
        self.fileOfSymbol = fileOfSymbol
    }

    package func answer(_ question: ReflectionQuestion) -> ReflectionAnswer {
        switch question {
        case .listServices:
            return .services(services)
        case .fileByFilename(let name):
            guard files[name] != nil else { return .error(.notFound, "file not found: \(name)") }
            return .files(withImports(name))
        case .fileContainingSymbol(let symbol):
            guard let name = fileOfSymbol[symbol] else { return .error(.notFound, "symbol not found: \(symbol)") }
            return .files(withImports(name))
        case .fileContainingExtension(let type, let number):
            // No served proto declares extensions.
            return .error(.notFound, "extension not found: \(type) field \(number)")
        case .allExtensionNumbersOfType(let type):
            guard fileOfSymbol[type] != nil else { return .error(.notFound, "type not found: \(type)") }
            return .extensionNumbers(type: type, numbers: [])
        case .none:
            return .error(.invalidArgument, "the request asks nothing: set one of its message_request fields")
        }
    }

    /// `name`'s serialized descriptor, then those of everything it imports (each once).
    private func withImports(_ name: String) -> [[UInt8]] {
        var order: [String] = []
        var seen: Set<String> = []
        var pending = [name]
        while !pending.isEmpty {
            let next = pending.removeFirst()
            guard seen.insert(next).inserted, let file = files[next] else { continue }
            order.append(next)
            pending += file.dependencies
        }
        return order.compactMap { serialized[$0] }
    }
}

extension ProtoFileDescriptor {
    /// The FileDescriptorProto bytes (the generator wrote valid base64).
    var serialized: [UInt8] {
        guard let bytes = Base64.decode(serializedBase64.utf8) else {
            preconditionFailure("\(name): the generated descriptor is not base64: rerun Protos/generate.sh")
        }
        return bytes
    }
}
