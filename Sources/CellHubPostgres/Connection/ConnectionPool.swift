import CellHubSQL

/// A few libpq connections lent out one call at a time (`LendingPool`): concurrent store calls
/// each get their own connection and queue only when all are in use.
final class ConnectionPool: Sendable {
    private let connections: LendingPool<PGConnection>

    init(url: String, size: Int) throws(PGError) {
        var connections: [PGConnection] = []
        for _ in 0..<max(1, size) { connections.append(try PGConnection(url: url)) }
        self.connections = LendingPool(connections)
    }

    /// Runs `body` with exclusive use of one connection (reset first when it broke: a
    /// restarted server costs the calls in flight, not the pool). `body` must not let the
    /// connection escape.
    func withConnection<T>(_ body: (PGConnection) throws -> T) throws -> T {
        try connections.withResource { connection in
            if connection.isBroken { connection.reset() }
            return try body(connection)
        }
    }
}
