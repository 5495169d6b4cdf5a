@testable import EventLoop
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The loop's timers (EventLoop has no test target of its own; its users' tests live here).
@Suite struct TimerTests {
    final class Fired: @unchecked Sendable {  // confined to the loop's thread
        var names: [String] = []
    }

    /// A timer's action may schedule and cancel timers on its own loop: the stream shard's
    /// heartbeat re-arms itself from its action. The action used to run inside the heap's
    /// mutating access, so the insert overlapped it and a debug build trapped ("Simultaneous
    /// accesses … modification requires exclusive access") on the first heartbeat.
    @Test func anActionSchedulesAndCancelsTimers() throws {
        let loop = try EventLoop()
        let fired = Fired()
        loop.execute {
            loop.schedule(afterNanoseconds: 0) {
                fired.names.append("first")
                loop.schedule(afterNanoseconds: 0) { fired.names.append("second") }
                loop.schedule(afterNanoseconds: 0) { fired.names.append("never") }.cancel()
            }
        }
        for _ in 0..<1_000 where fired.names.count < 2 {
            loop.runUntilIdle()
            usleep(1_000)
        }
        loop.runUntilIdle()
        #expect(fired.names == ["first", "second"])
        #expect(loop.pendingTimerCount == 0)
    }
}
