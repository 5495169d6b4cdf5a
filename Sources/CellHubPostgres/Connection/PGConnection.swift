import CellHub
import CellHubSQL
internal import CLibPQ

/// One libpq connection: typed parameters, rows read by column index, explicit transactions.
///
/// The store's SQL is the shared repositories' (CellHubSQL), written with SQLite's
/// placeholders (`?` and `?N`); `PGStatementText` turns them into PostgreSQL's `$N` once per
/// text. Parameters go as text (numbers) or binary (`bytea`), with their types named, so a
/// parameter used only in `? IS NULL` still has a type. Results come back as text.
///
/// Not thread-safe: its owner (`ConnectionPool`) lends it to one caller at a time. Calls
/// block the calling thread for one round trip (`PQexecParams`); the domain calls the store
/// from its blocking pool, never from an event loop.
final class PGConnection: SQLDatabase {
    /// Owned: opened by `PQconnectdb` in init, closed by `PQfinish` in deinit. Never escapes.
    private let handle: OpaquePointer
    /// Translated statement texts by the store's SQL text.
    private var translated: [String: PGStatementText] = [:]
    /// PostgreSQL's spelling of what the engines do not share.
    var dialect: SQLDialect { .postgres }

    /// Connects to `url` (a libpq URI or key=value string).
    init(url: String) throws(PGError) {
        guard let handle = PQconnectdb(url) else {
            throw PGError(sqlState: "08000", message: "libpq could not allocate a connection", sql: "")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.errorMessage(handle)
            PQfinish(handle)
            throw PGError(sqlState: "08001", message: message, sql: "")
        }
        self.handle = handle
        // Notices (e.g. "there is no transaction in progress") go nowhere, not to stderr.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    deinit { PQfinish(handle) }

    /// True when the server is unreachable through this connection (it was restarted or the
    /// socket broke): the pool then resets it before lending it out.
    var isBroken: Bool { PQstatus(handle) != CONNECTION_OK }

    /// Reconnects with the same parameters.
    func reset() { PQreset(handle) }

    // MARK: Notifications

    /// The connection's socket, to wait on with `poll` or an event loop (-1 when the
    /// connection is closed; libpq closes it itself when it finds the connection broken).
    var socket: Int32 { PQsocket(handle) }

    /// The server process serving this connection.
    var backendPID: Int32 { PQbackendPID(handle) }

    /// libpq's text for the last failure on this connection.
    var lastErrorMessage: String { Self.errorMessage(handle) }

    /// Reads whatever the server sent without blocking (libpq queues notifications for
    /// `takeNotifications`); false when the connection broke.
    func consumeInput() -> Bool { PQconsumeInput(handle) == 1 && !isBroken }

    /// Puts the connection in libpq's nonblocking mode (`PQsetnonblocking`): a send that
    /// cannot complete returns instead of waiting for the socket. For a connection watched by
    /// an event loop, which must never wait; `PQexec` ignores the mode (and must not be called
    /// there). False when libpq refused.
    func setNonBlocking() -> Bool { PQsetnonblocking(handle, 1) == 0 }

    /// Takes and frees the notifications libpq has queued; returns their channels, in order.
    /// (Their payload is not read: the store sends none.)
    func takeNotifications() -> [String] {
        var channels: [String] = []
        // Each PGnotify is one malloc'd block (its strings inside it), freed with PQfreemem
        // as libpq requires: the channel name is copied out first.
        while let notification = PQnotifies(handle) {
            channels.append(notification.pointee.relname.map { String(cString: $0) } ?? "")
            PQfreemem(notification)
        }
        return channels
    }

    private static func errorMessage(_ handle: OpaquePointer?) -> String {
        guard let handle, let text = PQerrorMessage(handle) else { return "unknown libpq error" }
        return String(cString: text).trimmingTrailingWhitespace()
    }

    // MARK: Running SQL

    /// Runs a script of one or more statements without parameters or results (migrations,
    /// transaction control).
    func execute(_ sql: String) throws(PGError) {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, sql: sql)
    }

