/// The command line, parsed by hand (three flags do not need a parser dependency).
struct Options {
    var files: [String] = []
    var json = false
    var verbose = false
    /// Passes over the files in bench mode.
    var bench: Int?

    static let usage = "usage: cellhub-segment FILE... [--json] [--verbose] [--bench N]"

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    init(_ arguments: [String]) throws(UsageError) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--json": json = true
            case "--verbose", "-v": verbose = true
            case "--bench":
                guard let value = rest.popFirst(), let passes = Int(value), passes > 0 else {
                    throw UsageError(description: "--bench needs a positive number of passes")
                }
                bench = passes
            case "--help", "-h": throw UsageError(description: "help")
            case "--": files.append(contentsOf: rest); rest = []
            default:
                if argument.hasPrefix("-") { throw UsageError(description: "unknown option \(argument)") }
                files.append(argument)
            }
        }
        if files.isEmpty { throw UsageError(description: "no files") }
    }
}
