/// A JSON number, kept as its text so no precision is lost before the reader picks a type.
///
/// Two numbers are equal when their text is: `1` and `1.0` are different values here (as they
/// are different JSON texts); compare numerically through `double` or the integer accessors.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The text, always valid RFC 8259 number syntax.
    public let text: String

    /// `text` when it is valid JSON number syntax (`-?int frac? exp?`), else nil.
    public init?(text: String) {
        let utf8 = Array(text.utf8)
        let valid = utf8.withUnsafeBufferPointer { JSONNumber.syntaxLength($0, from: 0) == $0.count }
        guard valid, !utf8.isEmpty else { return nil }
        self.text = text
    }

    /// Text the parser already validated.
    init(validated text: String) {
        self.text = text
    }

    public init(_ value: some BinaryInteger) {
        self.text = "\(value)"
    }

    /// A finite double in the shortest form that reads back exactly (Python's `repr` layout).
    /// Returns nil for NaN and the infinities, which JSON numbers cannot express.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        self.text = JSONNumberFormat.shortest(value.description)
    }

    /// A finite float in the shortest form that reads back to the same float.
    public init?(_ value: Float) {
        guard value.isFinite else { return nil }
        self.text = JSONNumberFormat.shortest(value.description)
    }

    /// The nearest double (±infinity when the magnitude is too large).
    public var double: Double { Double(text) ?? .nan }

    public var description: String { text }

    /// The length of the JSON number starting at `start`, or 0 when there is none there.
    static func syntaxLength(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        let n = bytes.count
        func digits() -> Int {
            let first = i
            while i < n, bytes[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            return i - first
        }
        if i < n, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n else { return 0 }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else if digits() == 0 {
            return 0
        }
        if i < n, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { return 0 }
        }
        if i < n, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { return 0 }
        }
        return i - start
    }
}

/// The layout of shortest round-trip numbers, shared by `JSONNumber` and the proto mapping.
enum JSONNumberFormat {
    /// Re-lays out Swift's shortest round-trip `description` of a finite float or double the
    /// way Python's `repr` does (`1e+16`, `1e-05`, `0.0001`, `100.0`), so our JSON text is the
    /// same as `json_format.MessageToJson`'s. The digits are Swift's (shortest, closest);
    /// only where the point goes and how the exponent is written change.
    static func shortest(_ description: String) -> String {
        var negative = false
        var digits: [UInt8] = []
        var pointPosition: Int? = nil  // digits before the point in `description`
        var exponent = 0
        var utf8 = description.utf8.makeIterator()
        var inExponent = false, exponentNegative = false
        while let byte = utf8.next() {
            switch byte {
            case UInt8(ascii: "-") where inExponent: exponentNegative = true
            case UInt8(ascii: "-"): negative = true
            case UInt8(ascii: "+"): break
            case UInt8(ascii: "."): pointPosition = digits.count
            case UInt8(ascii: "e"), UInt8(ascii: "E"): inExponent = true
            default:
                if inExponent {
                    exponent = exponent * 10 + Int(byte - UInt8(ascii: "0"))
                } else {
                    digits.append(byte)
                }
            }
        }
        if exponentNegative { exponent = -exponent }
        // value = 0.d1d2d3… × 10^decimalPoint
        var decimalPoint = (pointPosition ?? digits.count) + exponent
        while digits.count > 1, digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            decimalPoint -= 1
        }
        while digits.count > 1, digits.last == UInt8(ascii: "0") { digits.removeLast() }
        if digits == [UInt8(ascii: "0")] { return negative ? "-0.0" : "0.0" }

        var out: [UInt8] = negative ? [UInt8(ascii: "-")] : []
        if decimalPoint > 16 || decimalPoint < -3 {
            out.append(digits[0])
            if digits.count > 1 {
                out.append(UInt8(ascii: "."))
                out += digits[1...]
            }
            let e = decimalPoint - 1
            out += Array((e < 0 ? "e-" : "e+").utf8)
            if abs(e) < 10 { out.append(UInt8(ascii: "0")) }
            out += Array(String(abs(e)).utf8)
        } else if decimalPoint <= 0 {
            out += Array("0.".utf8)
            out += [UInt8](repeating: UInt8(ascii: "0"), count: -decimalPoint)
            out += digits
        } else if decimalPoint >= digits.count {
            out += digits
            out += [UInt8](repeating: UInt8(ascii: "0"), count: decimalPoint - digits.count)
            out += Array(".0".utf8)
        } else {
            out += digits[..<decimalPoint]
            out.append(UInt8(ascii: "."))
            out += digits[decimalPoint...]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
