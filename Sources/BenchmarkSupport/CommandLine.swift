/// The command line of a benchmark executable: a mode, then HOST:PORT (unless the mode
/// serves rather than calls), then `--name value` options and a few boolean flags.
package struct BenchmarkOptions: Sendable {
    package let mode: String
    package var host = "127.0.0.1"
    package var port = 0
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    /// - Parameters:
    ///   - modes: the accepted modes; `addressless` ones take no HOST:PORT.
    ///   - booleanFlags: options without a value.
    ///   - usage: the text shown for a wrong mode or a missing address.
    package init(
        _ arguments: [String], modes: Set<String>, addressless: Set<String> = [], booleanFlags: Set<String> = [], usage: String
    ) throws(UsageError) {
        var rest = Array(arguments.dropFirst())
        guard let mode = rest.first, modes.contains(mode) else { throw UsageError(usage) }
        self.mode = mode
        rest.removeFirst()
        if !addressless.contains(mode) {
            guard let address = rest.first, let colon = address.lastIndex(of: ":"),
                let port = Int(address[address.index(after: colon)...])
            else { throw UsageError("\(mode) wants HOST:PORT first\n\(usage)") }
            host = String(address[..<colon])
            self.port = port
            rest.removeFirst()
        }
        while let flag = rest.first {
            rest.removeFirst()
            guard flag.hasPrefix("--") else { throw UsageError("unexpected argument '\(flag)'\n\(usage)") }
            if booleanFlags.contains(flag) {
                flags.insert(flag)
                continue
            }
            guard let value = rest.first else { throw UsageError("\(flag) wants a value") }
            rest.removeFirst()
            values[flag] = value
        }
    }

    package func flag(_ name: String) -> Bool { flags.contains(name) }

    package func string(_ name: String) -> String? { values[name] }

    package func required(_ name: String) throws(UsageError) -> String {
        guard let value = values[name] else { throw UsageError("\(mode) needs \(name)") }
        return value
    }

    /// A whole number of at least `minimum`.
    package func int(_ name: String, default fallback: Int, minimum: Int = 1) throws(UsageError) -> Int {
        guard let text = values[name] else { return fallback }
        guard let value = Int(text), value >= minimum else {
            throw UsageError("\(name) wants a whole number >= \(minimum), got '\(text)'")
        }
        return value
    }

    /// A positive number.
    package func double(_ name: String, default fallback: Double) throws(UsageError) -> Double {
        guard let text = values[name] else { return fallback }
        guard let value = Double(text), value > 0, value.isFinite else {
            throw UsageError("\(name) wants a positive number, got '\(text)'")
        }
        return value
    }
}

/// A bad command line: the message says what to write instead.
package struct UsageError: Error, CustomStringConvertible {
    package let description: String

    package init(_ description: String) { self.description = description }
}
