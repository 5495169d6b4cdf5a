import CellHubProto
import RPC

/// Every generated message type, sorted by protobuf name, with its random generator.
enum MessageTypes {
    static let all: [(name: String, type: any RPCMessage.Type)] =
        ProtoRegistry.messageTypes.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }

    static func random(_ type: any RPCMessage.Type, seed: UInt64) -> any RPCMessage {
        guard let generator = type as? any RandomMessage.Type else {
            fatalError("\(type) has no generated RandomMessage conformance: rerun Protos/generate.sh")
        }
        var source = RandomSource(seed: seed)
        return generator.random(using: &source, depth: 0) as! any RPCMessage
    }

    /// Decodes `bytes` as the message type named `name` and compares with `expected`.
    static func equal(_ lhs: any RPCMessage, _ rhs: any RPCMessage) -> Bool {
        func open<M: RPCMessage & Equatable>(_ lhs: M) -> Bool { (rhs as? M) == lhs }
        guard let lhs = lhs as? any (RPCMessage & Equatable) else { return false }
        return open(lhs)
    }
}
