import CellHubProto
import Foundation
import RPC
import Testing

/// Every message type crosses the language boundary both ways with Python's protobuf
/// (stubs from grpcio-tools; grpc.health.v1 from grpcio-health-checking's stock stubs).
@Suite("Cross-language: Swift ⇄ Python protobuf")
struct CrossLanguageTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cellhub-crosslang-\(UUID())")

    init() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    @Test("Swift-encoded values decode in Python to the same values")
    func swiftToPython() throws {
        var originals: [(String, any RPCMessage)] = []
        for (name, type) in MessageTypes.all {
            for seed in 0..<UInt64(8) {
                originals.append((name, MessageTypes.random(type, seed: 1_000 + seed)))
            }
        }
        let sent = directory.appendingPathComponent("swift.bin"), back = directory.appendingPathComponent("python.bin")
        try RecordFile.write(originals.map { ($0.0, $0.1.serializedBytes()) }, to: sent)
        // Python parses (dropping anything it cannot read) and re-encodes; if it read any
        // field differently, the value Swift decodes back differs from the original.
        try PythonRunner.run("crosslang.py", ["reencode", sent.path, back.path])
        let returned = try RecordFile.read(back)
        try #require(returned.count == originals.count)
        for ((name, original), (returnedName, bytes)) in zip(originals, returned) {
            #expect(returnedName == name)
            let decoded = try #require(ProtoRegistry.messageTypes[name]).init(serializedBytes: bytes)
            #expect(MessageTypes.equal(decoded, original), "\(name) changed crossing into Python and back")
        }
    }

    @Test("Python-encoded values decode in Swift to the same values")
    func pythonToSwift() throws {
        let names = directory.appendingPathComponent("names.txt")
        try MessageTypes.all.map(\.name).joined(separator: "\n").write(to: names, atomically: true, encoding: .utf8)
        let fromPython = directory.appendingPathComponent("python.bin"), fromSwift = directory.appendingPathComponent("swift.bin")
        try PythonRunner.run("crosslang.py", ["generate", names.path, fromPython.path, "8", "2026"])
        var reencoded: [(String, [UInt8])] = []
        for (name, bytes) in try RecordFile.read(fromPython) {
            let type = try #require(ProtoRegistry.messageTypes[name], "Python sent unknown type \(name)")
            reencoded.append((name, try type.init(serializedBytes: bytes).serializedBytes()))
        }
        #expect(reencoded.count == MessageTypes.all.count * 8)
        // Python compares each original with what Swift decoded and encoded again.
        let verdict = try PythonRunner.run("crosslang.py", ["compare", fromPython.path, fromSwift.pathWriting(reencoded)])
        #expect(verdict.contains("records equal"))
    }
}

extension URL {
    /// Writes `records` here and returns the path (keeps the call sites one line long).
    fileprivate func pathWriting(_ records: [(String, [UInt8])]) throws -> String {
        try RecordFile.write(records, to: self)
        return path
    }
}
