/// The operation did not finish in time (a hang is a failure, not a stuck test run).
struct TimedOut: Error, CustomStringConvertible {
    let limit: Duration
    var description: String { "did not finish within \(limit)" }
}

/// Runs `body`, cancelling it and throwing `TimedOut` when it takes longer than `limit`.
/// Calls and response streams end when their task is cancelled, so a hang surfaces here.
func withTimeout<T: Sendable>(_ limit: Duration = .seconds(20), _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimedOut(limit: limit)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw TimedOut(limit: limit) }
        return first
    }
}

/// How `body` ended if it did within `limit`, or nil. Unlike `withTimeout` this does not
/// wait for `body` once the time is up: for calls that a known bug leaves suspended for
/// ever, ignoring cancellation (the suspended task is abandoned).
func outcome<T: Sendable>(within limit: Duration, _ body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error>? {
    let (outcomes, continuation) = AsyncStream.makeStream(of: Result<T, any Error>.self)
    let work = Task {
        do {
            continuation.yield(.success(try await body()))
        } catch {
            continuation.yield(.failure(error))
        }
        continuation.finish()
    }
    let timer = Task {
        try? await Task.sleep(for: limit)
        continuation.finish()
    }
    for await outcome in outcomes {
        timer.cancel()
        return outcome
    }
    work.cancel()
    return nil
}
