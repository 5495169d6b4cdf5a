extension JSONValue {
    /// The default nesting limit for arrays and objects (the same as json_format's recursion limit).
    public static let defaultMaxDepth = 100

    /// Parses exactly one JSON text (RFC 8259, UTF-8, no byte-order mark), surrounded by
    /// optional whitespace; arrays and objects may nest at most `maxDepth` deep.
    public init(parsing bytes: some Collection<UInt8>, maxDepth: Int = JSONValue.defaultMaxDepth) throws(JSONParseError) {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) in try JSONParser.parse(buffer, maxDepth: maxDepth) }
        } ?? Array(bytes).withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) in try JSONParser.parse(buffer, maxDepth: maxDepth) }
        }
        self = try result.get()
    }

    public init(parsing text: String, maxDepth: Int = JSONValue.defaultMaxDepth) throws(JSONParseError) {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONParseError) in try JSONParser.parse(buffer, maxDepth: maxDepth) }
        }
        self = try result.get()
    }
}

/// A strict recursive-descent parser over contiguous UTF-8 (recursion is bounded by `maxDepth`).
struct JSONParser {
    private let input: UnsafeBufferPointer<UInt8>
    private let maxDepth: Int
    private var position = 0
    private var depth = 0
    /// Reused for strings that hold escapes (the others are copied straight from the input).
    private var scratch: [UInt8] = []

    static func parse(_ input: UnsafeBufferPointer<UInt8>, maxDepth: Int) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(input: input, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.position == input.count else { throw JSONParseError(.trailingContent, at: parser.position) }
        return value
    }

    private init(input: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.input = input
        self.maxDepth = maxDepth
    }

    private mutating func skipWhitespace() {
        while position < input.count {
            switch input[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private func unexpected() -> JSONParseError {
        position < input.count ? JSONParseError(.unexpectedByte(input[position]), at: position) : JSONParseError(.unexpectedEnd, at: position)
    }

    private mutating func value() throws(JSONParseError) -> JSONValue {
        guard position < input.count else { throw JSONParseError(.unexpectedEnd, at: position) }
        switch input[position] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw unexpected()
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        for i in 0..<count {
            guard position < input.count, input[position] == word.utf8Start[i] else { throw unexpected() }
            position += 1
        }
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        guard depth <= maxDepth else { throw JSONParseError(.tooDeep(limit: maxDepth), at: position) }
        position += 1
        skipWhitespace()
    }

    private mutating func object() throws(JSONParseError) -> JSONValue {
        try enter()
        var members: [JSONValue.Member] = []
        if position < input.count, input[position] == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(members)
        }
        while true {
            guard position < input.count, input[position] == UInt8(ascii: "\"") else { throw unexpected() }
            let key = try string()
            skipWhitespace()
            guard position < input.count, input[position] == UInt8(ascii: ":") else { throw unexpected() }
            position += 1
            skipWhitespace()
            members.append(JSONValue.Member(key, try value()))
            skipWhitespace()
            guard position < input.count else { throw unexpected() }
            if input[position] == UInt8(ascii: ",") {
                position += 1
                skipWhitespace()
            } else if input[position] == UInt8(ascii: "}") {
                position += 1
                depth -= 1
                return .object(members)
            } else {
                throw unexpected()
            }
        }
    }

    private mutating func array() throws(JSONParseError) -> JSONValue {
        try enter()
        var elements: [JSONValue] = []
        if position < input.count, input[position] == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            elements.append(try value())
            skipWhitespace()
            guard position < input.count else { throw unexpected() }
            if input[position] == UInt8(ascii: ",") {
                position += 1
                skipWhitespace()
            } else if input[position] == UInt8(ascii: "]") {
                position += 1
                depth -= 1
                return .array(elements)
            } else {
                throw unexpected()
            }
        }
    }

    private mutating func number() throws(JSONParseError) -> JSONNumber {
        let start = position
        let length = JSONNumber.syntaxLength(input, from: start)
        guard length > 0 else { throw JSONParseError(.invalidNumber, at: start) }
        position += length
        // "01" or "1x" read as a number then junk: RFC 8259 numbers end at a delimiter.
        if position < input.count {
            switch input[position] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"),
                UInt8(ascii: "+"), UInt8(ascii: "-"):
                throw JSONParseError(.invalidNumber, at: start)
            default: break
            }
        }
        return JSONNumber(validated: String(decoding: UnsafeBufferPointer(rebasing: input[start..<position]), as: UTF8.self))
    }

