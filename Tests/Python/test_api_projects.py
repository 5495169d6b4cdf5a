"""CellHub ProjectService end to end (projects.proto): create / get / list (filters, paging,
page tokens) / update / delete, and sharing with roles between alice, bob and carol."""
from __future__ import annotations

import uuid

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
    tamper_token,
    unique,
    upload_of,
)

pytestmark = requires_cellhubd

OWNER, EDITOR, VIEWER = common_pb2.ROLE_OWNER, common_pb2.ROLE_EDITOR, common_pb2.ROLE_VIEWER
P = projects_pb2


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = start_api(tmp_path_factory, users=("alice", "bob", "carol"))
    yield api
    api.close()


def role_name(role) -> str:
    return common_pb2.Role.Name(role)


def list_all(client, **fields) -> tuple[list, list]:
    """Every page of ListProjects: (projects, responses)."""
    projects, replies, token = [], [], ""
    for _ in range(1000):
        reply = ok(client.projects.ListProjects, P.ListProjectsRequest(page_token=token, **fields))
        replies.append(reply)
        projects.extend(reply.projects)
        token = reply.next_page_token
        if not token:
            return projects, replies
    raise AssertionError("ListProjects never returned an empty next_page_token")


# ---------------------------------------------------------------------------------------------
# create / get


def test_create_and_get(api):
    name = unique("Cells")
    created = ok(api.alice.projects.CreateProject, P.CreateProjectRequest(name=name, project_description="HeLa, day 3")).project
    uuid.UUID(created.id)
    assert created.name == name
    assert created.project_description == "HeLa, day 3"
    assert created.owner.user_name == "alice" and created.owner.user_id, f"owner: {created.owner}"
    assert created.caller_role == OWNER, role_name(created.caller_role)
    assert created.created_at_unix_ms > 0
    assert created.updated_at_unix_ms == created.created_at_unix_ms, "updated_at is the creation time until a change"
    assert created.share_count == 0
    s = created.stats
    assert (s.project_id, s.image_count, s.no_segmentation_count, s.total_bytes, s.progress) == (created.id, 0, 0, 0, 0.0), s

    got = ok(api.alice.projects.GetProject, P.GetProjectRequest(project_id=created.id)).project
    assert (got.id, got.name, got.project_description, got.owner.user_id, got.caller_role, got.created_at_unix_ms) == (
        created.id, created.name, created.project_description, created.owner.user_id, OWNER, created.created_at_unix_ms)
    assert got.stats.image_count == 0


def test_create_trims_surrounding_whitespace(api):
    name = unique("trimmed")
    project = api.alice.create_project(f"  {name}\t ")
    assert project.name == name, f"stored name should be trimmed, got {project.name!r}"


def test_name_of_200_characters_is_accepted(api):
    name = unique("n")
    name = name + "x" * (200 - len(name))
    assert api.alice.create_project(name).name == name


@pytest.mark.parametrize("name", [
    "", "   ", "\t\n", "tab\there", "line\nbreak", "nul\x00byte", "bell\x07", "del\x7fchar", "x" * 201,
], ids=["empty", "blank", "whitespace", "tab", "newline", "nul", "bell", "del", "201-chars"])
def test_create_invalid_name(api, name):
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.CreateProject, P.CreateProjectRequest(name=name),
                 f"CreateProject(name={name[:30]!r})")


def test_create_too_long_description(api):
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.CreateProject,
                 P.CreateProjectRequest(name=unique("desc"), project_description="d" * 5001), "description of 5001 chars")
    ok(api.alice.projects.CreateProject, P.CreateProjectRequest(name=unique("desc"), project_description="d" * 5000),
       "description of 5000 chars")


def test_duplicate_name_for_one_owner_already_exists(api):
    name = unique("dup")
    api.alice.create_project(name)
    err = expect_error(Code.ALREADY_EXISTS, api.alice.projects.CreateProject, P.CreateProjectRequest(name=name),
                       "second project with the same name")
    # The same name is fine for another owner.
    assert api.bob.create_project(name).name == name
    # And after trimming it is still the same name.
    expect_error(Code.ALREADY_EXISTS, api.alice.projects.CreateProject, P.CreateProjectRequest(name=f" {name} "),
                 "same name with surrounding spaces")
    assert err.details()


