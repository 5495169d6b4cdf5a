internal import Synchronization

/// What lives as long as one client connection, shared by the calls on it: one memo, for a
/// value derived from something every call on the connection repeats (its credentials),
/// so that later calls skip the derivation. A scope is never shared between connections: a
/// key is only ever compared with what the same peer sent before on the same connection.
public final class ConnectionScope: Sendable {
    /// An object, not a generic value: the caller's `as?` on a class is a cheap check, where
    /// a generic lookup here would run unspecialised with a dynamic cast on every call.
    private let memo = Mutex<(key: String, value: any AnyObject & Sendable)?>(nil)

    public init() {}

    /// The object memoised for `key`, if the last one kept was for the same key.
    public func memoized(for key: String) -> (any AnyObject & Sendable)? {
        memo.withLock { memo in
            guard let memo, memo.key == key else { return nil }
            return memo.value
        }
    }

    /// Keeps `value` for `key`, replacing what was kept.
    public func memoize(_ value: any AnyObject & Sendable, for key: String) {
        memo.withLock { $0 = (key, value) }
    }
}