    /// A string starting at the opening quote; on return `position` is past the closing quote.
    private mutating func string() throws(JSONParseError) -> String {
        position += 1
        let start = position
        var hasEscapes = false
        // Fast scan: most strings are plain ASCII with no escapes and are copied in one go.
        while true {
            guard position < input.count else { throw JSONParseError(.unexpectedEnd, at: position) }
            let byte = input[position]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                break
            }
            if byte < 0x20 { throw JSONParseError(.controlCharacterInString, at: position) }
            if byte >= 0x80 {
                position = try Self.validateUTF8Scalar(input, at: position)
            } else {
                position += 1
            }
        }
        if !hasEscapes {
            let bytes = UnsafeBufferPointer(rebasing: input[start..<position])
            position += 1
            return String(decoding: bytes, as: UTF8.self)
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<position]))
        while true {
            guard position < input.count else { throw JSONParseError(.unexpectedEnd, at: position) }
            let byte = input[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try escape()
            case 0..<0x20:
                throw JSONParseError(.controlCharacterInString, at: position)
            case 0x80...:
                let end = try Self.validateUTF8Scalar(input, at: position)
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[position..<end]))
                position = end
            default:
                scratch.append(byte)
                position += 1
            }
        }
    }

    /// One escape sequence at `position` (the backslash), appended to `scratch` as UTF-8.
    private mutating func escape() throws(JSONParseError) {
        let start = position
        guard position + 1 < input.count else { throw JSONParseError(.unexpectedEnd, at: input.count) }
        let kind = input[position + 1]
        position += 2
        let simple: UInt8? = switch kind {
        case UInt8(ascii: "\""): 0x22
        case UInt8(ascii: "\\"): 0x5C
        case UInt8(ascii: "/"): 0x2F
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
        if let simple {
            scratch.append(simple)
            return
        }
        guard kind == UInt8(ascii: "u") else { throw JSONParseError(.invalidEscape, at: start) }
        var scalar = try hex4()
        if (0xDC00...0xDFFF).contains(scalar) { throw JSONParseError(.unpairedSurrogate, at: start) }
        if (0xD800...0xDBFF).contains(scalar) {
            guard position + 1 < input.count, input[position] == UInt8(ascii: "\\"), input[position + 1] == UInt8(ascii: "u") else {
                throw JSONParseError(.unpairedSurrogate, at: start)
            }
            position += 2
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw JSONParseError(.unpairedSurrogate, at: start) }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        scratch.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard position + 4 <= input.count else { throw JSONParseError(.invalidUnicodeEscape, at: position) }
        var value: UInt32 = 0
        for i in 0..<4 {
            let byte = input[position + i]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONParseError(.invalidUnicodeEscape, at: position)
            }
            value = value << 4 | UInt32(digit)
        }
        position += 4
        return value
    }

    /// Checks the multi-byte UTF-8 sequence at `start` (no overlongs, surrogates or values
    /// past U+10FFFF) and returns the offset after it.
    static func validateUTF8Scalar(_ input: UnsafeBufferPointer<UInt8>, at start: Int) throws(JSONParseError) -> Int {
        let lead = input[start]
        let count: Int, minimum: UInt32
        var scalar: UInt32
        switch lead {
        case 0xC2...0xDF: count = 2; minimum = 0x80; scalar = UInt32(lead & 0x1F)
        case 0xE0...0xEF: count = 3; minimum = 0x800; scalar = UInt32(lead & 0x0F)
        case 0xF0...0xF4: count = 4; minimum = 0x10000; scalar = UInt32(lead & 0x07)
        default: throw JSONParseError(.invalidUTF8, at: start)
        }
        guard start + count <= input.count else { throw JSONParseError(.invalidUTF8, at: start) }
        for i in 1..<count {
            let byte = input[start + i]
            guard byte & 0xC0 == 0x80 else { throw JSONParseError(.invalidUTF8, at: start) }
            scalar = scalar << 6 | UInt32(byte & 0x3F)
        }
        guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else {
            throw JSONParseError(.invalidUTF8, at: start)
        }
        return start + count
    }
}
