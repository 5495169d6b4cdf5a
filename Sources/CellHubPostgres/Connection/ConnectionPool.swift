import CellHub
import Dispatch
import Synchronization

/// A few libpq connections lent out one call at a time: concurrent store calls each get
/// their own connection and queue only when all are in use.
///
/// `@unchecked Sendable` is sound because a connection is reached only between `wait` and
/// `signal` by the one caller that took its index from `free`, so no two threads ever touch
/// one connection (libpq connections must not be shared between threads without a lock).
final class ConnectionPool: @unchecked Sendable {
    /// Owned; each reached only by the caller holding its index.
    private let connections: [PGConnection]
    /// Indices of the connections not lent out.
    private let free: Mutex<[Int]>
    /// Counts the free connections: a call waits here only when there is none.
    private let available: DispatchSemaphore

    init(url: String, size: Int) throws(PGError) {
        var connections: [PGConnection] = []
        for _ in 0..<max(1, size) { connections.append(try PGConnection(url: url)) }
        self.connections = connections
        free = Mutex(Array(connections.indices))
        available = DispatchSemaphore(value: connections.count)
    }

    /// Runs `body` with exclusive use of one connection (reset first when it broke: a
    /// restarted server costs the calls in flight, not the pool). `body` must not let the
    /// connection escape.
    func withConnection<T>(_ body: (PGConnection) throws -> T) throws -> T {
        available.wait()
        let index = free.withLock { $0.removeLast() }
        defer {
            free.withLock { $0.append(index) }
            available.signal()
        }
        let connection = connections[index]
        if connection.isBroken { connection.reset() }
        return try body(connection)
    }
}
