#if canImport(Glibc)
import Glibc
#endif

import ArgumentParser
import CellHubProto

struct Images: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upload, list, show, download and delete images.",
        subcommands: [Upload.self, List.self, Show.self, Download.self, Delete.self])

    static let contentTypes = [
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "tif": "image/tiff", "tiff": "image/tiff",
        "pgm": "image/x-portable-graymap",
    ]

    static func contentType(of path: String) -> String? {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        return contentTypes[path[path.index(after: dot)...].lowercased()]
    }

    struct Upload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload image files (PNG, JPEG, TIFF, PGM) into a project.",
            discussion: """
                Files go in batches of up to 100 images (and 32 MiB). Each batch carries an \
                idempotency key derived from the project and its files (path, size, modification \
                time), so running the same command again after an interruption stores nothing twice. \
                Progress goes to stderr: a bar on a terminal, a line per batch otherwise.

                Example:
                  cellhub images upload ./plate-1 --project demo --recursive
                """)
        @OptionGroup var options: ServerOptions
        @Argument(help: "Image files, or folders with --recursive.") var paths: [String]
        @Option(help: "Project id or name.") var project: String
        @Flag(help: "Upload the images in folders and their subfolders.") var recursive = false

        func run() async throws {
            try await Session.run(options) { session in
                let files = try Upload.collect(paths, recursive: recursive)
                guard !files.isEmpty else { throw Failure.usage("no image files to upload") }
                let projectID = try await session.projectID(project)
                var progress = Progress(out: session.out, totalImages: files.count, totalBytes: files.reduce(0) { $0 + $1.size })
                // Two batches in flight: the next one is read and sent while the server
                // commits the previous one (acknowledgements come in any order; the keys
                // make any of them safe to repeat).
                let batches = Upload.batches(files)
                var responses = [UploadImagesResponse?](repeating: nil, count: batches.count)
                try await withThrowingTaskGroup(of: (Int, UploadImagesResponse).self) { group in
                    var next = 0
                    func send() throws {
                        let number = next
                        let request = try Upload.request(projectID: projectID, batch: number, files: batches[number])
                        group.addTask { (number, try await session.unary(ImageService.uploadImages, request)) }
                        next += 1
                    }
                    while next < min(2, batches.count) { try send() }
                    while let (number, response) = try await group.next() {
                        responses[number] = response
                        progress.advance(images: batches[number].count, bytes: batches[number].reduce(0) { $0 + $1.size },
                                         replayed: response.replayed)
                        if next < batches.count { try send() }
                    }
                }
                var uploaded = UploadImagesResponse()
                uploaded.images = responses.flatMap { $0?.images ?? [] }
                progress.finish()
                if session.out.json { return session.out.document(uploaded) }
                session.out.line("uploaded \(uploaded.images.count) images into \(projectID)")
            }
        }

        static func request(projectID: String, batch number: Int, files: [LocalFile]) throws -> UploadImagesRequest {
            var request = UploadImagesRequest()
            request.projectId = projectID
            request.idempotencyKey = key(projectID: projectID, batch: number, files: files)
            for file in files {
                var image = ImageUpload()
                image.name = file.name
                image.contentType = file.contentType
                image.content = try File.read(file.path)
                request.images.append(image)
            }
            return request
        }

        struct LocalFile: Sendable {
            let path: String
            let name: String
            let contentType: String
            let size: Int64
            let modified: Int64
        }

        static func collect(_ paths: [String], recursive: Bool) throws -> [LocalFile] {
            var files: [LocalFile] = []
            func visit(_ path: String, explicit: Bool) throws {
                let info: File.Info
                do { info = try File.info(path) } catch { throw Failure.usage("\(error)") }
                if info.isDirectory {
                    guard recursive else { throw Failure.usage("\(path) is a folder: add --recursive to upload its images") }
                    for name in try File.list(path) where !name.hasPrefix(".") { try visit(path + "/" + name, explicit: false) }
                    return
                }
                guard let type = Images.contentType(of: path) else {
                    if explicit { throw Failure.usage("\(path): not a PNG, JPEG, TIFF or PGM file name") }
                    return
                }
                let name = path.split(separator: "/").last.map(String.init) ?? path
                files.append(LocalFile(path: path, name: name, contentType: type, size: info.size, modified: info.modified))
            }
            for path in paths { try visit(path, explicit: true) }
            return files
        }

        static func batches(_ files: [LocalFile]) -> [[LocalFile]] {
            var batches: [[LocalFile]] = [[]]
            var bytes: Int64 = 0
            for file in files {
                if batches[batches.count - 1].count == 100 || (bytes + file.size > 32 << 20 && !batches[batches.count - 1].isEmpty) {
                    batches.append([])
                    bytes = 0
                }
                batches[batches.count - 1].append(file)
                bytes += file.size
            }
            return batches
        }

        /// The same files in the same batch give the same key (FNV-1a, two 64-bit lanes).
        static func key(projectID: String, batch: Int, files: [LocalFile]) -> String {
            var text = "\(projectID)\n\(batch)\n"
            for file in files { text += "\(file.path)\t\(file.size)\t\(file.modified)\n" }
            var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x8422_2325_cbf2_9ce4
            for byte in text.utf8 {
                a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
                b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 ^ 0x9E37_79B9
            }
            func hex(_ value: UInt64) -> String {
                let digits = String(value, radix: 16)
                return String(repeating: "0", count: 16 - digits.count) + digits
            }
            return "cli-" + hex(a) + hex(b)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A project's images, newest first.", discussion: "Example:\n  cellhub images list demo --status failed")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Project id or name.") var project: String
        @Option(help: "Only images in this state: none, queued, processing, segmented, failed.") var status: [String] = []
        @Option(help: "Only names containing this text.") var name: String?

        func run() async throws {
            try await Session.run(options) { session in
                var request = ListImagesRequest()
                request.projectId = try await session.projectID(project)
                request.nameContains = name ?? ""
                request.pageSize = 500
                request.statuses = try status.map { text in
                    switch text {
                    case "none": .noSegmentation
                    case "queued": .queued
                    case "processing": .processing
                    case "segmented": .segmented
                    case "failed": .failed
                    default: throw Failure.usage("--status must be none, queued, processing, segmented or failed")
                    }
                }
                var all = ListImagesResponse()
                repeat {
                    let page = try await session.unary(ImageService.listImages, request)
                    all.images += page.images
                    all.totalSize = page.totalSize
                    request.pageToken = page.nextPageToken
                } while !request.pageToken.isEmpty
                if session.out.json { return session.out.document(all) }
                session.out.table(["ID", "NAME", "SIZE", "STATUS", "CELLS", "UPLOADED"], all.images.map { image in
                    [image.id, image.name, Output.bytes(image.sizeBytes), "\(image.status)",
                     image.status == .segmented ? "\(image.cellCount)" : "-", Output.time(image.uploadedAtUnixMs)]
                })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One image's metadata.", discussion: "Example:\n  cellhub images show IMAGE_ID")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Image id.") var image: String

        func run() async throws {
            try await Session.run(options) { session in
                var request = GetImageRequest()
                request.imageId = image
                let response = try await session.unary(ImageService.getImage, request)
                if session.out.json { return session.out.document(response) }
                let i = response.image ?? Image()
                session.out.fields([
                    ("id", i.id), ("project", i.projectId), ("name", i.name), ("type", i.contentType),
                    ("size", Output.bytes(i.sizeBytes)), ("sha256", i.sha256Hex), ("status", "\(i.status)"),
                    ("cells", i.status == .segmented ? "\(i.cellCount)" : "-"),
                    ("uploaded", "\(Output.time(i.uploadedAtUnixMs)) by \(i.uploadedBy?.userName ?? "-")"),
                    ("job", i.jobId.isEmpty ? "-" : i.jobId), ("failure", i.failureReason.isEmpty ? "-" : i.failureReason),
                ])
            }
        }
    }

    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save an image's file.", discussion: "Example:\n  cellhub images download IMAGE_ID -O cells.png")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Image id.") var image: String
        @Option(name: [.customShort("O"), .long], help: "Where to save it (default: its name, here).") var file: String?

        func run() async throws {
            try await Session.run(options) { session in
                var request = GetImageContentRequest()
                request.imageId = image
                let response = try await session.unary(ImageService.getImageContent, request)
                let path = file ?? response.name
                do { try File.write(path, response.content) } catch { throw Failure.other("cannot write \(error)") }
                session.out.line(session.out.json
                    ? JSONValue.object([.init("path", .string(path)), .init("sizeBytes", .string("\(response.sizeBytes)")),
                                        .init("sha256Hex", .string(response.sha256Hex))]).serialized()
                    : "saved \(path) (\(Output.bytes(response.sizeBytes)))")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete images (editor).", discussion: "Example:\n  cellhub images delete IMAGE_ID...")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Image ids.") var images: [String]
        @Option(help: "The project (needed for more than one image).") var project: String?

        func run() async throws {
            try await Session.run(options) { session in
                if images.count == 1 && project == nil {
                    var request = DeleteImageRequest()
                    request.imageId = images[0]
                    let response = try await session.unary(ImageService.deleteImage, request)
                    if session.out.json { return session.out.document(response) }
                    return session.out.line("deleted \(images[0])")
                }
                guard let project else { throw Failure.usage("deleting several images needs --project") }
                var request = DeleteImagesRequest()
                request.projectId = try await session.projectID(project)
                request.imageIds = images
                let response = try await session.unary(ImageService.deleteImages, request)
                if session.out.json { return session.out.document(response) }
                session.out.line("deleted \(images.count) images")
            }
        }
    }
}

/// Upload progress on stderr: a bar redrawn in place on a terminal, a line per batch otherwise.
struct Progress {
    let out: Output
    let totalImages: Int
    let totalBytes: Int64
    let started = ContinuousClock.now
    let terminal = isatty(STDERR_FILENO) == 1
    var images = 0
    var bytes: Int64 = 0
    var replayed = 0

    init(out: Output, totalImages: Int, totalBytes: Int64) {
        self.out = out
        self.totalImages = totalImages
        self.totalBytes = totalBytes
    }

    mutating func advance(images count: Int, bytes size: Int64, replayed wasReplayed: Bool) {
        images += count
        bytes += size
        if wasReplayed { replayed += count }
        let seconds = max(0.001, (ContinuousClock.now - started) / .seconds(1))
        let rate = Double(images) / seconds
        let eta = rate > 0 ? Int((Double(totalImages - images) / rate).rounded()) : 0
        let figures = "\(images)/\(totalImages) images  \(Output.bytes(bytes))/\(Output.bytes(totalBytes))  \(Int(rate.rounded())) images/s"
        if terminal {
            let width = 24, filled = totalImages == 0 ? width : width * images / totalImages
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            out.write("\r\u{1B}[2K\(bar) \(figures)  ETA \(eta / 60):\(eta % 60 < 10 ? "0" : "")\(eta % 60)", to: STDERR_FILENO)
        } else {
            out.write("uploaded \(figures)\(wasReplayed ? " (already there)" : "")\n", to: STDERR_FILENO)
        }
    }

    func finish() {
        if terminal { out.write("\n", to: STDERR_FILENO) }
        if replayed > 0 { out.write("\(replayed) of the images were already uploaded by an earlier run\n", to: STDERR_FILENO) }
    }
}
