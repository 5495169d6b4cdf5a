"""ListActivity end to end with grpcio: each change is one entry per recipient — the actor's own
USER_ACTIVITY_UPDATE, a SHARED_PROJECT_UPDATE to every other member of that moment,
PROJECT_SHARED_WITH_YOU / SHARE_REVOKED to the user concerned — newest first, paged, filtered
by project, with the payload fields events.proto documents, and nothing for strangers."""
from __future__ import annotations

import pytest

from api_support import (
    Code,
    common_pb2,
    expect_error,
    images_pb2,
    ok,
    projects_pb2,
    random_id,
    requires_cellhubd,
    start_api,
    stats_service_pb2,
    unique,
    upload_of,
)

from cellhub.v1 import events_pb2  # noqa: E402  (api_support put Clients/python on the path)

pytestmark = requires_cellhubd

E = events_pb2
SS = stats_service_pb2
EDITOR, VIEWER = common_pb2.ROLE_EDITOR, common_pb2.ROLE_VIEWER


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = start_api(tmp_path_factory, users=("olga", "eddie", "vera", "sam"))
    yield api
    api.close()


def feed(client, project_id: str = "", page_size: int = 500):
    return ok(client.stats.ListActivity, SS.ListActivityRequest(project_id=project_id, page_size=page_size)).entries


def shape(entry) -> str:
    """kind/type of an entry, e.g. 'USER_ACTIVITY_UPDATE/IMAGES_UPLOADED'."""
    kind = E.EventKind.Name(entry.kind).removeprefix("EVENT_KIND_")
    case = entry.WhichOneof("payload")
    if case == "user_activity":
        return f"{kind}/{E.ActivityType.Name(entry.user_activity.activity_type).removeprefix('ACTIVITY_TYPE_')}"
    if case == "shared_project_update":
        return f"{kind}/{E.ActivityType.Name(entry.shared_project_update.update_type).removeprefix('ACTIVITY_TYPE_')}"
    return kind


def test_each_change_reaches_the_members_of_its_moment(api):
    olga, eddie, vera, sam = api.olga, api.eddie, api.vera, api.sam
    project = olga.create_project(unique("mitosis"))
    olga.upload(project.id, upload_of("image/png", 1, name="early.png"))
    ok(olga.projects.ShareProject, projects_pb2.ShareProjectRequest(project_id=project.id, user_name="eddie", role=EDITOR))
    ok(olga.projects.ShareProject, projects_pb2.ShareProjectRequest(project_id=project.id, user_name="vera", role=VIEWER))
    names = [f"cell-{i}.png" for i in range(7)]
    uploaded = eddie.upload(project.id, *[upload_of("image/png", 10 + i, name=n) for i, n in enumerate(names)]).images
    ok(eddie.images.DeleteImages, images_pb2.DeleteImagesRequest(project_id=project.id, image_ids=[uploaded[0].id]))
    renamed = unique("mitosis-2")
    ok(olga.projects.UpdateProject, projects_pb2.UpdateProjectRequest(project_id=project.id, name=renamed))
    ok(vera.projects.RevokeShare, projects_pb2.RevokeShareRequest(project_id=project.id, leave=True))

    mine = feed(olga, project.id)
    assert [shape(e) for e in mine] == [
        "SHARED_PROJECT_UPDATE/IMAGES_DELETED",
        "SHARED_PROJECT_UPDATE/IMAGES_UPLOADED",
        "USER_ACTIVITY_UPDATE/PROJECT_SHARED",
        "USER_ACTIVITY_UPDATE/PROJECT_SHARED",
        "USER_ACTIVITY_UPDATE/IMAGES_UPLOADED",
        "USER_ACTIVITY_UPDATE/PROJECT_CREATED",
    ], [shape(e) for e in mine]
    revisions = [e.revision for e in mine]
    assert revisions == sorted(revisions, reverse=True) and len(set(revisions)) == len(revisions), revisions
    assert all(e.epoch and e.project_id == project.id and e.timestamp_unix_ms > 0 for e in mine)
    # Own entries name the caller as actor; shared updates name who acted and carry stats.
    assert {(e.actor_user_name, e.actor_user_id != "") for e in mine[2:]} == {("olga", True)}
    shared = mine[1]
    assert (shared.actor_user_name, shared.shared_project_update.image_count) == ("eddie", 7), shared
    assert list(shared.shared_project_update.sample_image_names) == names[:5], shared
    assert shared.shared_project_update.owner.user_name == "olga"
    assert shared.shared_project_update.stats.image_count == 8 and shared.shared_project_update.stats.project_id == project.id
    assert mine[0].shared_project_update.stats.image_count == 7
    granted = mine[2].user_activity
    assert granted.shared_with.user_name == "vera" and granted.shared_role == VIEWER, granted

    theirs = feed(eddie, project.id)
    assert [shape(e) for e in theirs] == [
        "SHARED_PROJECT_UPDATE/PROJECT_UPDATED",
        "USER_ACTIVITY_UPDATE/IMAGES_DELETED",
        "USER_ACTIVITY_UPDATE/IMAGES_UPLOADED",
        "PROJECT_SHARED_WITH_YOU",
    ], [shape(e) for e in theirs]
    assert theirs[0].shared_project_update.project_name == renamed
    welcome = theirs[3].project_shared_with_you
    assert (welcome.role, welcome.previous_role, welcome.owner.user_name) == (EDITOR, common_pb2.ROLE_UNSPECIFIED, "olga")
    assert welcome.stats.image_count == 1, "the project's stats when the share was given"
    assert theirs[1].user_activity.image_count == 1 and theirs[1].actor_user_name == "eddie"

    # Vera left: the project is no longer visible to her, but her whole feed keeps the entries.
    expect_error(Code.NOT_FOUND, vera.stats.ListActivity, SS.ListActivityRequest(project_id=project.id), "filter on a left project")
    hers = [e for e in feed(vera) if e.project_id == project.id]
    assert [shape(e) for e in hers] == [
        "SHARE_REVOKED",
        "SHARED_PROJECT_UPDATE/PROJECT_UPDATED",
        "SHARED_PROJECT_UPDATE/IMAGES_DELETED",
        "SHARED_PROJECT_UPDATE/IMAGES_UPLOADED",
        "PROJECT_SHARED_WITH_YOU",
    ], [shape(e) for e in hers]
    assert hers[0].share_revoked.left and hers[0].share_revoked.previous_role == VIEWER

    assert [e for e in feed(sam) if e.project_id == project.id] == [], "a stranger hears nothing"
    expect_error(Code.NOT_FOUND, sam.stats.ListActivity, SS.ListActivityRequest(project_id=project.id), "stranger filter")


