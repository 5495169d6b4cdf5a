import CellHubProto
import Foundation
import RPC
import Testing

/// The proto3 JSON mapping against Python's `google.protobuf.json_format` (the reference the
/// mapping is specified by), on random messages of every type, both ways.
@Suite("Cross-language: Swift JSON ⇄ Python json_format")
struct ProtoJSONCrossLanguageTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cellhub-json-\(UUID())")

    init() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    private func file(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// Eight random values of every message type, with their names.
    private func originals(seed: UInt64) throws -> [(String, any ProtoJSONCodable)] {
        var out: [(String, any ProtoJSONCodable)] = []
        for (name, type) in MessageTypes.all {
            for offset in 0..<UInt64(8) {
                out.append((name, try #require(MessageTypes.random(type, seed: seed + offset) as? any ProtoJSONCodable)))
            }
        }
        return out
    }

    @Test("Swift's JSON is json_format's: MessageToDict's keys and values, MessageToJson's indented text")
    func swiftJSONMatchesPython() throws {
        // Python sees the messages through their binary encoding, so compare messages as the binary
        // carries them: protobuf-c 1.4 writes no -0.0 for a proto3 double (C++ and upb do), so a
        // -0.0 would reach Python as 0.0. (Our JSON writes -0.0, as json_format does; see ProtoJSONTests.)
        let messages = try originals(seed: 3_000).map { name, message in
            (name, try type(of: message).init(serializedBytes: message.serializedBytes()))
        }
        try RecordFile.write(messages.map { ($0.0, $0.1.serializedBytes()) }, to: file("messages.bin"))
        try RecordFile.write(messages.map { ($0.0, $0.1.jsonUTF8()) }, to: file("compact.json"))
        try RecordFile.write(messages.map { ($0.0, $0.1.jsonUTF8(pretty: true)) }, to: file("pretty.json"))
        let verdict = try PythonRunner.run("crosslang.py", ["json-check", file("messages.bin").path, file("compact.json").path, file("pretty.json").path])
        #expect(verdict.contains("\(messages.count) records match json_format"))
    }

    @Test("json_format.Parse reads Swift's JSON as the same messages")
    func pythonParsesSwiftJSON() throws {
        let messages = try originals(seed: 4_000)
        try RecordFile.write(messages.map { ($0.0, $0.1.jsonUTF8()) }, to: file("swift.json"))
        try PythonRunner.run("crosslang.py", ["json-parse", file("swift.json").path, file("python.bin").path])
        let returned = try RecordFile.read(file("python.bin"))
        try #require(returned.count == messages.count)
        for ((name, original), (returnedName, bytes)) in zip(messages, returned) {
            #expect(returnedName == name)
            let decoded = try #require(ProtoRegistry.messageTypes[name]).init(serializedBytes: bytes)
            #expect(MessageTypes.equal(decoded, original), "\(name) changed through Swift JSON and json_format.Parse")
        }
    }

    /// Python writes JSON for Swift's random values and for its own (which reach corners Swift's
    /// generator does not, e.g. other floats); Swift must read each as the binary-decoded message.
    @Test("Swift reads json_format.MessageToJson's output as the same messages", arguments: ["json", "proto"])
    func swiftParsesPythonJSON(fieldNames: String) throws {
        let names = file("names.txt")
        try MessageTypes.all.map(\.name).joined(separator: "\n").write(to: names, atomically: true, encoding: .utf8)
        try PythonRunner.run("crosslang.py", ["generate", names.path, file("python.bin").path, "8", "2027"])
        let swiftMessages = try originals(seed: 5_000).map { ($0.0, $0.1.serializedBytes()) }
        let records = swiftMessages + (try RecordFile.read(file("python.bin")))
        try RecordFile.write(records, to: file("all.bin"))
        try PythonRunner.run("crosslang.py", ["json-encode", file("all.bin").path, file("python.json").path, fieldNames])
        let texts = try RecordFile.read(file("python.json"))
        try #require(texts.count == records.count)
        for ((name, bytes), (_, text)) in zip(records, texts) {
            let type = try #require(ProtoRegistry.jsonMessageType(name))
            let expected = try type.init(serializedBytes: bytes)
            do {
                let decoded = try type.init(jsonUTF8: text)
                #expect(MessageTypes.equal(decoded, expected), "\(name): JSON from json_format read differently:\n\(String(decoding: text.prefix(2000), as: UTF8.self))")
            } catch {
                Issue.record("\(error)\n\(String(decoding: text.prefix(2000), as: UTF8.self))")
            }
        }
    }
}
