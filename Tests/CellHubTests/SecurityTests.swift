import CellHub
import CellHubCrypto
import Testing

@Suite struct SHA256Tests {
    /// FIPS 180-4 / NIST example vectors, plus block-boundary lengths.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func vectors(input: String, digest: String) {
        #expect(SHA256.hexHash(input.utf8) == digest)
    }

    @Test func millionAs() {
        #expect(SHA256.hexHash([UInt8](repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Feeding in pieces (any split) gives the same digest as one call.
    @Test(arguments: [1, 7, 63, 64, 65, 1000])
    func incremental(pieceSize: Int) {
        let data = (0..<3_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var hasher = SHA256()
        for start in stride(from: 0, to: data.count, by: pieceSize) {
            hasher.update(data[start..<min(start + pieceSize, data.count)])
        }
        #expect(hasher.finalize() == SHA256.hash(data))
    }

    @Test func constantTimeEquality() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
    }
}

@Suite struct APITokenTests {
    @Test func generatedTokensAreWellFormedAndDistinct() {
        let tokens = (0..<100).map { _ in APIToken.generate() }
        #expect(Set(tokens).count == 100)
        #expect(tokens.allSatisfy(APIToken.isWellFormed))
        #expect(APIToken.hash(tokens[0]).count == 32)
    }

    @Test(arguments: ["", "chub_", "chub_" + String(repeating: "g", count: 64), "xxxx_" + String(repeating: "a", count: 64),
                      "chub_" + String(repeating: "A", count: 64), "chub_" + String(repeating: "a", count: 63)])
    func malformed(token: String) {
        #expect(!APIToken.isWellFormed(token))
    }
}

@Suite struct ValidationTests {
    @Test(arguments: [
        ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0], ImageFormat.png),
        ([0xFF, 0xD8, 0xFF, 0xE0], .jpeg),
        ([0x49, 0x49, 0x2A, 0x00, 8], .tiff),
        ([0x4D, 0x4D, 0x00, 0x2A, 0], .tiff),
        (Array("P5\n640 480\n255\n".utf8), .pgm),
        (Array("P2 3 2 255".utf8), .pgm),
    ] as [([UInt8], ImageFormat)])
    func detectsFormats(bytes: [UInt8], format: ImageFormat) {
        #expect(ImageFormat.detect(bytes) == format)
    }

    @Test(arguments: [[], [0x89, 0x50], Array("GIF89a".utf8), Array("P6\n".utf8), Array("%PDF-1.7".utf8)] as [[UInt8]])
    func rejectsOthers(bytes: [UInt8]) {
        #expect(ImageFormat.detect(bytes) == nil)
    }

    @Test func names() throws {
        let limit = Validation.TextLimit.projectName
        #expect(try Validation.name("  Mitochondria 2026  ", field: "name", limit: limit) == "Mitochondria 2026")
        #expect(throws: Validation.Failure(message: "name must not be empty")) { try Validation.name("   ", field: "name", limit: limit) }
        #expect(throws: Validation.Failure(message: "name must not contain control characters (U+0007)")) {
            try Validation.name("a\u{07}b", field: "name", limit: limit)
        }
        #expect(throws: Validation.Failure(message: "name is longer than 3 characters")) {
            try Validation.name("abcd", field: "name", limit: Validation.TextLimit(characters: 3, bytes: 100))
        }
    }

    /// A character limit alone bounds nothing: one "e" with 10,000 combining marks is one
    /// character of 20 KB. Bytes are bounded too, checked first.
    @Test func namesAreBoundedInBytes() throws {
        let heavy = "e" + String(repeating: "\u{301}", count: 10_000)
        #expect(heavy.count == 1)
        #expect(throws: Validation.Failure(message: "name is longer than 864 bytes (UTF-8)")) {
            try Validation.name(heavy, field: "name", limit: .projectName)
        }
        let flags = String(repeating: "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}", count: 200)
        #expect(flags.count == 200)
        #expect(throws: Validation.Failure.self) { try Validation.name(flags, field: "name", limit: .projectName) }
        // 28 flags are 784 bytes: within both limits.
        let fewer = String(repeating: "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}", count: 28)
        #expect(try Validation.name(fewer, field: "name", limit: .projectName) == fewer)
        #expect(try Validation.name(String(repeating: "é", count: 200), field: "name", limit: .projectName).count == 200)
        #expect(throws: Validation.Failure(message: "d is longer than 20000 bytes (UTF-8)")) {
            try Validation.text(heavy + heavy, field: "d", limit: .description)
        }
    }

    @Test(arguments: ["\u{202E}", "\u{202A}", "\u{2066}", "\u{2069}", "\u{200E}", "\u{200F}", "\u{200B}", "\u{2060}", "\u{FEFF}", "\u{2028}"])
    func namesRefuseBidiAndInvisibleCharacters(character: String) {
        #expect(throws: Validation.Failure.self) { try Validation.name("cells\(character)txt.png", field: "name", limit: .imageName) }
    }

    @Test func namesKeepJoinerSequences() throws {
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}"
        #expect(try Validation.name("lab " + family, field: "name", limit: .projectName) == "lab " + family)
    }

    @Test func quotedValuesAreCutInBytes() {
        #expect(Validation.quoted("abc") == "'abc'")
        let heavy = "e" + String(repeating: "\u{301}", count: 10_000)
        let quoted = Validation.quoted(heavy)
        #expect(quoted.utf8.count <= 64 + 5)
        #expect(quoted.hasSuffix("…'"))
        #expect(Validation.quoted(String(repeating: "é", count: 40), maxBytes: 5) == "'éé…'")
    }

    @Test func ids() throws {
        #expect(try Validation.id("0b7c5e2a-4f1d-4c3e-9a6b-000000000001", field: "project_id") == "0b7c5e2a-4f1d-4c3e-9a6b-000000000001")
        for bad in ["", "0B7C5E2A-4F1D-4C3E-9A6B-000000000001", "0b7c5e2a4f1d4c3e9a6b000000000001", "0b7c5e2a-4f1d-4c3e-9a6b-00000000000g"] {
            #expect(throws: Validation.Failure.self) { try Validation.id(bad, field: "project_id") }
        }
    }

    @Test func pageSizes() throws {
        #expect(try Validation.pageSize(0) == 50)
        #expect(try Validation.pageSize(7) == 7)
        #expect(try Validation.pageSize(10_000) == 500)
        #expect(throws: Validation.Failure(message: "page_size must not be negative")) { try Validation.pageSize(-1) }
    }
}
