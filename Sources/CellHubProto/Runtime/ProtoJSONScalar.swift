internal import RPC

/// The proto3 JSON forms of scalar values, both ways (https://protobuf.dev/programming-guides/json/).
enum ProtoJSONScalar {
    typealias Failure = ProtoJSONValueError

    // MARK: Encoding

    static func jsonBytes(_ value: [UInt8]) -> JSONValue { .string(Base64.encode(value)) }

    static func jsonDouble(_ value: Double) -> JSONValue {
        if let number = JSONNumber(value) { return .number(number) }
        return .string(value.isNaN ? "NaN" : value < 0 ? "-Infinity" : "Infinity")
    }

    static func jsonFloat(_ value: Float) -> JSONValue {
        if let number = JSONNumber(value) { return .number(number) }
        return .string(value.isNaN ? "NaN" : value < 0 ? "-Infinity" : "Infinity")
    }

    /// The value's name, or its number when this build knows no name for it.
    static func jsonEnum<E: ProtoJSONEnum>(_ value: E) -> JSONValue {
        if let name = E.protoJSONNames.name(of: value.rawValue) { return .string(name) }
        return .number(JSONNumber(value.rawValue))
    }

    // MARK: Decoding

    static func string(_ json: JSONValue) throws(Failure) -> String {
        guard case .string(let value) = json else { throw .typeMismatch(expected: "a string", found: json.kindName) }
        return value
    }

    static func bool(_ json: JSONValue) throws(Failure) -> Bool {
        guard case .bool(let value) = json else { throw .typeMismatch(expected: "true or false", found: json.kindName) }
        return value
    }

    /// Standard or URL-safe base64, padded or not.
    static func bytes(_ json: JSONValue) throws(Failure) -> [UInt8] {
        guard case .string(let text) = json else { throw .typeMismatch(expected: "a base64 string", found: json.kindName) }
        guard let bytes = Base64.decode(text.utf8) else { throw .invalidValue("invalid base64") }
        return bytes
    }

    /// A JSON number or a string holding one, with an integral value that fits `T`:
    /// `1e2` and `"100"` are 100; `1.5`, `"0x10"` and 2^31 for an int32 are rejected.
    static func integer<T: FixedWidthInteger>(_ json: JSONValue, as type: T.Type) throws(Failure) -> T {
        let text: String
        switch json {
        case .number(let number): text = number.text
        case .string(let string):
            guard JSONNumber(text: string) != nil else { throw .invalidValue("\"\(string)\" is not an integer") }
            text = string
        default: throw .typeMismatch(expected: "an integer", found: json.kindName)
        }
        guard let (negative, magnitude) = try exactInteger(text) else {
            throw .invalidValue("\(text) is out of range for \(T.self)")
        }
        if negative, magnitude != 0 {
            guard T.isSigned, magnitude <= UInt64(T.max) + 1 else {
                throw .invalidValue("\(text) is out of range for \(T.self)")
            }
            return T(truncatingIfNeeded: 0 &- magnitude)
        }
        guard magnitude <= UInt64(T.max) else { throw .invalidValue("\(text) is out of range for \(T.self)") }
        return T(truncatingIfNeeded: magnitude)
    }

    /// A number, or `"NaN"`, `"Infinity"`, `"-Infinity"`, or a string holding a number.
    /// Finite input that overflows to infinity is rejected (write "Infinity" for that).
    static func double(_ json: JSONValue) throws(Failure) -> Double {
        let text: String
        switch json {
        case .number(let number): text = number.text
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        case .string(let string):
            guard JSONNumber(text: string) != nil else { throw .invalidValue("\"\(string)\" is not a number") }
            text = string
        default: throw .typeMismatch(expected: "a number", found: json.kindName)
        }
        guard let value = Double(text), value.isFinite else { throw .invalidValue("\(text) is out of range for a double") }
        return value
    }

    /// As `double`, then rounded to a float (as json_format does); beyond the float range is an error.
    static func float(_ json: JSONValue) throws(Failure) -> Float {
        let value = try double(json)
        guard !value.isFinite || abs(value) <= Double(Float.greatestFiniteMagnitude) else {
            throw .invalidValue("\(value) is out of range for a float")
        }
        return Float(value)
    }

    /// A value name, or a number (JSON number or numeric string) in the int32 range; nil for an
    /// unknown name when `ignoreUnknown`.
    static func enumeration<E: ProtoJSONEnum>(_ json: JSONValue, as type: E.Type, ignoreUnknown: Bool) throws(Failure) -> E? {
        if case .string(let name) = json, let number = E.protoJSONNames.number(named: name) {
            return E(rawValue: number)
        }
        if case .string(let name) = json, JSONNumber(text: name) == nil {
            if ignoreUnknown { return nil }
            throw .invalidValue("unknown value \"\(name)\" for enum \(E.protoJSONNames.enumType)")
        }
        switch json {
        case .number, .string: return E(rawValue: try integer(json, as: Int32.self))
        default: throw .typeMismatch(expected: "an enum name or number", found: json.kindName)
        }
    }

    /// The exact integer a number's text denotes, as sign and magnitude; nil when the magnitude
    /// exceeds UInt64, throws when it has a fractional part. Works on the digits, so exponents
    /// and trailing fraction zeros (`1.0e3`) are exact.
    static func exactInteger(_ text: String) throws(Failure) -> (negative: Bool, magnitude: UInt64)? {
        var negative = false
        var digits: [UInt8] = []
        var fractionDigits = 0, exponent = 0, exponentSign = 1
        var part = 0  // 0 integer, 1 fraction, 2 exponent
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "-") where part == 0: negative = true
            case UInt8(ascii: "-"): exponentSign = -1
            case UInt8(ascii: "+"): break
            case UInt8(ascii: "."): part = 1
            case UInt8(ascii: "e"), UInt8(ascii: "E"): part = 2
            default:
                let digit = byte &- UInt8(ascii: "0")
                if part == 2 {
                    exponent = min(exponent * 10 + Int(digit), 100_000)  // saturates; far past any range
                } else {
                    if part == 1 { fractionDigits += 1 }
                    if !digits.isEmpty || digit != 0 { digits.append(digit) } else if part == 1 { continue }
                }
            }
        }
        // Leading zeros were dropped; a zero in the fraction before the first significant digit
        // still shifts the scale, so count it through fractionDigits (digits stays significant-only).
        var scale = exponentSign * exponent - fractionDigits
        while scale < 0, let last = digits.last {
            guard last == 0 else { throw .invalidValue("\(text) is not an integer") }
            digits.removeLast()
            scale += 1
        }
        if digits.isEmpty { return (negative, 0) }
        guard digits.count + scale <= 20 else { return nil }
        var magnitude: UInt64 = 0
        for digit in digits + [UInt8](repeating: 0, count: scale) {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            if overflow1 || overflow2 { return nil }
            magnitude = sum
        }
        return (negative, magnitude)
    }
}

/// A value the scalar conversions reject; the reader adds the message type and path.
struct ProtoJSONValueError: Error {
    let reason: ProtoJSONDecodingError.Reason

    init(_ reason: ProtoJSONDecodingError.Reason) {
        self.reason = reason
    }

    static func typeMismatch(expected: String, found: String) -> Self { Self(.typeMismatch(expected: expected, found: found)) }

    static func invalidValue(_ detail: String) -> Self { Self(.invalidValue(detail)) }
}
