internal import Synchronization

/// What lives as long as one client connection, shared by the calls on it: one memo, for a
/// value derived from something every call on the connection repeats (its credentials),
/// so that later calls skip the derivation. A scope is never shared between connections: a
/// key is only ever compared with what the same peer sent before on the same connection.
public final class ConnectionScope: Sendable {
    private let memo = Mutex<(key: String, value: any Sendable)?>(nil)

    public init() {}

    /// The value memoised for `key`, if the last one kept was for the same key and type.
    public func memoized<Value: Sendable>(_ type: Value.Type, for key: String) -> Value? {
        memo.withLock { memo in
            guard let memo, memo.key == key else { return nil }
            return memo.value as? Value
        }
    }

    /// Keeps `value` for `key`, replacing what was kept.
    public func memoize(_ value: some Sendable, for key: String) {
        memo.withLock { $0 = (key, value) }
    }
}
