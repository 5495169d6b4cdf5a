"""CellHub API authentication (common.proto AUTHENTICATION): every cellhub.v1 RPC needs
`authorization: Bearer <token>`; a missing, malformed, unknown or revoked token answers
UNAUTHENTICATED; grpc.health.v1.Health needs no token."""
from __future__ import annotations

import secrets

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from api_support import (
    Code,
    add_user,
    common_pb2,
    expect_error,
    images_pb2,
    ok,
    projects_pb2,
    random_id,
    requires_cellhubd,
    revoke_user,
    segmentation_pb2,
    start_api,
    stats_service_pb2,
    unique,
)

pytestmark = requires_cellhubd


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = start_api(tmp_path_factory, users=("alice", "bob", "mallory", "trent"))
    yield api
    api.close()


def _calls(client):
    """One representative call of every service (request contents are irrelevant: auth comes first)."""
    pid = random_id()
    return [
        ("ProjectService.ListProjects", client.projects.ListProjects, projects_pb2.ListProjectsRequest()),
        ("ProjectService.CreateProject", client.projects.CreateProject, projects_pb2.CreateProjectRequest(name=unique("auth"))),
        ("ProjectService.GetProject", client.projects.GetProject, projects_pb2.GetProjectRequest(project_id=pid)),
        ("ImageService.ListImages", client.images.ListImages, images_pb2.ListImagesRequest(project_id=pid)),
        ("StatsService.GetDashboardMetrics", client.stats.GetDashboardMetrics, stats_service_pb2.GetDashboardMetricsRequest()),
        ("StatsService.GetProjectStats", client.stats.GetProjectStats, stats_service_pb2.GetProjectStatsRequest(project_id=pid)),
        ("SegmentationService.GetQueueStats", client.seg.GetQueueStats, segmentation_pb2.GetQueueStatsRequest()),
    ]


@pytest.mark.parametrize("index", range(7), ids=[
    "ListProjects", "CreateProject", "GetProject", "ListImages", "GetDashboardMetrics", "GetProjectStats", "GetQueueStats"])
def test_no_metadata_is_unauthenticated(api, index):
    what, method, request = _calls(api.anonymous)[index]
    expect_error(Code.UNAUTHENTICATED, method, request, f"{what} without authorization")


@pytest.mark.parametrize("metadata", [
    (("authorization", "Bearer chub_" + "0" * 64),),
    (("authorization", "Bearer chub_" + secrets.token_hex(32)),),
    (("authorization", "Bearer chub_short"),),
    (("authorization", "Bearer"),),
    (("authorization", "Basic YWxpY2U6c2VjcmV0"),),
    (("authorization", "garbage"),),
], ids=["zero-token", "random-token", "short-token", "bare-bearer", "basic-scheme", "garbage"])
def test_wrong_token_is_unauthenticated(api, metadata):
    client = api.client("stranger", metadata=metadata)
    for what, method, request in _calls(client)[:2]:
        expect_error(Code.UNAUTHENTICATED, method, request, f"{what} with {metadata[0][1][:20]!r}...")


AUTHORIZATION_VARIANTS = {
    "lower": (lambda t: f"bearer {t}", True),
    "upper": (lambda t: f"BEARER {t}", True),
    "mixed": (lambda t: f"bEaReR {t}", True),
    "spaces": (lambda t: f"Bearer   {t}", True),
    "longer-scheme": (lambda t: f"Bearerx {t}", False),
    "no-space": (lambda t: f"Bearer{t}", False),
    "token-too-long": (lambda t: f"Bearer {t}0", False),
    "trailing-word": (lambda t: f"Bearer {t} x", False),
    "token-upper-hex": (lambda t: f"Bearer chub_{t[5:].upper()}", False),
}


@pytest.mark.parametrize("variant", AUTHORIZATION_VARIANTS)
def test_bearer_scheme_any_case_token_exact(api, variant):
    """RFC 7235: the scheme is case-insensitive and followed by a space; the token is exact.
    Every variant twice: the second call is answered from the caller cache (GetProjectStats
    on the event loop), which must agree with the first."""
    make, accepted = AUTHORIZATION_VARIANTS[variant]
    project = api.alice.create_project(unique("scheme"))
    client = api.client("alice-variant", metadata=(("authorization", make(api.alice.token)),))
    for attempt in range(2):
        request = stats_service_pb2.GetProjectStatsRequest(project_id=project.id)
        if accepted:
            assert ok(client.stats.GetProjectStats, request).stats.project_id == project.id
        else:
            expect_error(Code.UNAUTHENTICATED, client.stats.GetProjectStats, request, f"{variant}, call {attempt + 1}")


def test_message_does_not_echo_the_token(api):
    token = "chub_" + secrets.token_hex(32)
    client = api.client("stranger", token=token)
    err = expect_error(Code.UNAUTHENTICATED, client.projects.ListProjects, projects_pb2.ListProjectsRequest())
    assert token not in err.details() and token[5:] not in err.details(), f"the message echoes the token: {err.details()!r}"


def test_valid_token_is_accepted(api):
    reply = ok(api.alice.projects.ListProjects, projects_pb2.ListProjectsRequest())
    assert reply.total_size >= 0


def test_another_users_token_is_that_user(api):
    project = api.alice.create_project(unique("who"))
    assert project.owner.user_name == "alice", f"owner should be alice, got {project.owner}"
    assert project.caller_role == common_pb2.ROLE_OWNER, f"caller_role {project.caller_role}"
    # bob's token is bob: alice's project is invisible to him.
    expect_error(Code.NOT_FOUND, api.bob.projects.GetProject, projects_pb2.GetProjectRequest(project_id=project.id),
                 "bob GetProject of alice's unshared project")


def test_revoked_user_is_unauthenticated_on_next_call(api):
    mallory = api.mallory
    ok(mallory.projects.ListProjects, projects_pb2.ListProjectsRequest(), "mallory before revocation")
    project = mallory.create_project(unique("doomed"))
    # Reads answered from memory (the caller remembered by the connection, the role, the
    # counters, the dashboard) must notice the revocation too.
    for _ in range(3):
        mallory.project_stats(project.id)
        mallory.dashboard()
    revoke_user(api.data_dir, "mallory")  # while the server runs
    expect_error(Code.UNAUTHENTICATED, mallory.stats.GetProjectStats, stats_service_pb2.GetProjectStatsRequest(project_id=project.id),
                 "GetProjectStats right after `users revoke mallory`")
    expect_error(Code.UNAUTHENTICATED, mallory.stats.GetDashboardMetrics, stats_service_pb2.GetDashboardMetricsRequest(),
                 "GetDashboardMetrics right after `users revoke mallory`")
    expect_error(Code.UNAUTHENTICATED, mallory.projects.ListProjects, projects_pb2.ListProjectsRequest(),
                 "ListProjects right after `users revoke mallory`")
    expect_error(Code.UNAUTHENTICATED, mallory.projects.GetProject, projects_pb2.GetProjectRequest(project_id=project.id),
                 "GetProject of own project after revocation")
    # Others are unaffected.
    ok(api.alice.projects.ListProjects, projects_pb2.ListProjectsRequest(), "alice after mallory's revocation")


def test_user_added_while_serving_can_call(api):
    token = add_user(api.data_dir, "late-user")
    late = api.client("late-user", token=token)
    reply = ok(late.projects.ListProjects, projects_pb2.ListProjectsRequest(), "user added while serving")
    assert reply.total_size == 0 and not reply.projects


def test_health_check_needs_no_token(api):
    health = health_pb2_grpc.HealthStub(api.channel)
    reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING

