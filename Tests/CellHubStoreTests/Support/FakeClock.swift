import Synchronization

/// A clock the test moves by hand: time in the store is whatever the test says it is.
final class FakeClock: Sendable {
    private let ms: Mutex<Int64>

    init(_ start: Int64 = 1_750_000_000_000) { ms = Mutex(start) }

    var now: Int64 { ms.withLock { $0 } }

    func advance(by delta: Int64) { ms.withLock { $0 += delta } }
}

/// Ids "id-000001", "id-000002", ... so a failing case reads the same on every run.
final class SequentialIDs: Sendable {
    private let next = Mutex(0)
    private let prefix: String

    init(prefix: String = "id") { self.prefix = prefix }

    func make() -> String {
        let n = next.withLock { value in
            value += 1
            return value
        }
        let digits = String(n)
        return "\(prefix)-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }
}
