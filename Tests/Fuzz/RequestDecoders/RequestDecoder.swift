import CellHubProto
import FuzzSupport
import RPC

/// The request type of one method, erased: decode arbitrary bytes and, when they decode,
/// check the round trip.
struct RequestDecoder: Sendable {
    let method: MethodDescriptor
    let protoName: String
    let roundTrip: @Sendable (UnsafeRawBufferPointer) -> Void

    init<Request: RPCMessage & Equatable, Response>(_ method: TypedMethodDescriptor<Request, Response>) {
        self.method = method.descriptor
        protoName = Request.protoName
        roundTrip = { bytes in Self.roundTrip(Request.self, bytes) }
    }

    /// Malformed input must throw (and nothing more); a decoded message must encode to
    /// bytes that decode to the same value and encode to the same bytes again.
    private static func roundTrip<Request: RPCMessage & Equatable>(_: Request.Type, _ bytes: UnsafeRawBufferPointer) {
        let first: Request
        do {
            first = try Request(serializedBytes: bytes)
        } catch {
            return
        }
        let encoded = first.serializedBytes()
        let second: Request
        do {
            second = try encoded.withUnsafeBytes { try Request(serializedBytes: $0) }
        } catch {
            fatalError("\(Request.protoName): its own encoding does not decode: \(error)")
        }
        // A NaN (double fields) is unequal to itself, so a value holding one is unequal to
        // its own second decoding: such values are compared by their bytes only. (Not
        // `first == first`: arrays sharing a buffer compare equal without looking.)
        let again: Request
        do {
            again = try Request(serializedBytes: bytes)
        } catch {
            fatalError("\(Request.protoName): the same bytes decoded once and then failed: \(error)")
        }
        if again == first {
            fuzzCheck(second == first, "\(Request.protoName): decode(encode(m)) != m")
        }
        let reencoded = second.serializedBytes()
        fuzzCheck(reencoded == encoded, "\(Request.protoName): encoding is not stable across a round trip")
        let frame = second.serializedFrame()
        fuzzCheck(frame.count == encoded.count + 5 && frame[0] == 0 && frame[5...].elementsEqual(encoded),
                  "\(Request.protoName): serializedFrame() is not the flag, length and serializedBytes()")
        let length = Int(frame[1]) << 24 | Int(frame[2]) << 16 | Int(frame[3]) << 8 | Int(frame[4])
        fuzzCheck(length == encoded.count, "\(Request.protoName): frame length \(length) for \(encoded.count) bytes")
    }
}