@pytest.mark.parametrize("bad_id", ["", "nope", "12345678-1234-1234-1234-1234567890ab-x", "ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ"],
                         ids=["empty", "word", "too-long", "not-hex"])
def test_get_bad_id_is_invalid_argument(api, bad_id):
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.GetProject, P.GetProjectRequest(project_id=bad_id),
                 f"GetProject({bad_id!r})")


def test_id_with_embedded_nul_is_invalid(api):
    """A valid id followed by NUL and junk is not a valid id (it must not be cut at the NUL)."""
    project = api.alice.create_project(unique("nul-id"))
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.GetProject,
                 P.GetProjectRequest(project_id=project.id + "\x00junk"), "GetProject(id + NUL + junk)")


def test_get_unknown_id_is_not_found(api):
    expect_error(Code.NOT_FOUND, api.alice.projects.GetProject, P.GetProjectRequest(project_id=random_id()))


# ---------------------------------------------------------------------------------------------
# list: filters and paging


def test_list_owned_and_shared_filters(api):
    tag = unique("flt")
    mine = api.alice.create_project(f"{tag}-alice")
    theirs = api.bob.create_project(f"{tag}-bob")
    ok(api.bob.projects.ShareProject, P.ShareProjectRequest(project_id=theirs.id, user_name="alice", role=VIEWER))

    def ids(filter_):
        projects, replies = list_all(api.alice, filter=filter_, name_contains=tag)
        assert replies[0].total_size == len(projects), f"total_size {replies[0].total_size} vs {len(projects)} listed"
        return {p.id: p for p in projects}

    everything = ids(P.PROJECT_FILTER_ALL)
    assert set(everything) == {mine.id, theirs.id}, f"ALL: {list(everything)}"
    assert everything[mine.id].caller_role == OWNER
    assert everything[theirs.id].caller_role == VIEWER, role_name(everything[theirs.id].caller_role)
    assert everything[theirs.id].owner.user_name == "bob"
    assert set(ids(P.PROJECT_FILTER_UNSPECIFIED)) == {mine.id, theirs.id}, "UNSPECIFIED means ALL"
    assert set(ids(P.PROJECT_FILTER_OWNED)) == {mine.id}
    assert set(ids(P.PROJECT_FILTER_SHARED)) == {theirs.id}
    # carol sees neither.
    projects, _ = list_all(api.carol, name_contains=tag)
    assert projects == [], f"carol lists projects she cannot see: {[p.name for p in projects]}"


def test_list_name_contains_is_case_insensitive(api):
    tag = unique("CaSe")
    project = api.alice.create_project(f"{tag}-Mixed")
    projects, _ = list_all(api.alice, name_contains=tag.upper())
    assert [p.id for p in projects] == [project.id]


def test_list_paging_until_exhausted(api):
    tag = unique("page")
    created = [api.alice.create_project(f"{tag}-{i}") for i in range(7)]
    projects, replies = list_all(api.alice, page_size=3, name_contains=tag)
    assert [len(r.projects) for r in replies] == [3, 3, 1], f"page sizes {[len(r.projects) for r in replies]}"
    assert all(r.total_size == 7 for r in replies), [r.total_size for r in replies]
    ids = [p.id for p in projects]
    assert len(set(ids)) == 7 and set(ids) == {p.id for p in created}, "paging lost or repeated projects"
    expected = sorted(created, key=lambda p: (p.created_at_unix_ms, p.id), reverse=True)
    assert ids == [p.id for p in expected], "order should be most recently created first, ties by id"


def test_list_default_page_size_and_clamp(api):
    reply = ok(api.alice.projects.ListProjects, P.ListProjectsRequest(page_size=100000))
    assert len(reply.projects) <= 500


def test_list_negative_page_size_is_invalid(api):
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.ListProjects, P.ListProjectsRequest(page_size=-1))


