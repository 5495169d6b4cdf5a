/// How lenient JSON decoding is. The defaults are `json_format.Parse`'s.
public struct JSONDecodingOptions: Sendable, Hashable {
    /// Skip object members that name no field (and enum names this build does not know),
    /// instead of failing: for reading JSON written by a newer schema.
    public var ignoreUnknownFields: Bool
    /// How deeply arrays and objects may nest in JSON text.
    public var maxDepth: Int

    public init(ignoreUnknownFields: Bool = false, maxDepth: Int = JSONValue.defaultMaxDepth) {
        self.ignoreUnknownFields = ignoreUnknownFields
        self.maxDepth = maxDepth
    }
}
