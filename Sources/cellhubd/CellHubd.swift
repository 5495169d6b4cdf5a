import ArgumentParser

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
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self
    )
}