def test_list_bad_page_tokens_are_invalid(api):
    tag = unique("tok")
    for i in range(3):
        api.alice.create_project(f"{tag}-{i}")
    first = ok(api.alice.projects.ListProjects, P.ListProjectsRequest(page_size=1, name_contains=tag))
    token = first.next_page_token
    assert token, "a first page of 1 out of 3 must have a next_page_token"
    # The genuine token works.
    ok(api.alice.projects.ListProjects, P.ListProjectsRequest(page_size=1, name_contains=tag, page_token=token))
    cases = {
        "tampered": tamper_token(token),
        "truncated": token[: len(token) // 2],
        "garbage": "not-a-page-token!!",
        "appended": token + "AAAA",
    }
    for label, bad in cases.items():
        expect_error(Code.INVALID_ARGUMENT, api.alice.projects.ListProjects,
                     P.ListProjectsRequest(page_size=1, name_contains=tag, page_token=bad), f"{label} page token")
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.ListProjects,
                 P.ListProjectsRequest(page_size=1, name_contains=tag + "-other", page_token=token),
                 "page token with a different name_contains")
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.ListProjects,
                 P.ListProjectsRequest(page_size=1, name_contains=tag, filter=P.PROJECT_FILTER_SHARED, page_token=token),
                 "page token with a different filter")
    # Another user's token is not valid for them.
    expect_error(Code.INVALID_ARGUMENT, api.bob.projects.ListProjects,
                 P.ListProjectsRequest(page_size=1, name_contains=tag, page_token=tamper_token(token)), "bob with a tampered token")


# ---------------------------------------------------------------------------------------------
# update


def test_update_name_only(api):
    project = api.alice.create_project(unique("old"), "keep me")
    new_name = unique("new")
    updated = ok(api.alice.projects.UpdateProject, P.UpdateProjectRequest(project_id=project.id, name=new_name)).project
    assert updated.name == new_name
    assert updated.project_description == "keep me", "an unset description must stay"
    assert updated.updated_at_unix_ms >= project.created_at_unix_ms
    assert ok(api.alice.projects.GetProject, P.GetProjectRequest(project_id=project.id)).project.name == new_name


def test_update_description_only_and_clear(api):
    name = unique("desc-only")
    project = api.alice.create_project(name, "first")
    updated = ok(api.alice.projects.UpdateProject,
                 P.UpdateProjectRequest(project_id=project.id, project_description="second")).project
    assert (updated.name, updated.project_description) == (name, "second")
    cleared = ok(api.alice.projects.UpdateProject,
                 P.UpdateProjectRequest(project_id=project.id, project_description="")).project
    assert (cleared.name, cleared.project_description) == (name, ""), "'' clears the description, name stays"


def test_update_both_fields(api):
    project = api.alice.create_project(unique("both"), "x")
    name = unique("both-new")
    updated = ok(api.alice.projects.UpdateProject,
                 P.UpdateProjectRequest(project_id=project.id, name=name, project_description="y")).project
    assert (updated.name, updated.project_description) == (name, "y")


def test_update_nothing_set_returns_unchanged(api):
    project = api.alice.create_project(unique("same"), "d")
    reply = ok(api.alice.projects.UpdateProject, P.UpdateProjectRequest(project_id=project.id)).project
    assert (reply.name, reply.project_description, reply.updated_at_unix_ms) == (
        project.name, project.project_description, project.updated_at_unix_ms)


@pytest.mark.parametrize("name", ["", "  ", "a\nb", "x" * 201], ids=["empty", "blank", "newline", "201-chars"])
def test_update_invalid_name(api, name):
    project = api.alice.create_project(unique("inv"))
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.UpdateProject,
                 P.UpdateProjectRequest(project_id=project.id, name=name), f"rename to {name[:20]!r}")
    assert ok(api.alice.projects.GetProject, P.GetProjectRequest(project_id=project.id)).project.name == project.name


def test_update_too_long_description(api):
    project = api.alice.create_project(unique("longdesc"))
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.UpdateProject,
                 P.UpdateProjectRequest(project_id=project.id, project_description="d" * 5001))


