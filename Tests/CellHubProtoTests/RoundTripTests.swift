import CellHubProto
import RPC
import Testing

@Suite("Round trips of every message type")
struct RoundTripTests {
    @Test("the registry holds every message and each has a random generator")
    func registryIsComplete() {
        #expect(MessageTypes.all.count > 60)
        for (name, type) in MessageTypes.all {
            #expect(type.protoName == name)
            #expect(type is any RandomMessage.Type, "\(name) lacks a random generator")
        }
    }

    @Test("decode(encode(m)) == m for random values", arguments: MessageTypes.all.map(\.name))
    func roundTrip(name: String) throws {
        let type = try #require(ProtoRegistry.messageTypes[name])
        for seed in 0..<UInt64(60) {
            let message = MessageTypes.random(type, seed: seed)
            let bytes = message.serializedBytes()
            let decoded = try type.init(serializedBytes: bytes)
            #expect(MessageTypes.equal(decoded, message), "\(name) seed \(seed)")
            // Encoding is deterministic: the decoded value encodes to the same bytes.
            #expect(decoded.serializedBytes() == bytes, "\(name) seed \(seed)")
        }
    }

    @Test("a frame is the flag byte, the big-endian length, then the encoding", arguments: MessageTypes.all.map(\.name))
    func frame(name: String) throws {
        let type = try #require(ProtoRegistry.messageTypes[name])
        for seed in 0..<UInt64(10) {
            let message = MessageTypes.random(type, seed: seed)
            let bytes = message.serializedBytes()
            let frame = message.serializedFrame()
            let length = UInt32(bytes.count)
            #expect(Array(frame.prefix(5)) == [0, UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)])
            #expect(Array(frame.dropFirst(5)) == bytes)
        }
    }

    @Test("the empty message encodes to nothing and decodes from nothing", arguments: MessageTypes.all.map(\.name))
    func emptyEncoding(name: String) throws {
        let type = try #require(ProtoRegistry.messageTypes[name])
        let empty = try type.init(serializedBytes: [UInt8]())
        #expect(empty.serializedBytes().isEmpty)
    }
}

@Suite("Field semantics")
struct FieldSemanticsTests {
    @Test("unknown enum values survive a round trip")
    func unknownEnum() throws {
        var stats = ProjectStats()
        stats.imageCount = 3
        var image = Image()
        image.status = SegmentationStatus(rawValue: 4242)
        #expect(image.status == .unrecognized(4242))
        let decoded = try Image(serializedBytes: image.serializedBytes())
        #expect(decoded.status.rawValue == 4242)
        #expect(decoded == image)
    }

    @Test("extreme integers and unicode strings keep their values")
    func extremes() throws {
        var stats = ProjectStats()
        stats.projectId = "projekt-细胞-🧫"
        stats.imageCount = .max
        stats.totalBytes = .min
        let decoded = try ProjectStats(serializedBytes: stats.serializedBytes())
        #expect(decoded.projectId == "projekt-细胞-🧫")
        #expect(decoded.imageCount == .max)
        #expect(decoded.totalBytes == .min)
    }

    @Test("service descriptors carry the wire path and streaming kind")
    func descriptors() {
        #expect(StatsService.watchProject.descriptor.path == "/cellhub.v1.StatsService/WatchProject")
        #expect(StatsService.watchProject.descriptor.kind == .serverStreaming)
        #expect(ProjectService.createProject.descriptor.kind == .unary)
        #expect(Grpc_Health_V1_Health.watch.descriptor.path == "/grpc.health.v1.Health/Watch")
        #expect(Grpc_Testing_TestService.streamingOutputCall.descriptor.kind == .serverStreaming)
        #expect(ProjectService.descriptor.methods.contains(ProjectService.shareProject.descriptor))
    }
}
