import ArgumentParser
import CellHubProto

struct Segment: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue images for segmentation, cancel, and read jobs, results and the queue.",
        subcommands: [Enqueue.self, Cancel.self, Status.self, Result.self, Queue.self])

    struct Enqueue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue images of a project for segmentation.",
            discussion: "Example:\n  cellhub segment enqueue --project demo --unsegmented\n  cellhub segment enqueue --project demo IMAGE_ID... --priority 5")
        @OptionGroup var options: ServerOptions
        @Option(help: "Project id or name.") var project: String
        @Argument(help: "Image ids (or --unsegmented).") var images: [String] = []
        @Flag(help: "Every image of the project not segmented, queued or processing.") var unsegmented = false
        @Option(help: "Model name (default: the server's).") var model = ""
        @Option(help: "Priority 0...10 (higher first).") var priority: Int32 = 0
        @Flag(help: "Segment again images already segmented.") var force = false

        func run() async throws {
            try await Session.run(options) { session in
                guard unsegmented != !images.isEmpty else { throw Failure.usage("give image ids or --unsegmented (not both)") }
                var request = EnqueueSegmentationRequest()
                request.projectId = try await session.projectID(project)
                request.model = model
                request.priority = priority
                request.force = force
                if unsegmented {
                    request.target = .unsegmented(UnsegmentedImages())
                } else {
                    var list = ImageIdList()
                    list.imageIds = images
                    request.target = .images(list)
                }
                let response = try await session.unary(SegmentationService.enqueueSegmentation, request)
                if session.out.json { return session.out.document(response) }
                session.out.line("queued \(response.enqueuedCount) images for \(response.model) (batch \(response.batchId)); \(response.skippedCount) skipped")
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel queued or running jobs.",
            discussion: "Example:\n  cellhub segment cancel JOB_ID...\n  cellhub segment cancel --project demo")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Job ids.") var jobs: [String] = []
        @Option(help: "Every job of this project (id or name).") var project: String?
        @Option(help: "Every job of this batch.") var batch: String?

        func run() async throws {
            try await Session.run(options) { session in
                var request = CancelSegmentationRequest()
                switch (jobs.isEmpty, project, batch) {
                case (false, nil, nil):
                    var list = JobIdList()
                    list.jobIds = jobs
                    request.target = .jobs(list)
                case (true, let project?, nil): request.target = .projectId(try await session.projectID(project))
                case (true, nil, let batch?): request.target = .batchId(batch)
                default: throw Failure.usage("give job ids, --project or --batch (one of them)")
                }
                let response = try await session.unary(SegmentationService.cancelSegmentation, request)
                if session.out.json { return session.out.document(response) }
                session.out.line("cancelled \(response.cancelledCount) jobs (\(response.cancelledProcessingCount) were running)")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One job's state.", discussion: "Example:\n  cellhub segment status JOB_ID")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Job id.") var job: String

        func run() async throws {
            try await Session.run(options) { session in
                var request = GetJobRequest()
                request.jobId = job
                let response = try await session.unary(SegmentationService.getJob, request)
                if session.out.json { return session.out.document(response) }
                let j = response.job ?? SegmentationJob()
                session.out.fields([
                    ("job", j.id), ("image", j.imageId), ("project", j.projectId), ("status", "\(j.status)"),
                    ("model", j.model), ("priority", "\(j.priority)"), ("attempts", "\(j.attempts)/\(j.maxAttempts)"),
                    ("queue position", j.queuePosition > 0 ? "\(j.queuePosition)" : "-"),
                    ("enqueued", Output.time(j.enqueuedAtUnixMs)), ("started", Output.time(j.startedAtUnixMs)),
                    ("finished", Output.time(j.finishedAtUnixMs)), ("worker", j.workerName.isEmpty ? "-" : j.workerName),
                    ("failure", j.failureReason.isEmpty ? "-" : j.failureReason),
                ])
            }
        }
    }

    struct Result: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "An image's segmentation result.", discussion: "Example:\n  cellhub segment result IMAGE_ID -o json")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Image id.") var image: String

        func run() async throws {
            try await Session.run(options) { session in
                var request = GetSegmentationRequest()
                request.imageId = image
                let response = try await session.unary(SegmentationService.getSegmentation, request)
                if session.out.json { return session.out.document(response) }
                let result = response.result ?? SegmentationResult()
                session.out.fields([
                    ("image", response.imageId), ("job", response.jobId), ("model", response.model),
                    ("cells", "\(result.cellCount)"), ("total area", "\(result.totalAreaPx) px"),
                    ("mean area", "\(Double(Int(result.meanAreaPx * 10)) / 10) px"),
                    ("processing", "\(response.processingTimeMs) ms"), ("completed", Output.time(response.completedAtUnixMs)),
                ])
            }
        }
    }

    struct Queue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The queue: jobs waiting and running (yours, or a project's).", discussion: "Example:\n  cellhub segment queue --project demo")
        @OptionGroup var options: ServerOptions
        @Option(help: "Project id or name.") var project: String?

        func run() async throws {
            try await Session.run(options) { session in
                var request = GetQueueStatsRequest()
                if let project { request.projectId = try await session.projectID(project) }
                let response = try await session.unary(SegmentationService.getQueueStats, request)
                if session.out.json { return session.out.document(response) }
                session.out.fields([
                    ("queued (server)", "\(response.queuedCount)"), ("processing (server)", "\(response.processingCount)"),
                    ("queued (\(project ?? "yours"))", "\(response.scopeQueuedCount)"),
                    ("processing (\(project ?? "yours"))", "\(response.scopeProcessingCount)"),
                    ("next position", response.position > 0 ? "\(response.position)" : "-"),
                ])
            }
        }
    }
}