def test_update_to_another_projects_name_already_exists(api):
    taken = api.alice.create_project(unique("taken"))
    project = api.alice.create_project(unique("rename-me"))
    expect_error(Code.ALREADY_EXISTS, api.alice.projects.UpdateProject,
                 P.UpdateProjectRequest(project_id=project.id, name=taken.name), "rename onto an existing name")
    # Renaming to its own current name is not a conflict.
    ok(api.alice.projects.UpdateProject, P.UpdateProjectRequest(project_id=project.id, name=project.name), "rename to itself")


def test_update_unknown_and_bad_id(api):
    expect_error(Code.NOT_FOUND, api.alice.projects.UpdateProject, P.UpdateProjectRequest(project_id=random_id(), name="x"))
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.UpdateProject, P.UpdateProjectRequest(project_id="bad", name="x"))


# ---------------------------------------------------------------------------------------------
# delete


def test_delete_project_with_images(api):
    project = api.alice.create_project(unique("del"))
    api.alice.upload(project.id, upload_of("image/png", 1), upload_of("image/x-portable-graymap", 2))
    reply = ok(api.alice.projects.DeleteProject, P.DeleteProjectRequest(project_id=project.id))
    assert reply.deleted_image_count == 2, reply
    assert reply.cancelled_job_count == 0, reply
    expect_error(Code.NOT_FOUND, api.alice.projects.GetProject, P.GetProjectRequest(project_id=project.id), "get after delete")
    expect_error(Code.NOT_FOUND, api.alice.projects.DeleteProject, P.DeleteProjectRequest(project_id=project.id), "delete twice")
    listed, _ = list_all(api.alice, name_contains=project.name)
    assert listed == [], "a deleted project is still listed"
    # Its name is free again.
    assert api.alice.create_project(project.name).name == project.name


def test_delete_bad_id(api):
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.DeleteProject, P.DeleteProjectRequest(project_id="x"))
    expect_error(Code.NOT_FOUND, api.alice.projects.DeleteProject, P.DeleteProjectRequest(project_id=random_id()))


# ---------------------------------------------------------------------------------------------
# sharing and roles


def test_viewer_can_read_but_not_write(api):
    project = api.alice.create_project(unique("view"))
    image = api.alice.upload(project.id, upload_of("image/png", 3)).images[0]
    reply = ok(api.alice.projects.ShareProject, P.ShareProjectRequest(project_id=project.id, user_name="bob", role=VIEWER))
    assert reply.created and reply.previous_role == common_pb2.ROLE_UNSPECIFIED, reply
    assert reply.member.user.user_name == "bob" and reply.member.role == VIEWER, reply.member
    assert reply.member.shared_by.user_name == "alice", reply.member

    bob = api.bob
    got = ok(bob.projects.GetProject, P.GetProjectRequest(project_id=project.id), "viewer GetProject").project
    assert got.caller_role == VIEWER, role_name(got.caller_role)
    assert got.stats.image_count == 1
    shared, _ = list_all(bob, filter=P.PROJECT_FILTER_SHARED, name_contains=project.name)
    assert [p.id for p in shared] == [project.id]
    ok(bob.images.ListImages, images_pb2.ListImagesRequest(project_id=project.id), "viewer ListImages")
    ok(bob.images.GetImage, images_pb2.GetImageRequest(image_id=image.id), "viewer GetImage")
    ok(bob.images.GetImageContent, images_pb2.GetImageContentRequest(image_id=image.id), "viewer GetImageContent")
    ok(bob.stats.GetProjectStats, stats_service_pb2.GetProjectStatsRequest(project_id=project.id), "viewer GetProjectStats")
    ok(bob.projects.ListShares, P.ListSharesRequest(project_id=project.id), "viewer ListShares")

    expect_error(Code.PERMISSION_DENIED, bob.images.UploadImages,
                 images_pb2.UploadImagesRequest(project_id=project.id, images=[upload_of("image/png", 4)]), "viewer upload")
    expect_error(Code.PERMISSION_DENIED, bob.images.DeleteImage, images_pb2.DeleteImageRequest(image_id=image.id), "viewer DeleteImage")
    expect_error(Code.PERMISSION_DENIED, bob.images.DeleteImages,
                 images_pb2.DeleteImagesRequest(project_id=project.id, image_ids=[image.id]), "viewer DeleteImages")
    expect_error(Code.PERMISSION_DENIED, bob.projects.UpdateProject,
                 P.UpdateProjectRequest(project_id=project.id, name=unique("hijack")), "viewer rename")
    expect_error(Code.PERMISSION_DENIED, bob.projects.DeleteProject, P.DeleteProjectRequest(project_id=project.id), "viewer delete")
    assert api.alice.project_stats(project.id).image_count == 1, "a refused viewer call changed the project"


