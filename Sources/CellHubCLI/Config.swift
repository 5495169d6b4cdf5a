import ArgumentParser
import CellHubProto

#if canImport(Glibc)
import Glibc
#endif

/// `cellhub login`'s settings: `server = H:P` and `token-file = PATH` lines in
/// $CELLHUB_CONFIG, else $XDG_CONFIG_HOME/cellhub/config, else ~/.config/cellhub/config.
struct Config {
    var server: String?
    var tokenFile: String?

    /// An environment variable; nil when unset or empty.
    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    static var path: String {
        if let explicit = environment("CELLHUB_CONFIG") { return explicit }
        let base = environment("XDG_CONFIG_HOME") ?? (environment("HOME") ?? ".") + "/.config"
        return base + "/cellhub/config"
    }

    static func load() -> Config {
        var config = Config()
        guard let text = try? File.read(path) else { return config }
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmed() }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "server": config.server = parts[1]
            case "token-file": config.tokenFile = parts[1]
            default: continue
            }
        }
        return config
    }

    /// Writes the file readable by its owner only (it says where the token is).
    func save() throws {
        let path = Config.path
        if let slash = path.lastIndex(of: "/") {
            try File.makeDirectories(String(path[..<slash]))
        }
        var text = ""
        if let server { text += "server = \(server)\n" }
        if let tokenFile { text += "token-file = \(tokenFile)\n" }
        try File.write(path, Array(text.utf8), mode: 0o600)
    }

    static func readToken(_ file: String) throws -> String {
        do {
            let token = String(decoding: try File.read(file), as: UTF8.self).trimmed()
            guard !token.isEmpty else { throw Failure.usage("the token file \(file) is empty") }
            guard token.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                throw Failure.usage("the token file \(file) holds more than a token (spaces or several lines)")
            }
            return token
        } catch let error as File.Error {
            throw Failure.usage("cannot read the token file: \(error)")
        }
    }
}

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remember the server and token file for later commands (a 0600 config file).",
        discussion: "Example:\n  cellhub login --server 127.0.0.1:50051 --token-file cellhub-data/admin.token")

    @Option(help: "The server, HOST:PORT.") var server: String
    @Option(help: "File holding the API token (its path is stored, not the token).") var tokenFile: String
    @Flag(help: "Save without checking the token against the server.") var noCheck = false

    func run() async throws {
        let absolute = tokenFile.hasPrefix("/") ? tokenFile : File.currentDirectory() + "/" + tokenFile
        var options = try ServerOptions.parse(["--server", server, "--token-file", absolute])
        options.output = .table
        if !noCheck {
            // A call any user may make: the token is good and the server answers.
            try await Session.run(options) { session in
                _ = try await session.unary(StatsService.getDashboardMetrics, GetDashboardMetricsRequest())
            }
        }
        do {
            try Config(server: server, tokenFile: absolute).save()
        } catch {
            Output(format: .table).error("cannot write \(Config.path): \(error)")
            throw ExitCode(1)
        }
        print("saved \(Config.path): server \(server), token file \(absolute)")
    }
}

extension StringProtocol {
    /// Without leading and trailing white space (including "\r\n", one Character in Swift).
    func trimmed() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
