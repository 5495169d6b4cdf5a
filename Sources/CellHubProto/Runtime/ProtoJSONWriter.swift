/// Builds one message's JSON object; generated `jsonValue()` calls one method per field.
///
/// Singular methods leave out proto3 defaults (implicit presence) unless `explicit` is set,
/// which the generator does for oneof members: set means written, even when zero.
struct ProtoJSONWriter {
    private let fields: ProtoJSONFields
    private var members: [JSONValue.Member] = []
    /// The field index of each member: a oneof is written by one `switch`, so its member can
    /// come before a plain field with a smaller number and has to be moved into place.
    private var order: [Int] = []
    private var inOrder = true

    init(_ fields: ProtoJSONFields) {
        self.fields = fields
    }

    /// The object, members in field-number order.
    var value: JSONValue {
        if inOrder { return .object(members) }
        return .object(zip(order, members).sorted { $0.0 < $1.0 }.map(\.1))
    }

    private mutating func put(_ field: Int, _ value: JSONValue) {
        if let last = order.last, last > field { inOrder = false }
        order.append(field)
        members.append(JSONValue.Member(fields.jsonNames[field], value))
    }

    // MARK: Singular fields

    mutating func string(_ field: Int, _ value: String, explicit: Bool = false) {
        if explicit || !value.isEmpty { put(field, .string(value)) }
    }

    mutating func bytes(_ field: Int, _ value: [UInt8], explicit: Bool = false) {
        if explicit || !value.isEmpty { put(field, ProtoJSONScalar.jsonBytes(value)) }
    }

    mutating func bool(_ field: Int, _ value: Bool, explicit: Bool = false) {
        if explicit || value { put(field, .bool(value)) }
    }

    /// 32-bit integers are JSON numbers.
    mutating func int32<T: FixedWidthInteger>(_ field: Int, _ value: T, explicit: Bool = false) {
        if explicit || value != 0 { put(field, .number(JSONNumber(value))) }
    }

    /// 64-bit integers are JSON strings: JavaScript numbers cannot hold them.
    mutating func int64<T: FixedWidthInteger>(_ field: Int, _ value: T, explicit: Bool = false) {
        if explicit || value != 0 { put(field, .string("\(value)")) }
    }

    /// Zero is the bit pattern 0: `-0.0` is not a default and is written (as protobuf does).
    mutating func double(_ field: Int, _ value: Double, explicit: Bool = false) {
        if explicit || value.bitPattern != 0 { put(field, ProtoJSONScalar.jsonDouble(value)) }
    }

    mutating func float(_ field: Int, _ value: Float, explicit: Bool = false) {
        if explicit || value.bitPattern != 0 { put(field, ProtoJSONScalar.jsonFloat(value)) }
    }

    mutating func enumeration<E: ProtoJSONEnum>(_ field: Int, _ value: E, explicit: Bool = false) {
        if explicit || value.rawValue != 0 { put(field, ProtoJSONScalar.jsonEnum(value)) }
    }

    mutating func message<M: ProtoJSONCodable>(_ field: Int, _ value: M?) {
        if let value { put(field, value.jsonValue()) }
    }

    // MARK: Repeated fields (left out when empty)

    mutating func repeated<T>(_ field: Int, _ values: [T], _ element: (T) -> JSONValue) {
        if !values.isEmpty { put(field, .array(values.map(element))) }
    }

    mutating func strings(_ field: Int, _ values: [String]) { repeated(field, values) { .string($0) } }

    mutating func bytesArray(_ field: Int, _ values: [[UInt8]]) { repeated(field, values, ProtoJSONScalar.jsonBytes) }

    mutating func bools(_ field: Int, _ values: [Bool]) { repeated(field, values) { .bool($0) } }

    mutating func int32s<T: FixedWidthInteger>(_ field: Int, _ values: [T]) { repeated(field, values) { .number(JSONNumber($0)) } }

    mutating func int64s<T: FixedWidthInteger>(_ field: Int, _ values: [T]) { repeated(field, values) { .string("\($0)") } }

    mutating func doubles(_ field: Int, _ values: [Double]) { repeated(field, values, ProtoJSONScalar.jsonDouble) }

    mutating func floats(_ field: Int, _ values: [Float]) { repeated(field, values, ProtoJSONScalar.jsonFloat) }

    mutating func enumerations<E: ProtoJSONEnum>(_ field: Int, _ values: [E]) { repeated(field, values, ProtoJSONScalar.jsonEnum) }

    mutating func messages<M: ProtoJSONCodable>(_ field: Int, _ values: [M]) { repeated(field, values) { $0.jsonValue() } }
}
