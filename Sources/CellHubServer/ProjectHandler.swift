import CellHub
package import CellHubProto
import CellHubStore
package import RPC

/// `cellhub.v1.ProjectService` over the domain's ProjectService and SharingService.
package struct ProjectHandler: ProjectServiceHandler {
    private let runner: DomainRunner

    package init(runner: DomainRunner) { self.runner = runner }

    package func createProject(_ request: CreateProjectRequest, context: ServerContext) async throws -> CreateProjectResponse {
        let projects = runner.domain.projects
        let created = try await runner.call(context) { caller throws(ProjectError) in
            try projects.create(name: request.name, description: request.projectDescription, caller: caller)
        }
        var response = CreateProjectResponse()
        response.project = Project(created.project)
        return response
    }

    package func getProject(_ request: GetProjectRequest, context: ServerContext) async throws -> GetProjectResponse {
        let projects = runner.domain.projects
        let project = try await runner.call(context) { caller throws(ProjectError) in
            try projects.get(projectID: request.projectId, caller: caller)
        }
        var response = GetProjectResponse()
        response.project = Project(project)
        return response
    }

    package func listProjects(_ request: ListProjectsRequest, context: ServerContext) async throws -> ListProjectsResponse {
        let projects = runner.domain.projects
        let caller = try await runner.authenticator.caller(context)
        let filter = try request.filter.storeFilter()
        let page = try await runner.run(context) { () throws(ProjectError) in
            try projects.list(
                caller: caller, pageSize: request.pageSize, pageToken: request.pageToken, filter: filter,
                nameContains: request.nameContains)
        }
        var response = ListProjectsResponse()
        response.projects = page.projects.map(Project.init)
        response.nextPageToken = page.nextPageToken
        response.totalSize = page.totalSize
        return response
    }

    package func updateProject(_ request: UpdateProjectRequest, context: ServerContext) async throws -> UpdateProjectResponse {
        let projects = runner.domain.projects
        let updated = try await runner.call(context) { caller throws(ProjectError) in
            try projects.update(projectID: request.projectId, name: request.newName, description: request.newDescription, caller: caller)
        }
        var response = UpdateProjectResponse()
        response.project = Project(updated.project)
        return response
    }

    package func deleteProject(_ request: DeleteProjectRequest, context: ServerContext) async throws -> DeleteProjectResponse {
        let projects = runner.domain.projects
        let deleted = try await runner.call(context) { caller throws(ProjectError) in
            try projects.delete(projectID: request.projectId, caller: caller)
        }
        var response = DeleteProjectResponse()
        response.deletedImageCount = deleted.deletedImageCount
        response.cancelledJobCount = Int64(deleted.cancelledJobs.count)
        return response
    }

    package func shareProject(_ request: ShareProjectRequest, context: ServerContext) async throws -> ShareProjectResponse {
        let sharing = runner.domain.sharing
        // ROLE_OWNER is passed on so the domain refuses it with its own message.
        let role = request.role.memberRole
        let granted = try await runner.call(context) { caller throws(ProjectError) in
            try sharing.share(projectID: request.projectId, grantee: request.grantee?.domainGrantee, role: role, caller: caller)
        }
        var response = ShareProjectResponse()
        response.member = ProjectMember(granted.member)
        response.created = granted.created
        response.previousRole = Role(granted.previousRole)
        return response
    }

    package func revokeShare(_ request: RevokeShareRequest, context: ServerContext) async throws -> RevokeShareResponse {
        let sharing = runner.domain.sharing
        let revoked = try await runner.call(context) { caller throws(ProjectError) in
            try sharing.revoke(projectID: request.projectId, target: request.grantee?.revokeTarget, caller: caller)
        }
        var response = RevokeShareResponse()
        response.revoked = ProjectMember(revoked.revoked)
        return response
    }

    package func listShares(_ request: ListSharesRequest, context: ServerContext) async throws -> ListSharesResponse {
        let sharing = runner.domain.sharing
        let members = try await runner.call(context) { caller throws(ProjectError) in
            try sharing.members(projectID: request.projectId, caller: caller)
        }
        var response = ListSharesResponse()
        response.members = members.map(ProjectMember.init)
        return response
    }
}