    /// Runs a statement and returns the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ arguments: any SQLBindable...) throws(PGError) -> Int {
        try run(sql, arguments: arguments)
    }

    @discardableResult
    func run(_ sql: String, arguments: [any SQLBindable]) throws(PGError) -> Int {
        try withResult(sql, arguments.map { PGValue($0.sqlValue) }) { result in
            guard let text = PQcmdTuples(result) else { return 0 }
            return Int(String(cString: text)) ?? 0
        }
    }

    /// Every row of a query, each mapped by `row`.
    func query<T>(_ sql: String, _ arguments: any SQLBindable..., row: (any SQLRow) -> T) throws(PGError) -> [T] {
        try query(sql, arguments: arguments, row: row)
    }

    func query<T>(_ sql: String, arguments: [any SQLBindable], row: (any SQLRow) -> T) throws(PGError) -> [T] {
        try withResult(sql, arguments.map { PGValue($0.sqlValue) }) { result in
            (0..<PQntuples(result)).map { index in row(PGRow(result: result, index: index)) }
        }
    }

    /// The first row of a query mapped by `row`, or nil when there is none.
    func queryOne<T>(_ sql: String, _ arguments: any SQLBindable..., row: (any SQLRow) -> T) throws(PGError) -> T? {
        try queryOne(sql, arguments: arguments, row: row)
    }

    func queryOne<T>(_ sql: String, arguments: [any SQLBindable], row: (any SQLRow) -> T) throws(PGError) -> T? {
        try withResult(sql, arguments.map { PGValue($0.sqlValue) }) { result in
            PQntuples(result) > 0 ? row(PGRow(result: result, index: 0)) : nil
        }
    }

    /// Every row of a query with values of PostgreSQL's own kinds (`PGValue.untyped`), each
    /// mapped by `row`: for `PostgresRawConnection`.
    func query<T>(_ sql: String, values: [PGValue], row: (PGRow) -> T) throws(PGError) -> [T] {
        try withResult(sql, values) { result in
            (0..<PQntuples(result)).map { index in row(PGRow(result: result, index: index)) }
        }
    }

    /// Runs `sql` with `values` through `PQexecParams` and lends the result to `body`.
    private func withResult<T>(_ sql: String, _ values: [PGValue], _ body: (OpaquePointer) -> T) throws(PGError) -> T {
        let statement: PGStatementText
        if let known = translated[sql] {
            statement = known
        } else {
            statement = PGStatementText(sql)
            translated[sql] = statement
        }
        precondition(
            statement.parameterCount == values.count,
            "\(values.count) arguments for \(statement.parameterCount) parameters in `\(sql)`: a bug in CellHub")
        var types: [Oid] = []
        var formats: [Int32] = []
        var lengths: [Int32] = []
        var buffers: [[CChar]?] = []
        for value in values {
            switch value {
            case .integer(let number):
                types.append(20)  // int8
                formats.append(0)
                buffers.append(Array(String(number).utf8CString))
                lengths.append(0)
            case .real(let number):
                types.append(701)  // float8
                formats.append(0)
                buffers.append(Array("\(number)".utf8CString))
                lengths.append(0)
            case .text(let text):
                types.append(25)  // text
                formats.append(0)
                buffers.append(Array(text.utf8CString))
                lengths.append(0)
            case .blob(let bytes):
                types.append(17)  // bytea, sent binary: the bytes as they are
                formats.append(1)
                // An empty value still needs a non-null pointer (null means SQL NULL).
                buffers.append(bytes.isEmpty ? [0] : bytes.map { CChar(bitPattern: $0) })
                lengths.append(Int32(bytes.count))
            case .untyped(let text):
                types.append(0)  // the server infers it from the context
                formats.append(0)
                buffers.append(Array(text.utf8CString))
                lengths.append(0)
            case .null:
                types.append(0)  // the server infers it from the context
                formats.append(0)
                buffers.append(nil)
                lengths.append(0)
            }
        }
        // libpq reads the parameter buffers only during the call: pointers into the arrays
        // are valid for exactly that long.
        let result = withPointers(buffers) { pointers in
            PQexecParams(handle, statement.text, Int32(values.count), types, pointers, lengths, formats, 0)
        }
        defer { PQclear(result) }
        try check(result, sql: sql)
        return body(result!)
    }

    private func check(_ result: OpaquePointer?, sql: String) throws(PGError) {
        guard let result else {
            throw PGError(sqlState: "08006", message: Self.errorMessage(handle), sql: sql)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? "XX000"
            let message = PQresultErrorMessage(result).map { String(cString: $0) } ?? "unknown error"
            throw PGError(sqlState: state, message: message.trimmingTrailingWhitespace(), sql: sql)
        }
    }

    // MARK: Transactions

    /// Runs `body` in a READ COMMITTED write transaction and commits; whatever `body` or the
    /// commit throws rolls everything back and is rethrown. `first` (statements without
    /// parameters or results) is sent with the BEGIN, in the same round trip.
    func transaction<T>(first: String? = nil, _ body: () throws -> T) throws -> T {
        do {
            try execute(first.map { "BEGIN; \($0)" } ?? "BEGIN")
        } catch {
            // A failure after BEGIN (in `first`) leaves the transaction open and aborted.
            if !isBroken { try? execute("ROLLBACK") }
            throw error
        }
        return try finish(body)
    }

    /// Runs `body` in a REPEATABLE READ, READ ONLY transaction: every query in it sees one
    /// snapshot of the database.
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return try finish(body)
    }

    private func finish<T>(_ body: () throws -> T) throws -> T {
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // After a broken connection there is nothing to roll back; the pool resets it.
            if !isBroken { try? execute("ROLLBACK") }
            throw error
        }
    }
}

/// Calls `body` with C string pointers into `buffers` (nil stays nil), valid during the call.
private func withPointers<R>(_ buffers: [[CChar]?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafePointer<CChar>?] = []
    pointers.reserveCapacity(buffers.count)
    func next(_ index: Int) -> R {
        guard index < buffers.count else { return body(pointers) }
        guard let buffer = buffers[index] else {
            pointers.append(nil)
            return next(index + 1)
        }
        return buffer.withUnsafeBufferPointer { bytes in
            pointers.append(bytes.baseAddress)
            return next(index + 1)
        }
    }
    return next(0)
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
