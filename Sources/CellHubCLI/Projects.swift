import ArgumentParser
import CellHubProto

struct Projects: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, create, show, rename, delete and share projects.",
        subcommands: [List.self, Create.self, Show.self, Rename.self, Delete.self, Share.self, Unshare.self,
                      Shares.self, Leave.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Projects you own or that are shared with you, newest first.",
            discussion: "Example:\n  cellhub projects list --shared -o json")
        @OptionGroup var options: ServerOptions
        @Flag(help: "Only projects you own.") var owned = false
        @Flag(help: "Only projects shared with you.") var shared = false
        @Option(help: "Only names containing this text.") var name: String?

        func run() async throws {
            try await Session.run(options) { session in
                var request = ListProjectsRequest()
                request.filter = owned ? .owned : shared ? .shared : .all
                request.nameContains = name ?? ""
                request.pageSize = 500
                var all = ListProjectsResponse()
                repeat {
                    let page = try await session.unary(ProjectService.listProjects, request)
                    all.projects += page.projects
                    all.totalSize = page.totalSize
                    request.pageToken = page.nextPageToken
                } while !request.pageToken.isEmpty
                if session.out.json { return session.out.document(all) }
                session.out.table(["ID", "NAME", "ROLE", "IMAGES", "SEGMENTED", "QUEUED", "OWNER"], all.projects.map { p in
                    let stats = p.stats ?? ProjectStats()
                    return [p.id, p.name, "\(p.callerRole)", "\(stats.imageCount)", "\(stats.segmentedCount)",
                            "\(stats.queuedCount + stats.processingCount)", p.owner?.userName ?? ""]
                })
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a project you own.", discussion: "Example:\n  cellhub projects create demo --description 'HeLa, day 3'")
        @OptionGroup var options: ServerOptions
        @Argument(help: "The project's name.") var name: String
        @Option(help: "A description.") var description = ""

        func run() async throws {
            try await Session.run(options) { session in
                var request = CreateProjectRequest()
                request.name = name
                request.projectDescription = description
                let response = try await session.unary(ProjectService.createProject, request)
                if session.out.json { return session.out.document(response) }
                session.printProject(response.project ?? Project())
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One project with its stats.", discussion: "Example:\n  cellhub projects show demo")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Project id or name.") var project: String

        func run() async throws {
            try await Session.run(options) { session in
                var request = GetProjectRequest()
                request.projectId = try await session.projectID(project)
                let response = try await session.unary(ProjectService.getProject, request)
                if session.out.json { return session.out.document(response) }
                session.printProject(response.project ?? Project())
            }
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rename a project (owner).", discussion: "Example:\n  cellhub projects rename demo demo-2025")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Project id or name.") var project: String
        @Argument(help: "The new name.") var name: String

        func run() async throws {
            try await Session.run(options) { session in
                var request = UpdateProjectRequest()
                request.projectId = try await session.projectID(project)
                request.nameUpdate = .name(name)
                let response = try await session.unary(ProjectService.updateProject, request)
                if session.out.json { return session.out.document(response) }
                session.printProject(response.project ?? Project())
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a project with its images (owner).", discussion: "Example:\n  cellhub projects delete demo")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Project id or name.") var project: String

        func run() async throws {
            try await Session.run(options) { session in
                var request = DeleteProjectRequest()
                request.projectId = try await session.projectID(project)
                let response = try await session.unary(ProjectService.deleteProject, request)
                if session.out.json { return session.out.document(response) }
                session.out.line("deleted \(request.projectId): \(response.deletedImageCount) images, \(response.cancelledJobCount) jobs cancelled")
            }
        }
    }

    struct Share: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Share a project with a user (owner), or change their role.",
            discussion: "Example:\n  cellhub projects share demo bob --role editor")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Project id or name.") var project: String
        @Argument(help: "The user's name.") var user: String
        @Option(help: "viewer or editor.") var role = "viewer"

        func run() async throws {
            try await Session.run(options) { session in
                var request = ShareProjectRequest()
                request.projectId = try await session.projectID(project)
                request.grantee = .userName(user)
                switch role {
                case "viewer": request.role = .viewer
                case "editor": request.role = .editor
                default: throw Failure.usage("--role must be viewer or editor, got '\(role)'")
                }
                let response = try await session.unary(ProjectService.shareProject, request)
                if session.out.json { return session.out.document(response) }
                session.out.line("\(response.created ? "shared with" : "changed the role of") \(user): \(response.member?.role ?? .unspecified)")
            }
        }
    }

    struct Unshare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a user's access away (owner).", discussion: "Example:\n  cellhub projects unshare demo bob")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Project id or name.") var project: String
        @Argument(help: "The user's name.") var user: String

        func run() async throws {
            try await Session.run(options) { session in
                var request = RevokeShareRequest()
                request.projectId = try await session.projectID(project)
                request.grantee = .userName(user)
                let response = try await session.unary(ProjectService.revokeShare, request)
                if session.out.json { return session.out.document(response) }
                session.out.line("\(user) no longer has access")
            }
        }
    }

    struct Shares: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who has access to a project.", discussion: "Example:\n  cellhub projects shares demo")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Project id or name.") var project: String

        func run() async throws {
            try await Session.run(options) { session in
                var request = ListSharesRequest()
                request.projectId = try await session.projectID(project)
                let response = try await session.unary(ProjectService.listShares, request)
                if session.out.json { return session.out.document(response) }
                session.out.table(["USER", "ROLE", "SINCE", "BY"], response.members.map { member in
                    [member.user?.userName ?? "", "\(member.role)", Output.time(member.sharedAtUnixMs), member.sharedBy?.userName ?? ""]
                })
            }
        }
    }

    struct Leave: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give up your access to a project shared with you.", discussion: "Example:\n  cellhub projects leave demo")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Project id or name.") var project: String

        func run() async throws {
            try await Session.run(options) { session in
                var request = RevokeShareRequest()
                request.projectId = try await session.projectID(project)
                request.grantee = .leave(true)
                let response = try await session.unary(ProjectService.revokeShare, request)
                if session.out.json { return session.out.document(response) }
                session.out.line("left \(request.projectId)")
            }
        }
    }
}

