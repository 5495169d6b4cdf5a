/// The JSON names of one message's fields, generated as one small table per message so the
/// generated encode and decode stay a few lines per field (cheap to compile).
///
/// Fields are indexed by their position in field-number order; encoding writes them in that
/// order, so output is deterministic and matches `json_format`'s.
struct ProtoJSONFields: Sendable {
    let messageType: String
    /// lowerCamelCase `json_name` per field: what the encoder writes.
    let jsonNames: [String]
    /// Both names of every field (json_name and the proto name) to the field's index.
    private let indexByName: [String: Int]
    /// The oneof each field belongs to (an index into the message's oneofs), or -1.
    let oneofOfField: [Int]
    let oneofCount: Int

    /// `fields` as (json_name, proto name) in field-number order; `oneofs` lists field indices per oneof.
    init(_ messageType: String, _ fields: [(String, String)], oneofs: [[Int]] = []) {
        self.messageType = messageType
        jsonNames = fields.map(\.0)
        var index: [String: Int] = [:]
        for (i, (json, proto)) in fields.enumerated() {
            index[json] = i
            index[proto] = i
        }
        indexByName = index
        var oneofOfField = [Int](repeating: -1, count: fields.count)
        for (group, members) in oneofs.enumerated() {
            for member in members { oneofOfField[member] = group }
        }
        self.oneofOfField = oneofOfField
        oneofCount = oneofs.count
    }

    func index(of name: String) -> Int? { indexByName[name] }
}
