import CellHubProto
import RPC
import Testing

@Suite("Malformed input yields a typed error, never a crash")
struct MalformedInputTests {
    /// Hand-made encodings of ProjectStats (field 1 is the string `project_id`).
    @Test("table of malformed encodings", arguments: [
        ("truncated varint", [0x10, 0xFF]),
        ("truncated length-delimited value", [0x0A, 0x05, 0x61, 0x62]),
        ("wrong wire type for a string field", [0x08, 0x01] + [0x0D, 0, 0, 0]),
        ("length past the end", [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x61]),
        ("over-long varint (11 bytes)", [0x10] + [UInt8](repeating: 0xFF, count: 10) + [0x01]),
        ("field number 0", [0x00, 0x01]),
        ("end-group without start", [0x0C]),
        ("wire type 7", [0x0F, 0x00]),
    ] as [(String, [UInt8])])
    func malformed(_ label: String, _ bytes: [UInt8]) {
        #expect(throws: ProtoDecodingError.malformed(message: "cellhub.v1.ProjectStats"), "\(label)") {
            try ProjectStats(serializedBytes: bytes)
        }
    }

    @Test("a string field with invalid UTF-8 is rejected by name")
    func invalidUTF8() {
        let bytes: [UInt8] = [0x0A, 0x02, 0xC3, 0x28]  // project_id = C3 28: a broken 2-byte sequence
        #expect(throws: ProtoDecodingError.invalidUTF8(field: "project_id")) {
            try ProjectStats(serializedBytes: bytes)
        }
    }

    @Test("a string field with an embedded NUL is rejected, not cut short")
    func embeddedNUL() {
        let bytes: [UInt8] = [0x0A, 0x03, 0x61, 0x00, 0x62]  // project_id = "a\0b"
        #expect(throws: ProtoDecodingError.embeddedNUL(field: "project_id")) {
            try ProjectStats(serializedBytes: bytes)
        }
        let repeated: [UInt8] = [0x0A, 0x02, 0x00, 0x61]  // AffectedImages.image_ids = ["\0a"]
        #expect(throws: ProtoDecodingError.embeddedNUL(field: "image_ids")) {
            try AffectedImages(serializedBytes: repeated)
        }
    }

    @Test("every prefix of a valid encoding decodes or throws", arguments: MessageTypes.all.map(\.name))
    func truncations(name: String) throws {
        let type = try #require(ProtoRegistry.messageTypes[name])
        let bytes = MessageTypes.random(type, seed: 7).serializedBytes()
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 200)) {
            expectDecodesOrThrowsTyped(type, Array(bytes.prefix(cut)))
        }
    }

    @Test("thousands of random and mutated buffers", arguments: MessageTypes.all.map(\.name))
    func fuzz(name: String) throws {
        let type = try #require(ProtoRegistry.messageTypes[name])
        var source = RandomSource(seed: UInt64(name.utf8.count))
        let valid = (0..<UInt64(20)).map { MessageTypes.random(type, seed: $0).serializedBytes() }
        var decodedCount = 0
        for round in 0..<1_500 {
            var bytes: [UInt8]
            if round % 3 == 0 {
                bytes = (0..<source.choice(64)).map { _ in UInt8(truncatingIfNeeded: source.next()) }
            } else {
                bytes = valid[round % valid.count]
                if bytes.isEmpty { bytes = [0x08, 0x01] }
                for _ in 0...source.choice(4) {
                    let index = source.choice(bytes.count)
                    switch source.choice(3) {
                    case 0: bytes[index] = UInt8(truncatingIfNeeded: source.next())
                    case 1: bytes.insert(UInt8(truncatingIfNeeded: source.next()), at: index)
                    default: bytes.remove(at: index); if bytes.isEmpty { bytes = [0xFF] }
                    }
                }
            }
            if expectDecodesOrThrowsTyped(type, bytes) { decodedCount += 1 }
        }
        // The mutations must not all be rejected (or all accepted): both paths were exercised.
        #expect(decodedCount > 0)
        #expect(decodedCount < 1_500)
    }

    /// Returns whether it decoded; a decoded value must also re-encode and decode again to
    /// the same encoding (bytes, not values: mutated doubles can be NaN, unequal to itself).
    @discardableResult
    private func expectDecodesOrThrowsTyped(_ type: any RPCMessage.Type, _ bytes: [UInt8]) -> Bool {
        do {
            let encoding = try type.init(serializedBytes: bytes).serializedBytes()
            #expect(try type.init(serializedBytes: encoding).serializedBytes() == encoding)
            return true
        } catch is ProtoDecodingError {
            return false
        } catch {
            Issue.record("untyped error \(error)")
            return false
        }
    }
}
