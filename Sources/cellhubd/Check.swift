import ArgumentParser
import CellHubStore

#if canImport(Glibc)
import Glibc
#endif

/// `cellhubd check`: recounts every counter from the rows it summarises.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recount every counter from its rows; exit 1 listing each inconsistency.",
        discussion: """
            Prints "ok: N projects, M images, counters consistent" and exits 0, or prints one \
            line per inconsistency ("inconsistent: SCOPE: FIELD is STORED, recount gives ACTUAL") \
            on stdout and exits 1. Read-only: it repairs nothing.
            """)

    @OptionGroup var data: DataDirectoryOption

    func run() throws {
        try reportingFailures { () throws(CommandFailure) in
            let store = try DataDirectory.prepare(data.dataDir).openStore()
            let problems: [Inconsistency]
            do throws(StoreError) {
                problems = try store.checkConsistency()
            } catch {
                throw .environment("cannot check the database: \(error)")
            }
            guard problems.isEmpty else {
                for problem in problems { writeLine("inconsistent: \(problem)", to: STDOUT_FILENO) }
                throw .user("\(problems.count) inconsistenc\(problems.count == 1 ? "y" : "ies") found")
            }
            // The totals, for the report (a separate read: exact unless the server writes meanwhile).
            let projects: [String]
            var images: Int64 = 0
            do throws(StoreError) {
                projects = Array(Set(try store.allMemberships().map(\.projectID)))
                for project in projects { images += try store.counters(projectID: project)?.imageCount ?? 0 }
            } catch {
                throw .environment("cannot count projects and images: \(error)")
            }
            writeLine("ok: \(projects.count) projects, \(images) images, counters consistent", to: STDOUT_FILENO)
        }
    }
}
