/// gRPC metadata: an ordered multimap of lower-case keys to text or (for `-bin` keys) bytes.
public struct Metadata: Sendable, Hashable, Sequence {
    public enum Value: Sendable, Hashable {
        case text(String)
        case binary([UInt8])
    }

    public struct Entry: Sendable, Hashable {
        public let key: String
        public let value: Value

        package init(key: String, value: Value) {
            self.key = key
            self.value = value
        }
    }

    private var entries: [Entry] = []

    public init() {}

    /// Text entries in order.
    public init(_ pairs: [(String, String)]) {
        for (key, value) in pairs { add(key, value) }
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    /// Adds a text value; `key` is lower-cased (HTTP/2 header names are lower case).
    public mutating func add(_ key: String, _ value: String) {
        entries.append(Entry(key: key.lowercased(), value: .text(value)))
    }

    /// Adds a binary value; the key must end in `-bin` (it travels base64-encoded).
    public mutating func add(_ key: String, binary value: [UInt8]) {
        let key = key.lowercased()
        precondition(key.hasSuffix("-bin"), "binary metadata keys end in -bin")
        entries.append(Entry(key: key, value: .binary(value)))
    }

    package mutating func append(_ entry: Entry) { entries.append(entry) }

    /// The first text value for `key`.
    public subscript(_ key: String) -> String? {
        for entry in entries where entry.key == key {
            if case .text(let value) = entry.value { return value }
        }
        return nil
    }

    /// The first binary value for `key` (a `-bin` key).
    public subscript(binary key: String) -> [UInt8]? {
        for entry in entries where entry.key == key {
            if case .binary(let value) = entry.value { return value }
        }
        return nil
    }

    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }
}
