import CellHubProto
import RPC
import Testing

@Suite("Proto3 JSON mapping")
struct ProtoJSONTests {
    // MARK: Encoding

    @Test("defaults are left out; 64-bit integers are strings, 32-bit ones numbers; field-number order")
    func encodeScalars() {
        #expect(Image().jsonString() == "{}")
        var position = StreamPosition()
        position.sequence = .max
        position.revision = .max
        position.epoch = "e-1"
        #expect(position.jsonString() == #"{"epoch":"e-1","revision":"18446744073709551615","sequence":4294967295}"#)
        var stats = ProjectStats()
        stats.totalBytes = .min
        stats.progress = -0.0  // not the default: its bit pattern is not zero
        #expect(stats.jsonString() == #"{"totalBytes":"-9223372036854775808","progress":-0.0}"#)
    }

    @Test("oneof members with explicit presence are written even when zero")
    func explicitPresence() {
        var update = UpdateProjectRequest()
        update.nameUpdate = .name("")
        #expect(update.jsonString() == #"{"name":""}"#)
        var revoke = RevokeShareRequest()
        revoke.grantee = .leave(false)
        #expect(revoke.jsonString() == #"{"leave":false}"#)
    }

    @Test("enums by name, unknown values by number; bytes as padded standard base64; nested messages")
    func encodeEnumsBytesMessages() {
        var request = Grpc_Testing_SimpleRequest()
        request.responseType = Grpc_Testing_PayloadType(rawValue: 7)
        var payload = Grpc_Testing_Payload()
        payload.body = [0xFB, 0xFF, 0xBF, 0x00]
        request.payload = payload
        request.responseCompressed = Grpc_Testing_BoolValue()
        #expect(request.jsonString() == #"{"responseType":7,"payload":{"body":"+/+/AA=="},"responseCompressed":{}}"#)
        var member = ProjectMember()
        member.role = .editor
        #expect(member.jsonString() == #"{"role":"ROLE_EDITOR"}"#)
        var point = Point()
        point.x = .infinity
        point.y = -.infinity
        #expect(point.jsonString() == #"{"x":"Infinity","y":"-Infinity"}"#)
        point.x = .nan
        #expect(point.jsonString(pretty: true) == "{\n  \"x\": \"NaN\",\n  \"y\": \"-Infinity\"\n}")
    }

    // MARK: Decoding

