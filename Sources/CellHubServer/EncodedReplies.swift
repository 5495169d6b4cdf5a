internal import RPC
internal import Synchronization

/// Replies kept encoded next to the value they encode, per key: the same project stats or
/// dashboard goes to many calls (every viewer of a project, a dashboard polled), and once the
/// value is in memory, encoding it is most of what answering costs. A kept reply is used only
/// while the value it was made from is still the value. Bounded: when full, it starts over.
final class EncodedReplies<Key: Hashable & Sendable, Value: Equatable & Sendable>: Sendable {
    private let entries = Mutex<[Key: (value: Value, reply: EncodedMessage)]>([:])
    private let limit: Int

    init(limit: Int) { self.limit = max(1, limit) }

    /// The reply for `value`: the one kept for `key` when it was made from an equal value,
    /// else `encode()`'s, then kept.
    func reply(for key: Key, value: Value, encode: () -> EncodedMessage) -> EncodedMessage {
        if let kept = entries.withLock({ $0[key] }), kept.value == value { return kept.reply }
        let reply = encode()
        entries.withLock { entries in
            if entries.count >= limit && entries[key] == nil { entries.removeAll() }
            entries[key] = (value, reply)
        }
        return reply
    }
}
