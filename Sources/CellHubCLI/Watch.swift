import ArgumentParser
import CellHubClient
import CellHubProto
import RPC

#if canImport(Glibc)
import Glibc
#endif

/// Lines redrawn in place on a terminal (cursor up, clear, rewrite): a live card.
struct Screen {
    let out: Output
    let live: Bool
    private var drawn = 0

    init(out: Output) {
        self.out = out
        live = out.terminal && !out.json
    }

    mutating func redraw(_ lines: [String]) {
        var text = drawn > 0 ? "\u{1B}[\(drawn)F" : ""
        for line in lines { text += "\u{1B}[2K" + line + "\n" }
        if lines.count < drawn { text += "\u{1B}[J" }
        out.write(text, to: STDOUT_FILENO)
        drawn = lines.count
    }
}

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow something live.", subcommands: [ProjectCard.self])

    struct ProjectCard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "project",
            abstract: "A project's card, redrawn as it changes: counts per status, progress, rates, recent events, who else watches.",
            discussion: """
                On a terminal the card is redrawn in place; otherwise one line per event; with \
                `-o json`, every event as one JSON line. The stream resumes across disconnects and \
                server restarts without losing an event. Ends with status 66 when the project is \
                deleted or your access is revoked, 77 when the token is revoked; Ctrl-C ends it.

                Example:
                  cellhub watch project demo
                """)
        @OptionGroup var options: ServerOptions
        @Argument(help: "Project id or name.") var project: String
        @Option(help: "Minimum milliseconds between two stats updates (0: every change).") var interval: UInt32?

        func run() async throws {
            try await Session.run(options) { session in
                let projectID = try await session.projectID(project)
                var card = Card(out: session.out)
                for try await item in session.hub.watchProject(projectID, minUpdateIntervalMs: interval) {
                    switch item {
                    case .reconnecting(let error, let delay):
                        card.connection = "reconnecting (\(error.code), next try in \(Output.milliseconds(delay)))"
                        if !session.out.json { session.out.diagnostic("cellhub: stream interrupted (\(error.code)); resuming") }
                    case .event(let event):
                        card.connection = "live"
                        if session.out.json {
                            session.out.record(event)
                        } else {
                            card.apply(event)
                        }
                    }
                    if card.screen.live { card.draw() }
                }
            }
        }
    }
}

/// What the live card shows, folded from the project's events.
struct Card {
    let out: Output
    var screen: Screen
    var name = ""
    var stats = ProjectStats()
    var watchers: [String] = []
    var recent: [String] = []
    var connection = "connecting"
    /// (time, images added, images segmented) of recent changes, for the rates.
    var samples: [(ContinuousClock.Instant, Int64, Int64)] = []

    init(out: Output) {
        self.out = out
        screen = Screen(out: out)
    }

    mutating func apply(_ event: ProjectEvent) {
        var note: String?
        let actor = event.actorUserName.isEmpty ? "someone" : event.actorUserName
        switch event.payload {
        case .snapshot(let snapshot):
            name = snapshot.project?.name ?? ""
            stats = snapshot.project?.stats ?? ProjectStats()
            watchers = snapshot.watchers.map(\.userName)
            note = snapshot.resync ? "resynchronised (events may have been missed)" : nil
        case .statsUpdate(let update):
            let before = stats
            stats = update.stats ?? stats
            samples.append((.now, stats.imageCount - before.imageCount, stats.segmentedCount - before.segmentedCount))
        case .imageCountChange(let change):
            note = "\(actor): images \(change.previousImageCount) → \(change.newImageCount)"
        case .imageDeleted(let deleted): note = "\(actor) deleted \(deleted.imageName)"
        case .batchImagesDeleted(let batch): note = "\(actor) deleted \(batch.images?.totalCount ?? 0) images"
        case .segmentationCompleted(let done): note = "\(done.completedCount) segmented (\(done.totalCellCount) cells)"
        case .segmentationFailed(let failed): note = "\(failed.failedCount) failed: \(failed.lastReason)"
        case .projectUpdated(let updated):
            name = updated.name
            note = "\(actor) changed \(updated.changedFields.joined(separator: ", "))"
        case .sharesChanged(let shares): note = "\(actor): \(shares.changeType) \(shares.user?.userName ?? "")"
        case .presence(let presence):
            watchers = presence.watchers.map(\.userName)
            note = "\(presence.user?.userName ?? "?") \(presence.change == .joined ? "started" : "stopped") watching"
        case .accessRevoked: note = "your access was revoked"
        case .projectDeleted: note = "the project was deleted"
        case .caughtUp, .progress, nil: break
        }
        if let note {
            if screen.live {
                recent.append("\(Output.time(event.timestampUnixMs).dropFirst(11)) \(note)")
                if recent.count > 5 { recent.removeFirst(recent.count - 5) }
            } else {
                out.line("[\(event.revision)] \(note)")
            }
        }
        if !screen.live, case .statsUpdate = event.payload { out.line("[\(event.revision)] \(summary)") }
        if !screen.live, case .snapshot = event.payload { out.line("[\(event.revision)] \(name): \(summary)") }
    }

    var summary: String {
        "\(stats.imageCount) images, \(stats.segmentedCount) segmented, \(stats.queuedCount) queued, \(stats.processingCount) processing, \(stats.failedCount) failed"
    }

    mutating func draw() {
        let now = ContinuousClock.now
        samples.removeAll { now - $0.0 > .seconds(10) }
        let window = max(1.0, min(10.0, samples.first.map { (now - $0.0) / .seconds(1) } ?? 10))
        let added = Double(samples.reduce(0) { $0 + $1.1 }) / window
        let segmented = Double(samples.reduce(0) { $0 + $1.2 }) / window
        let done = stats.imageCount == 0 ? 0 : Int(Double(stats.segmentedCount) / Double(stats.imageCount) * 30)
        let bar = String(repeating: "█", count: done) + String(repeating: "░", count: 30 - done)
        var lines = [
            "\(out.bold(name)) \(out.dim("· \(connection) · revision \(stats.revision)"))",
            "\(bar) \(Output.percent(stats.imageCount == 0 ? 0 : Double(stats.segmentedCount) / Double(stats.imageCount))) segmented",
            "images \(stats.imageCount) (\(Output.bytes(stats.totalBytes)))  segmented \(stats.segmentedCount)  queued \(stats.queuedCount)  processing \(stats.processingCount)  failed \(stats.failedCount)  not segmented \(stats.noSegmentationCount)",
            "rates (10 s): \(String(format1: added)) uploaded/s, \(String(format1: segmented)) segmented/s",
            "watching: \(watchers.isEmpty ? "-" : watchers.joined(separator: ", "))",
        ]
        lines += recent.map { out.dim("  " + $0) }
        screen.redraw(lines)
    }
}

extension String {
    init(format1 value: Double) {
        self = "\(Double(Int((value * 10).rounded())) / 10)"
    }
}