def test_editor_can_upload_and_delete_but_not_administer(api):
    project = api.alice.create_project(unique("edit"))
    api.alice.share(project.id, api.bob, VIEWER)
    changed = ok(api.alice.projects.ShareProject, P.ShareProjectRequest(project_id=project.id, user_name="bob", role=EDITOR))
    assert not changed.created and changed.previous_role == VIEWER and changed.member.role == EDITOR, changed
    api.alice.share(project.id, api.carol, VIEWER)

    bob = api.bob
    assert ok(bob.projects.GetProject, P.GetProjectRequest(project_id=project.id)).project.caller_role == EDITOR
    uploaded = ok(bob.images.UploadImages, images_pb2.UploadImagesRequest(
        project_id=project.id, images=[upload_of("image/png", 5), upload_of("image/jpeg", 6), upload_of("image/tiff", 7)]),
        "editor upload").images
    assert len(uploaded) == 3 and all(i.uploaded_by.user_name == "bob" for i in uploaded)
    ok(bob.images.DeleteImage, images_pb2.DeleteImageRequest(image_id=uploaded[0].id), "editor DeleteImage")
    deleted = ok(bob.images.DeleteImages, images_pb2.DeleteImagesRequest(
        project_id=project.id, image_ids=[uploaded[1].id]), "editor DeleteImages")
    assert deleted.deleted_count == 1
    assert api.alice.project_stats(project.id).image_count == 1

    expect_error(Code.PERMISSION_DENIED, bob.projects.UpdateProject,
                 P.UpdateProjectRequest(project_id=project.id, name=unique("mine-now")), "editor rename")
    expect_error(Code.PERMISSION_DENIED, bob.projects.UpdateProject,
                 P.UpdateProjectRequest(project_id=project.id, project_description="x"), "editor description")
    expect_error(Code.PERMISSION_DENIED, bob.projects.DeleteProject, P.DeleteProjectRequest(project_id=project.id), "editor delete")
    expect_error(Code.PERMISSION_DENIED, bob.projects.ShareProject,
                 P.ShareProjectRequest(project_id=project.id, user_name="carol", role=EDITOR), "editor shares")
    expect_error(Code.PERMISSION_DENIED, bob.projects.RevokeShare,
                 P.RevokeShareRequest(project_id=project.id, user_name="carol"), "editor revokes carol")
    members = ok(api.alice.projects.ListShares, P.ListSharesRequest(project_id=project.id)).members
    assert [(m.user.user_name, m.role) for m in members] == [("alice", OWNER), ("bob", EDITOR), ("carol", VIEWER)], members


