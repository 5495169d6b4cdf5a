/// Input rules shared by every operation; violations become INVALID_ARGUMENT with the
/// message given here.
///
/// Every string a request carries is bounded in UTF-8 bytes, and in characters (grapheme
/// clusters) where the API states a character limit: a character alone bounds nothing ("e"
/// followed by 10,000 combining marks is one character of 20 KB). Bytes are checked first,
/// so a huge value costs O(1) before anything walks it.
///
/// Names (projects, images) are display text others see: surrounding whitespace is trimmed
/// and the trimmed name is stored; control characters, bidirectional overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069, which can make a name display as something else), the
/// directional marks U+200E/U+200F, and invisible characters that carry no text (U+200B
/// zero-width space, U+2060 word joiner, U+FEFF, U+2028/U+2029 separators) are refused. The
/// zero-width (non-)joiners U+200C/U+200D stay allowed: emoji sequences and several scripts
/// need them.
public enum Validation {
    public struct Failure: Error, Equatable, Sendable {
        public let message: String

        public init(message: String) { self.message = message }
    }

    /// Limits of one text field: characters as the API states them, and UTF-8 bytes.
    public struct TextLimit: Sendable {
        public let characters: Int
        public let bytes: Int

        public static let projectName = TextLimit(characters: 200, bytes: 800)
        public static let imageName = TextLimit(characters: 255, bytes: 1_020)
        public static let description = TextLimit(characters: 5_000, bytes: 20_000)
        /// `name_contains` filters.
        public static let nameFilter = TextLimit(characters: 255, bytes: 1_020)
        /// User names (`cellhubd users add`, ShareProject's `user_name`).
        public static let userName = TextLimit(characters: 64, bytes: 256)

        public init(characters: Int, bytes: Int) {
            self.characters = characters
            self.bytes = bytes
        }
    }

    /// A display name: trimmed, 1...limit after trimming, no control, bidi or invisible
    /// characters (see the type's comment). Returns the trimmed name, which is what is stored.
    public static func name(_ value: String, field: String, limit: TextLimit) throws(Failure) -> String {
        try bytes(value, field: field, max: limit.bytes + 64)  // before trimming: a cheap bound
        let trimmed = value.trimmingWhitespace
        guard !trimmed.isEmpty else { throw Failure(message: "\(field) must not be empty") }
        try text(trimmed, field: field, limit: limit)
        if let refused = trimmed.unicodeScalars.first(where: isRefusedInName) {
            throw Failure(message: "\(field) must not contain \(describe(refused))")
        }
        return trimmed
    }

    /// Free text (a description): within `limit`, no NUL.
    public static func text(_ value: String, field: String, limit: TextLimit) throws(Failure) {
        try bytes(value, field: field, max: limit.bytes)
        guard value.count <= limit.characters else { throw Failure(message: "\(field) is longer than \(limit.characters) characters") }
        guard !value.utf8.contains(0) else { throw Failure(message: "\(field) must not contain NUL characters") }
    }

    /// Any string field: at most `max` UTF-8 bytes.
    public static func bytes(_ value: String, field: String, max: Int) throws(Failure) {
        guard value.utf8.count <= max else { throw Failure(message: "\(field) is longer than \(max) bytes (UTF-8)") }
    }

    /// `value` for an error message: quoted, cut to `maxBytes` (an ellipsis marks the cut), so
    /// a message never echoes a request's whole value.
    public static func quoted(_ value: String, maxBytes: Int = 64) -> String {
        guard value.utf8.count > maxBytes else { return "'\(value)'" }
        var used = 0
        var scalars = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            used += UTF8.width(scalar)
            if used > maxBytes { break }
            scalars.append(scalar)
        }
        return "'\(String(scalars))…'"
    }

    /// An id: a lowercase canonical UUID (8-4-4-4-12 hex digits).
    public static func id(_ value: String, field: String) throws(Failure) -> String {
        let bytes = Array(value.utf8.prefix(37))
        let dashes: Set<Int> = [8, 13, 18, 23]
        let valid = bytes.count == 36 && bytes.indices.allSatisfy { index in
            dashes.contains(index) ? bytes[index] == UInt8(ascii: "-") : ((0x30...0x39).contains(bytes[index]) || (0x61...0x66).contains(bytes[index]))
        }
        guard valid else { throw Failure(message: "\(field) \(quoted(value)) is not a valid id") }
        return value
    }

    /// A page size: 0 means the default, above the maximum is clamped, negative is refused.
    public static func pageSize(_ value: Int32, default defaultSize: Int = 50, maximum: Int = 500) throws(Failure) -> Int {
        guard value >= 0 else { throw Failure(message: "page_size must not be negative") }
        return value == 0 ? defaultSize : min(Int(value), maximum)
    }

    private static func isRefusedInName(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x200B, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2060, 0x2066...0x2069, 0xFEFF: true
        default: scalar.properties.generalCategory == .control
        }
    }

    private static func describe(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        switch scalar.value {
        case 0x202A...0x202E, 0x2066...0x2069: return "bidirectional control characters (\(code))"
        case 0x200E, 0x200F: return "directional marks (\(code))"
        case 0x200B, 0x2060, 0xFEFF, 0x2028, 0x2029: return "invisible characters (\(code))"
        default: return "control characters (\(code))"
        }
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
