import CellHub
import CellHubSQL
internal import CSQLite

/// One prepared statement: binds arguments, steps, and always leaves itself reset.
///
/// Statements are created and cached by `SQLiteConnection`; they never outlive it (the cache
/// is emptied in the connection's deinit before the handle is closed).
final class SQLiteStatement {
    /// Owned: created by `sqlite3_prepare_v3`, finalized in deinit. SQLite requires every
    /// statement to be finalized for its connection to close; `sqlite3_close_v2` tolerates
    /// the other order, but the connection finalizes its cache first anyway.
    private let handle: OpaquePointer
    /// The SQL text, for error reports and the cache key.
    let sql: String
    /// True while a call binds or steps the statement. A nested use of the same SQL (a query
    /// run from inside another's row callback) must not reset it, so it gets a fresh one.
    var isInUse = false

    init(handle: OpaquePointer, sql: String) {
        self.handle = handle
        self.sql = sql
    }

    deinit {
        // sqlite3_finalize returns the error of the last step, already reported there.
        sqlite3_finalize(handle)
    }

    /// Binds `arguments` to the parameters `?1...?n` in order. The count must match: a
    /// mismatch is a bug in the SQL of this module, not a runtime condition.
    func bind(_ arguments: [any SQLBindable]) throws(SQLiteError) {
        let expected = Int(sqlite3_bind_parameter_count(handle))
        precondition(
            arguments.count == expected,
            "\(arguments.count) arguments for \(expected) parameters in `\(sql)`: a bug in CellHub")
        for (offset, argument) in arguments.enumerated() {
            try bind(argument.sqlValue, at: Int32(offset + 1))
        }
    }

    private func bind(_ value: SQLValue, at index: Int32) throws(SQLiteError) {
        let transient = cellhub_sqlite_transient()
        let result: Int32
        switch value {
        case .integer(let integer):
            result = sqlite3_bind_int64(handle, index, integer)
        case .real(let real):
            result = sqlite3_bind_double(handle, index, real)
        case .text(var text):
            // A NULL pointer would bind SQL NULL, and an empty String's UTF-8 view may have
            // no base address: empty text is bound from a literal's (non-NULL) C string.
            if text.isEmpty {
                result = "".withCString { sqlite3_bind_text64(handle, index, $0, 0, transient, UInt8(SQLITE_UTF8)) }
            } else {
                result = text.withUTF8 { bytes in
                    bytes.withMemoryRebound(to: CChar.self) {
                        sqlite3_bind_text64(handle, index, $0.baseAddress, UInt64($0.count), transient, UInt8(SQLITE_UTF8))
                    }
                }
            }
        case .blob(let bytes):
            // Same NULL rule as text: an empty blob is a zero-length zeroblob, not NULL.
            if bytes.isEmpty {
                result = sqlite3_bind_zeroblob(handle, index, 0)
            } else {
                result = bytes.withUnsafeBytes {
                    sqlite3_bind_blob64(handle, index, $0.baseAddress, UInt64($0.count), transient)
                }
            }
        case .null:
            result = sqlite3_bind_null(handle, index)
        }
        if result != SQLITE_OK { throw error(result) }
    }

    /// Advances to the next row: true when a row is available (read it with `row`), false
    /// when the statement is done.
    func step() throws(SQLiteError) -> Bool {
        let result = sqlite3_step(handle)
        switch result {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw error(result)
        }
    }

    /// The current row. Valid until the next `step` or `reset`.
    var row: SQLiteRow { SQLiteRow(statement: handle) }

    /// Rewinds and clears bindings so the cached statement is ready for its next use and
    /// holds no read lock. Its return value repeats the last step's error, already thrown.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// The connection's error state, captured right after the failing call (like errno).
    private func error(_ result: Int32) -> SQLiteError {
        precondition(result != SQLITE_MISUSE && result & 0xFF != SQLITE_RANGE, "SQLite misuse (\(result)) in `\(sql)`: a bug in CellHub")
        return SQLiteError.capture(result, connection: sqlite3_db_handle(handle), sql: sql)
    }
}

extension SQLiteError {
    /// Reads the extended code and message of `connection` for a call that returned `result`.
    static func capture(_ result: Int32, connection: OpaquePointer?, sql: String) -> SQLiteError {
        guard let connection else {
            return SQLiteError(code: result & 0xFF, extendedCode: result, message: "out of memory", sql: sql)
        }
        // With SQLITE_OPEN_EXRESCODE most calls already return the extended code. The
        // connection's state describes this call only if its primary code matches; otherwise
        // (a call that does not set it) fall back to the generic text for `result`.
        let connectionCode = sqlite3_extended_errcode(connection)
        let describesThisCall = connectionCode & 0xFF == result & 0xFF
        let extended = result > 0xFF ? result : (describesThisCall ? connectionCode : result)
        let message = String(cString: describesThisCall ? sqlite3_errmsg(connection) : sqlite3_errstr(result))
        return SQLiteError(code: result & 0xFF, extendedCode: extended, message: message, sql: sql)
    }
}
