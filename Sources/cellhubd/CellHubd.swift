import ArgumentParser

/// The CellHub server executable.
@main
struct CellHubd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cellhubd",
        abstract: "CellHub: real-time statistics for a cell-segmentation hub, over gRPC.",
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self
    )
}
