import CellHubServer
import Synchronization
import Testing

@Suite struct BlockingPoolTests {
    @Test func everyJobRunsOnceAndReturnsItsResult() async throws {
        let pool = BlockingPool(threadCount: 3)
        let ran = Counter()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for value in 0..<2_000 {
                group.addTask {
                    try await pool.run { () -> Int in
                        ran.add()
                        return value * 2
                    }
                }
            }
            var all: [Int] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(results.sorted() == (0..<2_000).map { $0 * 2 })
        #expect(ran.value == 2_000)
        pool.shutdown()
    }

    @Test func errorsComeBackAndAStoppedPoolRefuses() async throws {
        struct Boom: Error {}
        let pool = BlockingPool(threadCount: 2)
        await #expect(throws: Boom.self) { try await pool.run { () throws -> Int in throw Boom() } }
        // More jobs than threads: all finish, then shutdown returns.
        let finished = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await pool.run {
                        var spin = 0
                        for index in 0..<200_000 { spin &+= index }
                        _ = spin
                        finished.add()
                    }
                }
            }
            try await group.waitForAll()
        }
        pool.shutdown()
        #expect(finished.value == 8)
        await #expect(throws: BlockingPool.PoolStopped.self) { try await pool.run { 1 } }
    }
}

/// A thread-safe count, capturable by the jobs.
private final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
