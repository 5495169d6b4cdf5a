import ArgumentParser

/// `cellhub`: CellHub from the terminal — every operation scriptable (`-o json`), live project
/// cards and dashboards, and `call`/`describe` for any method of the API.
@main
struct CellHub: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cellhub",
        abstract: "CellHub from the terminal: projects, images, segmentation, live stats.",
        discussion: """
            The server and token come from flags, else the environment (CELLHUB_SERVER, \
            CELLHUB_TOKEN, CELLHUB_TOKEN_FILE), else the file `cellhub login` writes.

            Example:
              cellhub login --server 127.0.0.1:50051 --token-file cellhub-data/admin.token
              cellhub projects create demo
              cellhub images upload ./images --project demo --recursive
              cellhub segment enqueue --project demo --unsegmented
              cellhub watch project demo

            Output: tables on a terminal, `-o json` for scripts (one JSON document; one line per \
            event for streams). Exit status: 0 ok, 1 other failure, 64 usage, 65 invalid \
            argument, 66 not found or permission denied, 69 unavailable, 75 deadline exceeded or \
            resource exhausted, 77 not authenticated.
            """,
        subcommands: [
            Login.self, Projects.self, Images.self, Segment.self, Stats.self, Dashboard.self, Activity.self,
            Watch.self, Call.self, Describe.self,
        ]
    )
}
