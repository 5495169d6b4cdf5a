/// Where a streaming handler's request messages come from; implemented by a transport.
public protocol ServerRequestSource: Sendable {
    /// The next request message as protobuf bytes (already decompressed); nil once the
    /// client half-closed and every message was taken. Suspends while none is there; taking
    /// one lets the client send more (flow control). Throws once the call is over: the client
    /// cancelled, the deadline passed, the connection closed, or a message broke the limits.
    func next() async throws(RPCError) -> [UInt8]?
}

/// The request messages of a client-streaming or bidirectional call, in order. Iteration
/// ends when the client half-closes and throws an `RPCError` when the call ends otherwise
/// (CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ...) or a message does not decode
/// (INVALID_ARGUMENT). Read it from one task at a time.
public struct RequestStream<Message: RPCMessage>: AsyncSequence, Sendable {
    public typealias Failure = RPCError

    let source: any ServerRequestSource

    public init(source: any ServerRequestSource) { self.source = source }

    public func makeAsyncIterator() -> Iterator { Iterator(source: source) }

    public struct Iterator: AsyncIteratorProtocol {
        public typealias Failure = RPCError

        let source: any ServerRequestSource

        public mutating func next() async throws(RPCError) -> Message? {
            guard let bytes = try await source.next() else { return nil }
            do {
                return try Message(serializedBytes: bytes)
            } catch {
                throw RPCError(code: .invalidArgument, message: "a request message is not a valid \(Message.protoName)", cause: error)
            }
        }
    }
}