def test_stranger_sees_not_found_like_a_missing_project(api):
    project = api.alice.create_project(unique("secret"))
    image = api.alice.upload(project.id, upload_of("image/png", 8)).images[0]
    carol = api.carol
    missing = random_id()

    def same_as_missing(method, make, what):
        fake_image = random_id()
        real = expect_error(Code.NOT_FOUND, method, make(project.id, image.id), f"carol {what} (alice's)")
        fake = expect_error(Code.NOT_FOUND, method, make(missing, fake_image), f"carol {what} (nonexistent)")
        hidden = real.details().replace(project.id, "<id>").replace(image.id, "<id>")
        absent = fake.details().replace(missing, "<id>").replace(fake_image, "<id>")
        assert hidden == absent, f"{what}: NOT_FOUND message tells hidden from missing: {real.details()!r} vs {fake.details()!r}"

    same_as_missing(carol.projects.GetProject, lambda p, i: P.GetProjectRequest(project_id=p), "GetProject")
    for what, method, make in [
        ("UploadImages", carol.images.UploadImages,
         lambda p, i: images_pb2.UploadImagesRequest(project_id=p, images=[upload_of("image/png", 9)])),
        ("GetProjectStats", carol.stats.GetProjectStats, lambda p, i: stats_service_pb2.GetProjectStatsRequest(project_id=p)),
        ("ListImages", carol.images.ListImages, lambda p, i: images_pb2.ListImagesRequest(project_id=p)),
        ("ListShares", carol.projects.ListShares, lambda p, i: P.ListSharesRequest(project_id=p)),
        ("UpdateProject", carol.projects.UpdateProject, lambda p, i: P.UpdateProjectRequest(project_id=p, name="x")),
        ("DeleteProject", carol.projects.DeleteProject, lambda p, i: P.DeleteProjectRequest(project_id=p)),
        ("ShareProject", carol.projects.ShareProject,
         lambda p, i: P.ShareProjectRequest(project_id=p, user_name="carol", role=EDITOR)),
        ("GetImage", carol.images.GetImage, lambda p, i: images_pb2.GetImageRequest(image_id=i)),
        ("GetImageContent", carol.images.GetImageContent, lambda p, i: images_pb2.GetImageContentRequest(image_id=i)),
        ("DeleteImage", carol.images.DeleteImage, lambda p, i: images_pb2.DeleteImageRequest(image_id=i)),
    ]:
        same_as_missing(method, make, what)
    assert api.alice.project_stats(project.id).image_count == 1


def test_only_owner_shares_and_revokes(api):
    project = api.alice.create_project(unique("own"))
    api.alice.share(project.id, api.bob, EDITOR)
    api.alice.share(project.id, api.carol, VIEWER)
    # carol (viewer) cannot share or revoke others either.
    expect_error(Code.PERMISSION_DENIED, api.carol.projects.ShareProject,
                 P.ShareProjectRequest(project_id=project.id, user_name="bob", role=VIEWER), "viewer shares")
    expect_error(Code.PERMISSION_DENIED, api.carol.projects.RevokeShare,
                 P.RevokeShareRequest(project_id=project.id, user_name="bob"), "viewer revokes bob")
    # The owner revokes carol.
    revoked = ok(api.alice.projects.RevokeShare, P.RevokeShareRequest(project_id=project.id, user_name="carol")).revoked
    assert revoked.user.user_name == "carol" and revoked.role == VIEWER, revoked
    expect_error(Code.NOT_FOUND, api.carol.projects.GetProject, P.GetProjectRequest(project_id=project.id), "carol after revoke")
    expect_error(Code.NOT_FOUND, api.alice.projects.RevokeShare,
                 P.RevokeShareRequest(project_id=project.id, user_name="carol"), "revoke a non-member")


def test_member_can_leave(api):
    project = api.alice.create_project(unique("leave"))
    api.alice.share(project.id, api.bob, VIEWER)
    expect_error(Code.INVALID_ARGUMENT, api.bob.projects.RevokeShare,
                 P.RevokeShareRequest(project_id=project.id, leave=False), "leave = false")
    left = ok(api.bob.projects.RevokeShare, P.RevokeShareRequest(project_id=project.id, leave=True), "bob leaves").revoked
    assert left.user.user_name == "bob" and left.role == VIEWER, left
    expect_error(Code.NOT_FOUND, api.bob.projects.GetProject, P.GetProjectRequest(project_id=project.id), "bob after leaving")
    members = ok(api.alice.projects.ListShares, P.ListSharesRequest(project_id=project.id)).members
    assert [m.user.user_name for m in members] == ["alice"]


def test_member_can_revoke_own_share_by_name(api):
    project = api.alice.create_project(unique("leave-name"))
    api.alice.share(project.id, api.bob, EDITOR)
    ok(api.bob.projects.RevokeShare, P.RevokeShareRequest(project_id=project.id, user_name="bob"), "bob revokes himself")
    expect_error(Code.NOT_FOUND, api.bob.projects.GetProject, P.GetProjectRequest(project_id=project.id))