    @Test("both field names, numbers or strings for any integer, null as default")
    func decodeLeniently() throws {
        let stats = try ProjectStats(jsonString: #"""
            {"project_id": "p", "imageCount": 5, "queued_count": "-7", "processingCount": 1e2,
             "segmentedCount": "2.50e1", "failedCount": 3.0, "progress": "0.5", "updatedAtUnixMs": null}
            """#)
        #expect(stats.projectId == "p" && stats.imageCount == 5 && stats.queuedCount == -7)
        #expect(stats.processingCount == 100 && stats.segmentedCount == 25 && stats.failedCount == 3 && stats.progress == 0.5)
        let position = try StreamPosition(jsonString: #"{"revision": 18446744073709551615, "sequence": "4294967295"}"#)
        #expect(position.revision == .max && position.sequence == .max)
        let point = try Point(jsonString: #"{"x": "NaN", "y": "-Infinity"}"#)
        #expect(point.x.isNaN && point.y == -.infinity)
    }

    @Test("enums by name or number; bytes in standard or URL-safe base64, padded or not")
    func decodeEnumsAndBytes() throws {
        #expect(try ProjectMember(jsonString: #"{"role": "ROLE_VIEWER"}"#).role == .viewer)
        #expect(try ProjectMember(jsonString: #"{"role": 2}"#).role == .editor)
        #expect(try ProjectMember(jsonString: #"{"role": "99"}"#).role == .unrecognized(99))
        for text in ["+/+/AA==", "-_-_AA==", "+/+/AA", "-_-_AA"] {
            #expect(try Grpc_Testing_Payload(jsonString: #"{"body": "\#(text)"}"#).body == [0xFB, 0xFF, 0xBF, 0x00], "\(text)")
        }
    }

    @Test("values json_format rejects are rejected, with the path to them", arguments: [
        (#"{"imageCount": 1.5}"#, "imageCount"),
        (#"{"imageCount": "1.5"}"#, "imageCount"),
        (#"{"imageCount": "0x10"}"#, "imageCount"),
        (#"{"imageCount": " 1"}"#, "imageCount"),
        (#"{"imageCount": 9223372036854775808}"#, "imageCount"),
        (#"{"imageCount": true}"#, "imageCount"),
        (#"{"imageCount": [1]}"#, "imageCount"),
        (#"{"progress": "nan"}"#, "progress"),
        (#"{"progress": 1e400}"#, "progress"),
        (#"{"projectId": 5}"#, "projectId"),
    ])
    func rejectedStatsValues(json: String, path: String) {
        let error = #expect(throws: ProtoJSONDecodingError.self) { try ProjectStats(jsonString: json) }
        #expect(error?.path == path)
        #expect(error?.messageType == "cellhub.v1.ProjectStats")
    }

    @Test("32-bit and unsigned ranges are enforced", arguments: [
        #"{"sequence": -1}"#, #"{"sequence": 4294967296}"#, #"{"sequence": "-1"}"#,
    ])
    func unsignedRange(json: String) {
        #expect(throws: ProtoJSONDecodingError.self) { try StreamPosition(jsonString: json) }
    }

    @Test("errors inside nested and repeated messages carry the full path")
    func nestedErrorPath() {
        let json = #"{"members": [{"role": "ROLE_OWNER"}, {"user": {"userId": 1}}]}"#
        #expect(throws: ProtoJSONDecodingError(.typeMismatch(expected: "a string", found: "a number"),
                                               messageType: "cellhub.v1.ListSharesResponse", path: "members[1].user.userId")) {
            try ListSharesResponse(jsonString: json)
        }
        #expect(throws: ProtoJSONDecodingError(.nullElement, messageType: "cellhub.v1.ListSharesResponse", path: "members[0]")) {
            try ListSharesResponse(jsonString: #"{"members": [null]}"#)
        }
        #expect(throws: ProtoJSONDecodingError(.invalidValue("unknown value \"ROLE_KING\" for enum cellhub.v1.Role"),
                                               messageType: "cellhub.v1.ListSharesResponse", path: "members[0].role")) {
            try ListSharesResponse(jsonString: #"{"members": [{"role": "ROLE_KING"}]}"#)
        }
    }

    @Test("unknown fields fail unless ignored; unknown enum names are then dropped too")
    func unknownFields() throws {
        #expect(throws: ProtoJSONDecodingError(.unknownField("colour"), messageType: "cellhub.v1.ProjectMember")) {
            try ProjectMember(jsonString: #"{"colour": "red"}"#)
        }
        let ignoring = JSONDecodingOptions(ignoreUnknownFields: true)
        let member = try ProjectMember(jsonString: #"{"colour": {"deep": [1]}, "role": "ROLE_KING", "sharedAtUnixMs": "4"}"#, options: ignoring)
        #expect(member.role == .unspecified && member.sharedAtUnixMs == 4)
    }

    @Test("a field given twice (by either name) and two members of one oneof are rejected")
    func duplicates() throws {
        #expect(throws: ProtoJSONDecodingError(.duplicateField("user_id"), messageType: "cellhub.v1.UserRef")) {
            try UserRef(jsonString: #"{"userId": "a", "user_id": "b"}"#)
        }
        #expect(throws: ProtoJSONDecodingError(.multipleOneofFields("userId", "leave"), messageType: "cellhub.v1.RevokeShareRequest")) {
            try RevokeShareRequest(jsonString: #"{"userId": "a", "leave": true}"#)
        }
        // A null member of a oneof is not set, so it does not conflict.
        let revoke = try RevokeShareRequest(jsonString: #"{"userId": null, "leave": false}"#)
        #expect(revoke.grantee == .leave(false))
    }

    @Test("the top level must be an object; syntax errors and depth are reported")
    func topLevel() {
        #expect(throws: ProtoJSONDecodingError(.typeMismatch(expected: "an object", found: "an array"), messageType: "cellhub.v1.Image")) {
            try Image(jsonString: "[]")
        }
        #expect(throws: ProtoJSONDecodingError(.syntax(JSONParseError(.unexpectedEnd, at: 1)), messageType: "cellhub.v1.Image")) {
            try Image(jsonString: "{")
        }
        let deep = #"{"members": [{"user": {}}]}"#
        #expect(throws: ProtoJSONDecodingError(.syntax(JSONParseError(.tooDeep(limit: 3), at: 22)), messageType: "cellhub.v1.ListSharesResponse")) {
            try ListSharesResponse(jsonString: deep, options: JSONDecodingOptions(maxDepth: 3))
        }
    }

    // MARK: Every message type

    @Test("decode(encode(m)) == m for random values, compact and indented", arguments: MessageTypes.all.map(\.name))
    func roundTrip(name: String) throws {
        let type = try #require(ProtoRegistry.jsonMessageType(name))
        for seed in 0..<UInt64(12) {
            let message = try #require(MessageTypes.random(type, seed: seed) as? any ProtoJSONCodable)
            for pretty in seed % 3 == 0 ? [false, true] : [false] {
                let decoded = try type.init(jsonString: message.jsonString(pretty: pretty))
                #expect(MessageTypes.equal(decoded, message), "\(name) seed \(seed) pretty \(pretty)")
            }
        }
    }

    @Test("a tool converts JSON to binary and back knowing only the type's name")
    func byName() throws {
        let type = try #require(ProtoRegistry.jsonMessageType("cellhub.v1.StreamPosition"))
        let binary = try type.binary(fromJSON: #"{"epoch": "x", "revision": "12"}"#)
        var expected = StreamPosition()
        expected.epoch = "x"
        expected.revision = 12
        #expect(binary == expected.serializedBytes())
        #expect(try type.json(fromBinary: binary) == #"{"epoch":"x","revision":"12"}"#)
        #expect(ProtoRegistry.jsonMessageType("cellhub.v1.NoSuchMessage") == nil)
        for (name, _) in MessageTypes.all {
            #expect(ProtoRegistry.jsonMessageType(name) != nil, "\(name) is not ProtoJSONCodable")
        }
    }
}