extension Session {
    /// A project given by id, or by name among the projects the caller can see (an exact
    /// match; ambiguous names are refused).
    func projectID(_ reference: String) async throws -> String {
        if Session.looksLikeID(reference) { return reference }
        var request = ListProjectsRequest()
        request.nameContains = reference
        request.pageSize = 500
        let matches = try await unary(ProjectService.listProjects, request).projects.filter { $0.name == reference }
        switch matches.count {
        case 1: return matches[0].id
        case 0: throw Failure(status: 66, message: "no project named '\(reference)' (give its id, or see `cellhub projects list`)")
        default: throw Failure.usage("\(matches.count) projects are named '\(reference)': give the id (\(matches.map(\.id).joined(separator: ", ")))")
        }
    }

    static func looksLikeID(_ text: String) -> Bool {
        text.count == 36 && text.allSatisfy { $0.isHexDigit || $0 == "-" } && text.filter { $0 == "-" }.count == 4
    }

    func printProject(_ p: Project) {
        let stats = p.stats ?? ProjectStats()
        out.fields([
            ("id", p.id), ("name", p.name), ("description", p.projectDescription.isEmpty ? "-" : p.projectDescription),
            ("owner", p.owner?.userName ?? "-"), ("your role", "\(p.callerRole)"), ("shared with", "\(p.shareCount)"),
            ("created", Output.time(p.createdAtUnixMs)),
            ("images", "\(stats.imageCount) (\(Output.bytes(stats.totalBytes)))"),
            ("segmented", "\(stats.segmentedCount) (\(Output.percent(stats.progress)))"),
            ("queued", "\(stats.queuedCount)"), ("processing", "\(stats.processingCount)"),
            ("failed", "\(stats.failedCount)"), ("not segmented", "\(stats.noSegmentationCount)"),
        ])
    }
}