def test_owner_cannot_leave(api):
    project = api.alice.create_project(unique("stay"))
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.RevokeShare,
                 P.RevokeShareRequest(project_id=project.id, leave=True), "owner leaves")
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.RevokeShare,
                 P.RevokeShareRequest(project_id=project.id, user_name="alice"), "owner revokes herself")
    expect_error(Code.INVALID_ARGUMENT, api.alice.projects.RevokeShare,
                 P.RevokeShareRequest(project_id=project.id), "revoke without grantee")


def test_share_argument_errors(api):
    project = api.alice.create_project(unique("sharearg"))
    cases = [
        ("role OWNER", Code.INVALID_ARGUMENT, P.ShareProjectRequest(project_id=project.id, user_name="bob", role=OWNER)),
        ("role unset", Code.INVALID_ARGUMENT, P.ShareProjectRequest(project_id=project.id, user_name="bob")),
        ("no grantee", Code.INVALID_ARGUMENT, P.ShareProjectRequest(project_id=project.id, role=VIEWER)),
        ("grantee is owner", Code.INVALID_ARGUMENT, P.ShareProjectRequest(project_id=project.id, user_name="alice", role=VIEWER)),
        ("no such user", Code.NOT_FOUND, P.ShareProjectRequest(project_id=project.id, user_name="nobody-here", role=VIEWER)),
        ("no such user id", Code.NOT_FOUND, P.ShareProjectRequest(project_id=project.id, user_id=random_id(), role=VIEWER)),
        ("bad project id", Code.INVALID_ARGUMENT, P.ShareProjectRequest(project_id="bad", user_name="bob", role=VIEWER)),
        ("unknown project", Code.NOT_FOUND, P.ShareProjectRequest(project_id=random_id(), user_name="bob", role=VIEWER)),
    ]
    for what, code, request in cases:
        expect_error(code, api.alice.projects.ShareProject, request, f"ShareProject {what}")
    members = ok(api.alice.projects.ListShares, P.ListSharesRequest(project_id=project.id)).members
    assert [m.user.user_name for m in members] == ["alice"], "a refused share added a member"


def test_share_by_user_id_and_same_role_again(api):
    project = api.alice.create_project(unique("byid"))
    first = api.alice.share(project.id, api.bob, VIEWER)
    bob_id = first.member.user.user_id
    assert bob_id
    again = ok(api.alice.projects.ShareProject, P.ShareProjectRequest(project_id=project.id, user_id=bob_id, role=VIEWER))
    assert not again.created and again.previous_role == VIEWER and again.member.role == VIEWER, again


def test_list_shares_owner_first_then_grant_order(api):
    project = api.alice.create_project(unique("members"))
    api.alice.share(project.id, api.carol, VIEWER)
    api.alice.share(project.id, api.bob, EDITOR)
    members = ok(api.bob.projects.ListShares, P.ListSharesRequest(project_id=project.id)).members
    assert [(m.user.user_name, m.role) for m in members] == [("alice", OWNER), ("carol", VIEWER), ("bob", EDITOR)], members
    owner = members[0]
    assert owner.shared_by.user_name == "alice" and owner.shared_at_unix_ms == project.created_at_unix_ms, owner
    assert all(m.shared_by.user_name == "alice" and m.shared_at_unix_ms > 0 for m in members[1:])
    got = ok(api.alice.projects.GetProject, P.GetProjectRequest(project_id=project.id)).project
    assert got.share_count == 2, f"share_count {got.share_count}"


def test_owner_deletes_shared_project(api):
    project = api.alice.create_project(unique("gone"))
    api.alice.share(project.id, api.bob, EDITOR)
    ok(api.alice.projects.DeleteProject, P.DeleteProjectRequest(project_id=project.id))
    expect_error(Code.NOT_FOUND, api.bob.projects.GetProject, P.GetProjectRequest(project_id=project.id), "member after delete")
