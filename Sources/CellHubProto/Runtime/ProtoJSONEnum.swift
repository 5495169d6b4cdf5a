/// An enum's JSON names (the proto value names, e.g. `ROLE_OWNER`).
protocol ProtoJSONEnum: RawRepresentable<Int32>, Sendable {
    static var protoJSONNames: ProtoJSONEnumNames { get }
}

struct ProtoJSONEnumNames: Sendable {
    let enumType: String
    private let nameByNumber: [Int32: String]
    private let numberByName: [String: Int32]

    /// `values` in declaration order; with aliases the first name of a number is the one written.
    init(_ enumType: String, _ values: [(Int32, String)]) {
        self.enumType = enumType
        var nameByNumber: [Int32: String] = [:], numberByName: [String: Int32] = [:]
        for (number, name) in values {
            if nameByNumber[number] == nil { nameByNumber[number] = name }
            numberByName[name] = number
        }
        self.nameByNumber = nameByNumber
        self.numberByName = numberByName
    }

    func name(of number: Int32) -> String? { nameByNumber[number] }

    func number(named name: String) -> Int32? { numberByName[name] }
}