def test_deleting_a_project_tells_former_members(api):
    olga, eddie = api.olga, api.eddie
    project = olga.create_project(unique("doomed"))
    olga.share(project.id, eddie, VIEWER)
    ok(olga.projects.DeleteProject, projects_pb2.DeleteProjectRequest(project_id=project.id))
    entry = [e for e in feed(eddie) if e.project_id == project.id][0]
    assert shape(entry) == "SHARED_PROJECT_UPDATE/PROJECT_DELETED" and entry.actor_user_name == "olga"
    assert not entry.shared_project_update.HasField("stats"), "a deleted project has no stats"


def test_paging_and_validation(api):
    olga = api.olga
    project = olga.create_project(unique("paged"))
    for i in range(11):
        olga.upload(project.id, upload_of("image/jpeg", 100 + i))
    everything = feed(olga, project.id)
    assert len(everything) == 12
    seen, token = [], ""
    while True:
        page = ok(olga.stats.ListActivity, SS.ListActivityRequest(project_id=project.id, page_size=5, page_token=token))
        assert len(page.entries) <= 5
        seen += [e.revision for e in page.entries]
        token = page.next_page_token
        if not token:
            break
    assert seen == [e.revision for e in everything], "pages, concatenated, are the whole feed once"
    first = ok(olga.stats.ListActivity, SS.ListActivityRequest(project_id=project.id, page_size=5))
    expect_error(Code.INVALID_ARGUMENT, olga.stats.ListActivity,
                 SS.ListActivityRequest(page_size=5, page_token=first.next_page_token), "token of another filter")
    expect_error(Code.INVALID_ARGUMENT, olga.stats.ListActivity, SS.ListActivityRequest(page_token="garbage"), "bad token")
    expect_error(Code.INVALID_ARGUMENT, olga.stats.ListActivity, SS.ListActivityRequest(page_size=-1), "negative page size")
    expect_error(Code.INVALID_ARGUMENT, olga.stats.ListActivity, SS.ListActivityRequest(project_id="not an id"), "bad id")
    expect_error(Code.NOT_FOUND, olga.stats.ListActivity, SS.ListActivityRequest(project_id=random_id()), "unknown project")
    expect_error(Code.UNAUTHENTICATED, api.anonymous.stats.ListActivity, SS.ListActivityRequest(), "no token")
