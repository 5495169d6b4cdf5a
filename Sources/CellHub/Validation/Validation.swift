/// Input rules shared by every operation; violations become INVALID_ARGUMENT with the
/// message given here.
public enum Validation {
    public struct Failure: Error, Equatable, Sendable {
        public let message: String

        public init(message: String) { self.message = message }
    }

    /// A display name: 1...maxLength characters after trimming, no control characters.
    public static func name(_ value: String, field: String, maxLength: Int = 200) throws(Failure) -> String {
        let trimmed = value.trimmingWhitespace
        guard !trimmed.isEmpty else { throw Failure(message: "\(field) must not be empty") }
        guard trimmed.count <= maxLength else { throw Failure(message: "\(field) is longer than \(maxLength) characters") }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Failure(message: "\(field) must not contain control characters")
        }
        return trimmed
    }

    /// An id: a lowercase canonical UUID (8-4-4-4-12 hex digits).
    public static func id(_ value: String, field: String) throws(Failure) -> String {
        let bytes = Array(value.utf8)
        let dashes: Set<Int> = [8, 13, 18, 23]
        let valid = bytes.count == 36 && bytes.indices.allSatisfy { index in
            dashes.contains(index) ? bytes[index] == UInt8(ascii: "-") : ((0x30...0x39).contains(bytes[index]) || (0x61...0x66).contains(bytes[index]))
        }
        guard valid else { throw Failure(message: "\(field) '\(value.prefix(64))' is not a valid id") }
        return value
    }

    /// A page size: 0 means the default, above the maximum is clamped, negative is refused.
    public static func pageSize(_ value: Int32, default defaultSize: Int = 50, maximum: Int = 500) throws(Failure) -> Int {
        guard value >= 0 else { throw Failure(message: "page_size must not be negative") }
        return value == 0 ? defaultSize : min(Int(value), maximum)
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
