import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// The CellHub server executable.
///
/// A synchronous entry point on purpose: signals are blocked before any thread exists and
/// taken with `sigwait`, and the main thread never parks inside libdispatch's signal
/// handling (valgrind cannot run a process that does).
@main
struct CellHubd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cellhubd",
        abstract: "CellHub: real-time statistics for a cell-segmentation hub, over gRPC.",
        subcommands: [Serve.self, Worker.self, Users.self, Check.self],
        defaultSubcommand: Serve.self
    )
}

/// Why a command failed, as the process reports it: one line on stderr and an exit code —
/// 1 for the user's mistakes (bad name, unknown user, inconsistent data), 2 for the
/// environment (unwritable directory, unreadable database).
struct CommandFailure: Error {
    var exitCode: Int32
    var message: String

    static func user(_ message: String) -> CommandFailure { CommandFailure(exitCode: 1, message: message) }
    static func environment(_ message: String) -> CommandFailure { CommandFailure(exitCode: 2, message: message) }
}

/// Runs a command's body; a `CommandFailure` becomes one line on stderr and its exit code
/// (ArgumentParser exits with an `ExitCode` without printing anything more).
func reportingFailures(_ body: () throws(CommandFailure) -> Void) throws(ExitCode) {
    do throws(CommandFailure) {
        try body()
    } catch {
        report(error)
        throw ExitCode(error.exitCode)
    }
}

/// Prints `failure` as one line on stderr (newlines in embedded messages, e.g. SQL, folded).
func report(_ failure: CommandFailure) {
    let oneLine = failure.message.split(whereSeparator: \.isNewline).map { $0.trimmingPrefix(while: \.isWhitespace) }.joined(separator: " ")
    writeLine("cellhubd: error: \(oneLine)", to: STDERR_FILENO)
}

/// Writes `line` and a newline with one write(2), unbuffered (a pipe sees it at once).
func writeLine(_ line: String, to descriptor: Int32) {
    var text = line + "\n"
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

/// `--data-dir`, shared by the admin commands (`serve` declares its own).
struct DataDirectoryOption: ParsableArguments {
    @Option(help: "Directory for the database and image files.") var dataDir = DataDirectory.defaultPath
    @Option(help: "A PostgreSQL database (postgres://… or postgresql://…, libpq's URI) instead of the SQLite file in --data-dir; image files stay in --data-dir.")
    var database: String?
    @Option(help: "Directory for the image files instead of <data-dir>/blobs (the one the nodes of a cluster share).")
    var blobDir: String?
}
