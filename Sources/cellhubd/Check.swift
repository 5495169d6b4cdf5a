import ArgumentParser
import CellHub
import CellHubStore

#if canImport(Glibc)
import Glibc
#endif

/// `cellhubd check`: recounts every counter from the rows it summarises.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recount every counter from its rows and match image files to images; exit 1 listing each problem.",
        discussion: """
            Prints "ok: N projects, M images, counters consistent, F image files" and exits 0, \
            or prints one line per problem on stdout and exits 1: "inconsistent: SCOPE: FIELD is \
            STORED, recount gives ACTUAL" for counters, "missing file: HASH" / "damaged file: HASH" \
            for image bytes the database references, "orphan file: PATH" for files nothing \
            references (the next `serve` start sweeps them). Temporary files of uploads are no \
            problem: while a server runs on the directory they are listed as "upload in \
            progress: PATH"; when none runs, they are a crashed upload's leftovers and are \
            removed ("removed temporary file: PATH"), the only change check makes (never with \
            --blob-dir: other nodes may write there, so they are listed as in progress). Run it while \
            the server is stopped for an exact answer: an upload in flight can look like an \
            orphan for a moment.
            """)

    @OptionGroup var data: DataDirectoryOption

    func run() throws {
        try reportingFailures { () throws(CommandFailure) in
            let directory = try DataDirectory.prepare(data.dataDir, blobDirectory: data.blobDir)
            let store = try directory.openStore(database: data.database)
            var problems: [String]
            do throws(StoreError) {
                problems = try store.checkConsistency().map { "inconsistent: \($0)" }
            } catch {
                throw .environment("cannot check the database: \(error)")
            }
            let files: BlobAudit
            do throws(ImageError) {
                files = try BlobStore(directory: directory.blobsPath, store: store).audit()
            } catch {
                let detail = if case .internal(let fault) = error { fault.description } else { error.message }
                throw .environment("cannot check the image files in \(directory.blobsPath): \(detail)")
            }
            // A shared --blob-dir may be written by nodes whose lock is in their own data directory.
            if directory.isServed() || data.blobDir != nil {
                for file in files.temporaries { writeLine("upload in progress: \(file)", to: STDOUT_FILENO) }
            } else if !files.temporaries.isEmpty {
                do throws(ImageError) {
                    let blobs = try BlobStore(directory: directory.blobsPath, store: store)
                    for file in try blobs.removeTemporaryFiles() { writeLine("removed temporary file: \(file)", to: STDOUT_FILENO) }
                } catch {
                    throw .environment("cannot remove temporary files in \(directory.blobsPath): \(error.message)")
                }
            }
            problems += files.missing.map { "missing file: \($0)" }
            problems += files.damaged.map { "damaged file: \($0)" }
            problems += files.orphans.map { "orphan file: \($0)" }
            guard problems.isEmpty else {
                for problem in problems { writeLine(problem, to: STDOUT_FILENO) }
                throw .user("\(problems.count) problem\(problems.count == 1 ? "" : "s") found")
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
            let fileCount = (try? store.blobSizes().count) ?? 0
            writeLine("ok: \(projects.count) projects, \(images) images, counters consistent, \(fileCount) image files", to: STDOUT_FILENO)
        }
    }
}
