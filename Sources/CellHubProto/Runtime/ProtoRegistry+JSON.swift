extension ProtoRegistry {
    /// The message type with full protobuf name `name` (e.g. `cellhub.v1.Project`), ready for
    /// JSON: `type.binary(fromJSON:)`, `type.json(fromBinary:pretty:)`, `type.init(jsonString:)`.
    package static func jsonMessageType(_ name: String) -> (any ProtoJSONCodable.Type)? {
        messageTypes[name] as? any ProtoJSONCodable.Type
    }
}
