internal import Synchronization

/// Values looked up in the store, kept in memory while a generation counter the store moves
/// after every relevant commit (`credentialsGeneration`, `membershipGeneration`) reads the
/// same: a changed generation empties the cache before the next lookup can hit it.
///
/// Read the generation *before* the store lookup and pass it to `insert`: a commit that lands
/// during the lookup then moves the generation past the one the value is kept under, so it is
/// never served after that commit. Bounded: when full, it starts over.
final class GenerationCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let state = Mutex<(generation: UInt64, values: [Key: Value])>((0, [:]))
    private let limit: Int

    init(limit: Int) { self.limit = max(1, limit) }

    /// The value kept for `key` under `generation` (the generation now), if any.
    func value(_ key: Key, generation: UInt64) -> Value? {
        state.withLock { $0.generation == generation ? $0.values[key] : nil }
    }

    /// Changes the value kept for `key` in place, if it is still kept under `generation`.
    func update(_ key: Key, generation: UInt64, _ change: (inout Value) -> Void) {
        state.withLock { state in
            guard state.generation == generation, var value = state.values[key] else { return }
            change(&value)
            state.values[key] = value
        }
    }

    /// Keeps `value`, found by a lookup that started at `generation`.
    func insert(_ value: Value, for key: Key, generation: UInt64) {
        state.withLock { state in
            if state.generation != generation || state.values.count >= limit { state = (generation, [:]) }
            state.values[key] = value
        }
    }
}
