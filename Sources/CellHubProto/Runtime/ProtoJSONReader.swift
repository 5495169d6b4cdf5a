/// Walks one JSON object as a message; generated `init(jsonValue:options:)` loops over
/// `next()` and reads each field with the method for its type.
///
/// The walk resolves both JSON and proto field names, rejects a field given twice (by either
/// name) and two members of one oneof, skips `null` (the field keeps its default) and either
/// rejects or skips unknown members. Errors carry the path to the offending value.
struct ProtoJSONReader {
    private let fields: ProtoJSONFields
    private let options: JSONDecodingOptions
    private let members: [JSONValue.Member]
    private var position = 0
    private var seen: [Bool]
    /// The field index that set each oneof, or -1.
    private var oneofSetBy: [Int]
    /// The member `next()` returned last.
    private var key = ""
    private var value = JSONValue.null

    init(_ json: JSONValue, _ fields: ProtoJSONFields, _ options: JSONDecodingOptions) throws(ProtoJSONDecodingError) {
        guard case .object(let members) = json else {
            throw ProtoJSONDecodingError(.typeMismatch(expected: "an object", found: json.kindName), messageType: fields.messageType)
        }
        self.fields = fields
        self.options = options
        self.members = members
        seen = [Bool](repeating: false, count: fields.jsonNames.count)
        oneofSetBy = [Int](repeating: -1, count: fields.oneofCount)
    }

    /// The index of the next field with a non-null value, or nil at the end.
    mutating func next() throws(ProtoJSONDecodingError) -> Int? {
        while position < members.count {
            let member = members[position]
            position += 1
            guard let field = fields.index(of: member.key) else {
                if options.ignoreUnknownFields { continue }
                throw error(.unknownField(member.key), at: "")
            }
            guard !seen[field] else { throw error(.duplicateField(member.key), at: "") }
            seen[field] = true
            if case .null = member.value { continue }
            let oneof = fields.oneofOfField[field]
            if oneof >= 0 {
                let other = oneofSetBy[oneof]
                guard other < 0 else {
                    throw error(.multipleOneofFields(fields.jsonNames[other], fields.jsonNames[field]), at: "")
                }
                oneofSetBy[oneof] = field
            }
            key = member.key
            value = member.value
            return field
        }
        return nil
    }

    private func error(_ reason: ProtoJSONDecodingError.Reason, at path: String) -> ProtoJSONDecodingError {
        ProtoJSONDecodingError(reason, messageType: fields.messageType, path: path)
    }

    /// Converts the current value, attributing a failure to the current field.
    private func scalar<T>(_ convert: (JSONValue) throws(ProtoJSONValueError) -> T) throws(ProtoJSONDecodingError) -> T {
        do {
            return try convert(value)
        } catch {
            throw self.error(error.reason, at: key)
        }
    }

    /// Converts every element of the current value, which must be an array.
    private func array<T>(_ convert: (JSONValue) throws(ProtoJSONValueError) -> T) throws(ProtoJSONDecodingError) -> [T] {
        guard case .array(let elements) = value else {
            throw error(.typeMismatch(expected: "an array", found: value.kindName), at: key)
        }
        var out: [T] = []
        out.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            do throws(ProtoJSONValueError) {
                if case .null = element { throw ProtoJSONValueError(.nullElement) }
                out.append(try convert(element))
            } catch {
                throw self.error(error.reason, at: "\(key)[\(index)]")
            }
        }
        return out
    }

    // MARK: Singular fields

    func string() throws(ProtoJSONDecodingError) -> String { try scalar(ProtoJSONScalar.string) }

    func bytes() throws(ProtoJSONDecodingError) -> [UInt8] { try scalar(ProtoJSONScalar.bytes) }

    func bool() throws(ProtoJSONDecodingError) -> Bool { try scalar(ProtoJSONScalar.bool) }

    func integer<T: FixedWidthInteger>(_ type: T.Type = T.self) throws(ProtoJSONDecodingError) -> T {
        try scalar { (value) throws(ProtoJSONValueError) in try ProtoJSONScalar.integer(value, as: T.self) }
    }

    func double() throws(ProtoJSONDecodingError) -> Double { try scalar(ProtoJSONScalar.double) }

    func float() throws(ProtoJSONDecodingError) -> Float { try scalar(ProtoJSONScalar.float) }

    /// Nil for an unknown name when unknown fields are ignored (json_format then leaves the field unset).
    func enumeration<E: ProtoJSONEnum>(_ type: E.Type) throws(ProtoJSONDecodingError) -> E? {
        let ignoreUnknown = options.ignoreUnknownFields
        return try scalar { (value) throws(ProtoJSONValueError) in
            try ProtoJSONScalar.enumeration(value, as: E.self, ignoreUnknown: ignoreUnknown)
        }
    }

    func message<M: ProtoJSONCodable>(_ type: M.Type) throws(ProtoJSONDecodingError) -> M {
        do {
            return try M(jsonValue: value, options: options)
        } catch {
            throw error.nested(in: fields.messageType, at: key)
        }
    }

    // MARK: Repeated fields

    func strings() throws(ProtoJSONDecodingError) -> [String] { try array(ProtoJSONScalar.string) }

    func bytesArray() throws(ProtoJSONDecodingError) -> [[UInt8]] { try array(ProtoJSONScalar.bytes) }

    func bools() throws(ProtoJSONDecodingError) -> [Bool] { try array(ProtoJSONScalar.bool) }

    func integers<T: FixedWidthInteger>(_ type: T.Type = T.self) throws(ProtoJSONDecodingError) -> [T] {
        try array { (value) throws(ProtoJSONValueError) in try ProtoJSONScalar.integer(value, as: T.self) }
    }

    func doubles() throws(ProtoJSONDecodingError) -> [Double] { try array(ProtoJSONScalar.double) }

    func floats() throws(ProtoJSONDecodingError) -> [Float] { try array(ProtoJSONScalar.float) }

    /// Unknown names are dropped when unknown fields are ignored (as json_format does).
    func enumerations<E: ProtoJSONEnum>(_ type: E.Type) throws(ProtoJSONDecodingError) -> [E] {
        let ignoreUnknown = options.ignoreUnknownFields
        return try array { (value) throws(ProtoJSONValueError) -> E? in
            try ProtoJSONScalar.enumeration(value, as: E.self, ignoreUnknown: ignoreUnknown)
        }.compactMap { $0 }
    }

    func messages<M: ProtoJSONCodable>(_ type: M.Type) throws(ProtoJSONDecodingError) -> [M] {
        guard case .array(let elements) = value else {
            throw error(.typeMismatch(expected: "an array", found: value.kindName), at: key)
        }
        var out: [M] = []
        out.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            if case .null = element { throw error(.nullElement, at: "\(key)[\(index)]") }
            do {
                out.append(try M(jsonValue: element, options: options))
            } catch {
                throw error.nested(in: fields.messageType, at: "\(key)[\(index)]")
            }
        }
        return out
    }
}
