import CellHubProto
import Testing
import TestSupport

@Suite("JSON parser and serializer")
struct JSONValueTests {
    @Test("valid texts parse and serialize compactly", arguments: [
        (" { \"a\" : [ 1 , -2.5e+3 , true , false , null ] , \"b\" : {} , \"c\" : [] } ", #"{"a":[1,-2.5e+3,true,false,null],"b":{},"c":[]}"#),
        ("0", "0"),
        ("-0", "-0"),
        ("\t\r\n\"x\"\n", #""x""#),
        (#"{"dup":1,"dup":2}"#, #"{"dup":1,"dup":2}"#),
        (#"[[[]],{"":""}]"#, #"[[[]],{"":""}]"#),
    ])
    func validTexts(input: String, compact: String) throws {
        #expect(try JSONValue(parsing: input).serialized() == compact)
    }

    @Test("escapes decode, surrogate pairs join, and the serializer escapes only what it must")
    func escapes() throws {
        let value = try JSONValue(parsing: #""\"\\\/\b\f\n\r\t\u00e9\u00E9\ud83e\uDDEB\u0000\u001f é🧫""#)
        #expect(value == .string("\"\\/\u{8}\u{C}\n\r\téé🧫\u{0}\u{1F} é🧫"))
        // Python's json.dumps(ensure_ascii=False): named escapes, \u00XX for other controls, UTF-8 otherwise.
        #expect(value.serialized() == #""\"\\/\b\f\n\r\t\#u{E9}\#u{E9}🧫\u0000\u001f \#u{E9}🧫""#)
        #expect(JSONValue.string("\u{7F}\u{2028}\u{10FFFF}").serialized() == "\"\u{7F}\u{2028}\u{10FFFF}\"")
    }

    @Test("numbers keep their text: 64-bit integers and doubles round-trip exactly")
    func numbersKeepText() throws {
        let text = #"[18446744073709551615,-9223372036854775808,1.7976931348623157e308,5e-324,1e400,0.1000000000000000055511151231257827]"#
        let value = try JSONValue(parsing: text)
        #expect(value.serialized() == text)
        guard case .array(let numbers) = value, case .number(let first) = numbers[0] else {
            Issue.record("not an array of numbers")
            return
        }
        #expect(first.text == "18446744073709551615")
        #expect(JSONNumber(text: "01") == nil && JSONNumber(text: "1.") == nil && JSONNumber(text: "-") == nil)
        #expect(JSONNumber(text: "-0.5E-7")?.double == -0.5e-7)
    }

    @Test("doubles and floats are written like Python's repr", arguments: [
        (1.0, "1.0"), (-0.0, "-0.0"), (0.1, "0.1"), (1e16, "1e+16"), (1e15, "1000000000000000.0"),
        (0.0001, "0.0001"), (0.00001, "1e-05"), (.leastNonzeroMagnitude, "5e-324"), (.greatestFiniteMagnitude, "1.7976931348623157e+308"),
        (123.456, "123.456"), (-2.25, "-2.25"), (1.5e300, "1.5e+300"), (9007199254740992, "9007199254740992.0"), (4.35, "4.35"),
    ] as [(Double, String)])
    func doubleLayout(value: Double, text: String) {
        #expect(JSONNumber(value)?.text == text)
    }

    @Test("floats are written as their shortest float digits")
    func floatLayout() {
        #expect(JSONNumber(Float(0.1))?.text == "0.1")
        #expect(JSONNumber(Float.greatestFiniteMagnitude)?.text == "3.4028235e+38")
        #expect(JSONNumber(Float(16_777_216))?.text == "16777216.0")
        #expect(JSONNumber(Float.nan) == nil && JSONNumber(Double.infinity) == nil)
    }

    @Test("invalid input names the problem and its byte offset", arguments: [
        ("", JSONParseError.Reason.unexpectedEnd, 0),
        ("   ", .unexpectedEnd, 3),
        ("[1,]", .unexpectedByte(UInt8(ascii: "]")), 3),
        (#"{"a" 1}"#, .unexpectedByte(UInt8(ascii: "1")), 5),
        (#"{"a":1,}"#, .unexpectedByte(UInt8(ascii: "}")), 7),
        ("{1:2}", .unexpectedByte(UInt8(ascii: "1")), 1),
        ("[1 2]", .unexpectedByte(UInt8(ascii: "2")), 3),
        ("01", .invalidNumber, 0),
        ("[1.]", .invalidNumber, 1),
        ("-", .invalidNumber, 0),
        ("1e", .invalidNumber, 0),
        ("+1", .unexpectedByte(UInt8(ascii: "+")), 0),
        ("NaN", .unexpectedByte(UInt8(ascii: "N")), 0),
        ("Infinity", .unexpectedByte(UInt8(ascii: "I")), 0),
        ("tru", .unexpectedEnd, 3),
        ("nul1", .unexpectedByte(UInt8(ascii: "1")), 3),
        ("1 2", .trailingContent, 2),
        ("'a'", .unexpectedByte(UInt8(ascii: "'")), 0),
        (#""abc"#, .unexpectedEnd, 4),
        ("\"a\u{1}\"", .controlCharacterInString, 2),
        ("\"a\nb\"", .controlCharacterInString, 2),
        (#""\x""#, .invalidEscape, 1),
        (#""\u12G4""#, .invalidUnicodeEscape, 3),
        (#""\u12""#, .invalidUnicodeEscape, 3),
        (#"["\ud800"]"#, .unpairedSurrogate, 2),
        (#""\udc00\ud800""#, .unpairedSurrogate, 1),
        (#""\ud800\u0041""#, .unpairedSurrogate, 1),
        (#""\ud800x""#, .unpairedSurrogate, 1),
    ] as [(String, JSONParseError.Reason, Int)])
    func invalidText(input: String, reason: JSONParseError.Reason, offset: Int) {
        #expect(throws: JSONParseError(reason, at: offset)) { try JSONValue(parsing: input) }
    }

    @Test("malformed UTF-8 is rejected where it starts", arguments: [
        ([0x22, 0xC3, 0x28, 0x22], 1),  // bad continuation
        ([0x22, 0xC0, 0xAF, 0x22], 1),  // overlong "/"
        ([0x22, 0x61, 0xED, 0xA0, 0x80, 0x22], 2),  // an encoded surrogate
        ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1),  // past U+10FFFF
        ([0x22, 0xE2, 0x82], 1),  // truncated
        ([0xEF, 0xBB, 0xBF, 0x31], 0),  // a byte-order mark is not JSON
    ] as [([UInt8], Int)])
    func invalidUTF8(bytes: [UInt8], offset: Int) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: bytes) }
        do {
            _ = try JSONValue(parsing: bytes)
        } catch {
            #expect(error.offset == offset)
            if offset > 0 { #expect(error.reason == .invalidUTF8) }
        }
    }

    @Test("nesting is limited: 100 levels parse, 101 do not")
    func depthLimit() throws {
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        _ = try JSONValue(parsing: ok)
        let deep = "[" + ok + "]"
        #expect(throws: JSONParseError(.tooDeep(limit: 100), at: 100)) { try JSONValue(parsing: deep) }
        _ = try JSONValue(parsing: #"{"a":[{"b":1}]}"#, maxDepth: 3)
        #expect(throws: JSONParseError(.tooDeep(limit: 2), at: 6)) { try JSONValue(parsing: #"{"a":[{"b":1}]}"#, maxDepth: 2) }
        // Far past the limit fails the same way rather than exhausting the stack.
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: String(repeating: "[", count: 1_000_000)) }
    }

    @Test("indented output is json.dumps(indent=2)'s layout")
    func pretty() throws {
        let value = try JSONValue(parsing: #"{"a":[1,{"b":null}],"c":{},"d":[],"e":"x"}"#)
        #expect(value.serialized(pretty: true) == """
            {
              "a": [
                1,
                {
                  "b": null
                }
              ],
              "c": {},
              "d": [],
              "e": "x"
            }
            """)
    }

    @Test("random values survive serialize-then-parse, compact and indented")
    func randomRoundTrip() throws {
        var random = SeededRandom(seed: 2026)
        for _ in 0..<300 {
            let value = Self.randomValue(&random, depth: 0)
            #expect(try JSONValue(parsing: value.serialized()) == value)
            #expect(try JSONValue(parsing: value.serializedUTF8(pretty: true)) == value)
        }
    }

    static func randomValue(_ random: inout SeededRandom, depth: Int) -> JSONValue {
        let scalars: [Unicode.Scalar] = ["a", "\"", "\\", "/", "\u{0}", "\u{1F}", "\u{7F}", "é", "\u{FFFF}", "🧫", "\u{10FFFF}", " "]
        switch Int.random(in: 0..<(depth < 4 ? 7 : 5), using: &random) {
        case 0: return .null
        case 1: return .bool(random.chance(0.5))
        case 2:
            let numbers: [JSONNumber?] = [JSONNumber(Int64.random(in: .min ... .max, using: &random)), JSONNumber(UInt64.max),
                                          JSONNumber(Double(bitPattern: random.next() & 0x7FEF_FFFF_FFFF_FFFF)), JSONNumber(text: "-0.0e-0")]
            return .number(numbers.randomElement(using: &random)!!)
        case 3, 4:
            var string = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0..<12, using: &random) { string.append(scalars.randomElement(using: &random)!) }
            return .string(String(string))
        case 5: return .array((0..<Int.random(in: 0..<5, using: &random)).map { _ in randomValue(&random, depth: depth + 1) })
        default:
            return .object((0..<Int.random(in: 0..<5, using: &random)).map { index in
                JSONValue.Member("k\(index)", randomValue(&random, depth: depth + 1))
            })
        }
    }
}
