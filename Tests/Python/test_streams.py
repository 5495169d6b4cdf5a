"""CellHub's real-time streams end to end with grpcio (stats_service.proto, events.proto):
WatchProject, WatchDashboard and WatchActivity against the unary calls that cause the changes.

One server for the module; each test makes its own projects (unique names). Users: olga
(owner), eddie (editor), vera (viewer), sam (stranger to olga's projects), dora (dashboards),
rex (token revoked by the revocation test) and nina (never in a share: actor names), the last
two used nowhere else. A worker user is added while the server runs for the segmentation tests
(the server runs no built-in worker: the tests claim the jobs).

Every stream is read by a `Watcher` (stream_support.py) that records events with their receive
time; tests wait for events (bounded) instead of sleeping. Negative checks ("nothing arrives")
use a later sentinel event on the same stream: what did not arrive before it never will.
"""
from __future__ import annotations

import time

import pytest

from api_support import (
    Code,
    add_user,
    common_pb2,
    images_pb2,
    ok,
    projects_pb2,
    random_id,
    requires_cellhubd,
    revoke_user,
    segmentation_pb2,
    start_api,
    stats_pb2,
    stats_service_pb2,
    unique,
    upload_of,
)
from stream_support import (
    E,
    Streams,
    check_envelopes,
    describe,
    kind_of,
    member_names,
    user_names,
    wait_activity_caught_up,
    wait_caught_up,
)

pytestmark = requires_cellhubd

SS = stats_service_pb2
S = segmentation_pb2
P = projects_pb2
OWNER, EDITOR, VIEWER, NO_ROLE = common_pb2.ROLE_OWNER, common_pb2.ROLE_EDITOR, common_pb2.ROLE_VIEWER, common_pb2.ROLE_UNSPECIFIED
NO_SEG, QUEUED = common_pb2.SEGMENTATION_STATUS_NO_SEGMENTATION, common_pb2.SEGMENTATION_STATUS_QUEUED
UNKNOWN_TOKEN = "chub_" + "0" * 64

# How fast a revoked/deleted stream must end after the call that caused it returned.
END_WITHIN = 1.0


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = start_api(tmp_path_factory, users=("olga", "eddie", "vera", "sam", "dora", "rex", "nina"))
    # The server names an actor only once a share record has mentioned that user (see
    # test_actor_is_named_from_a_users_first_change, which uses nina, left out here): one share
    # round mentions everyone else, so that the other tests' actor checks do not depend on order.
    warm = api.olga.create_project(unique("warm-up"))
    for name in ("eddie", "vera", "sam", "dora", "rex"):
        api.olga.share(warm.id, api.users[name], VIEWER)
    ok(api.olga.projects.DeleteProject, P.DeleteProjectRequest(project_id=warm.id))
    yield api
    api.close()


@pytest.fixture
def streams(api):
    s = Streams(api.channel)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def empty_queue_afterwards(api):
    """Queue figures are service-wide: whatever a (failed) test left queued is cancelled."""
    yield
    for user in (api.olga, api.eddie, api.dora):
        try:
            for p in user.projects.ListProjects(P.ListProjectsRequest(page_size=500, filter=P.PROJECT_FILTER_OWNED)).projects:
                if p.stats.queued_count or p.stats.processing_count:
                    user.seg.CancelSegmentation(S.CancelSegmentationRequest(project_id=p.id))
        except Exception:  # cleanup only; the tests report the failures
            pass


# ---------------------------------------------------------------------------------------------
# small helpers


def shared_project(api, prefix: str, editor=True, viewer=True, description: str = ""):
    """olga's new project, shared with eddie (editor) and vera (viewer) as asked."""
    project = api.olga.create_project(unique(prefix), description)
    if editor:
        api.olga.share(project.id, api.eddie, EDITOR)
    if viewer:
        api.olga.share(project.id, api.vera, VIEWER)
    return project


def epoch_of(client, project_id: str) -> str:
    return ok(client.stats.GetProjectStats, SS.GetProjectStatsRequest(project_id=project_id)).epoch


def at_revision(kind: str, revision: int):
    def match(e):
        return kind_of(e) == kind and e.revision == revision
    match.__name__ = f"{kind}@{revision}"
    return match


def after(kind: str, revision: int):
    def match(e):
        return kind_of(e) == kind and e.revision > revision
    match.__name__ = f"{kind} after rev {revision}"
    return match


def ops(update) -> list[tuple[str, int, int]]:
    return [(E.StatsOperation.Name(o.operation).removeprefix("STATS_OPERATION_"), o.operation_count, o.image_count)
            for o in update.operations]


def stats_update_for(w, revision: int, what: str = ""):
    """The PROJECT_STATS_UPDATE that folds in the change at `revision` (min_update_interval 0: that one)."""
    return w.wait_for(lambda e: kind_of(e) == "PROJECT_STATS_UPDATE"
                      and e.stats_update.first_revision <= revision <= e.revision, what=what or f"stats update @{revision}")


def assert_exact_stats(client, update_event, what: str):
    """An update's stats are exact: equal to GetProjectStats after the same change, revision = envelope's."""
    got = update_event.stats_update.stats
    assert got.revision == update_event.revision, (
        f"{what}: stats.revision {got.revision} != envelope revision {update_event.revision}: {describe(update_event)}")
    now = client.project_stats(got.project_id)
    assert now == got, f"{what}: streamed stats differ from GetProjectStats:\n  stream: {got}\n  get:    {now}"


def rename(api, project_id: str, label: str) -> P.Project:
    return ok(api.olga.projects.UpdateProject, P.UpdateProjectRequest(project_id=project_id, name=unique(label))).project


# ---------------------------------------------------------------------------------------------
# WatchProject: opening


def test_project_stream_opens_with_snapshot_and_caught_up(api, streams):
    olga, vera = api.olga, api.vera
    project = shared_project(api, "snap", description="counting mitoses")
    olga.upload(project.id, upload_of("image/png", 1), upload_of("image/jpeg", 2))
    epoch = epoch_of(olga, project.id)

    w = streams.project(olga, project.id)
    snapshot, caught_up = wait_caught_up(w)
    snap = snapshot.snapshot
    assert snapshot.epoch == epoch, f"stream epoch {snapshot.epoch!r}, GetProjectStats epoch {epoch!r}"
    assert snapshot.project_id == project.id and caught_up.project_id == project.id
    got = ok(olga.projects.GetProject, P.GetProjectRequest(project_id=project.id)).project
    assert snap.project.stats.revision == snapshot.revision, (
        f"snapshot stats.revision {snap.project.stats.revision} != envelope revision {snapshot.revision}")
    assert snapshot.revision >= got.stats.revision
    a, b = P.Project(), P.Project()
    a.CopyFrom(snap.project)
    b.CopyFrom(got)
    a.stats.revision = b.stats.revision = 0
    assert a == b, f"snapshot project differs from GetProject:\n  snapshot: {snap.project}\n  get: {got}"
    assert snap.project.caller_role == OWNER
    shares = ok(olga.projects.ListShares, P.ListSharesRequest(project_id=project.id)).members
    assert list(snap.members) == list(shares), f"members {member_names(snap.members)} vs ListShares {member_names(shares)}"
    assert member_names(snap.members) == [("olga", OWNER), ("eddie", EDITOR), ("vera", VIEWER)]
    assert user_names(snap.watchers) == ["olga"], f"watchers must be exactly the caller: {user_names(snap.watchers)}"

    # A viewer's snapshot: their role, and both watchers.
    v = streams.project(vera, project.id)
    vsnap, _ = wait_caught_up(v)
    assert vsnap.snapshot.project.caller_role == VIEWER
    assert sorted(user_names(vsnap.snapshot.watchers)) == ["olga", "vera"], user_names(vsnap.snapshot.watchers)
    check_envelopes(w, epoch=epoch, project_id=project.id)
    check_envelopes(v, epoch=epoch, project_id=project.id)


# ---------------------------------------------------------------------------------------------
# WatchProject: image changes


def test_upload_sends_stats_update_and_count_change(api, streams):
    olga, eddie = api.olga, api.eddie
    project = shared_project(api, "upload", viewer=False)
    w = streams.project(olga, project.id, min_update_interval_ms=0)
    snapshot, _ = wait_caught_up(w)

    images = eddie.upload(project.id, *[upload_of("image/png", 10 + i, name=f"cell-{i}.png") for i in range(3)]).images
    update = w.wait_for("PROJECT_STATS_UPDATE")
    count = w.wait_for("PROJECT_IMAGE_COUNT_CHANGE")
    u = update.stats_update
    assert update.revision > snapshot.revision
    assert_exact_stats(olga, update, "after the upload")
    assert (u.stats.image_count, u.stats.no_segmentation_count, u.stats.total_bytes) == (3, 3, sum(i.size_bytes for i in images))
    assert ops(u) == [("IMAGES_UPLOADED", 1, 3)], ops(u)
    assert list(u.affected_images.image_ids) == [i.id for i in images], "affected ids in upload order"
    assert (u.affected_images.truncated, u.affected_images.total_count) == (False, 3)
    assert (u.first_revision, u.change_count) == (update.revision, 1), describe(update)
    assert (update.actor_user_name, update.actor_user_id) == ("eddie", images[0].uploaded_by.user_id), describe(update)

    c = count.image_count_change
    assert count.revision == update.revision, "the count change is the same commit as the update"
    assert (c.previous_image_count, c.new_image_count, c.change_type) == (0, 3, E.IMAGE_COUNT_CHANGE_TYPE_ADDED), describe(count)
    assert count.actor_user_name == "eddie"

    # A second upload: one more of each, counting on.
    more = eddie.upload(project.id, upload_of("image/png", 20)).images
    count2 = w.wait_for(after("PROJECT_IMAGE_COUNT_CHANGE", count.revision))
    c2 = count2.image_count_change
    assert (c2.previous_image_count, c2.new_image_count) == (3, 4), describe(count2)
    update2 = stats_update_for(w, count2.revision)
    assert list(update2.stats_update.affected_images.image_ids) == [more[0].id]
    assert_exact_stats(olga, update2, "after the second upload")
    assert len(w.events_of("PROJECT_IMAGE_COUNT_CHANGE")) == 2 and len(w.events_of("PROJECT_STATS_UPDATE")) == 2, w.dump()
    check_envelopes(w, epoch=snapshot.epoch, project_id=project.id)


def test_actor_is_named_from_a_users_first_change(api, streams):
    """nina has never been in a share: her first changes still name her (id and name) as actor."""
    nina = api.nina
    d = streams.dashboard(nina, min_update_interval_ms=0)
    d.wait_for("SNAPSHOT")
    project = nina.create_project(unique("nina"))
    nina_id = project.owner.user_id
    created = d.wait_for("DASHBOARD_METRICS_UPDATE")
    w = streams.project(nina, project.id, min_update_interval_ms=0)
    wait_caught_up(w)
    nina.upload(project.id, upload_of("image/png", 1))
    update = w.wait_for("PROJECT_STATS_UPDATE")
    count = w.wait_for("PROJECT_IMAGE_COUNT_CHANGE")
    uploaded = d.wait_for(lambda e: kind_of(e) == "DASHBOARD_METRICS_UPDATE" and e.revision == update.revision)
    entries = [e for e in feed(nina, project.id)]
    assert all((e.actor_user_id, e.actor_user_name) == (nina_id, "nina") for e in entries), "ListActivity names nina"
    wrong = [f"{w.label if e.__class__.__name__ == 'ProjectEvent' else d.label}: {describe(e)}"
             for e in (created, update, count, uploaded) if (e.actor_user_id, e.actor_user_name) != (nina_id, "nina")]
    assert not wrong, f"want actor ({nina_id}, 'nina') on:\n  " + "\n  ".join(wrong)
    assert created.project_id == project.id


def test_long_min_update_interval_holds_the_second_update(api, streams):
    """min_update_interval_ms 60000: the first change's update goes at once, the next one waits;
    discrete events (count changes, renames) are never held back."""
    olga = api.olga
    project = olga.create_project(unique("slow"))
    w = streams.project(olga, project.id, min_update_interval_ms=60000)
    wait_caught_up(w)
    olga.upload(project.id, upload_of("image/png", 1))
    first = w.wait_for("PROJECT_STATS_UPDATE")
    assert first.stats_update.change_count == 1 and first.stats_update.stats.image_count == 1, describe(first)
    olga.upload(project.id, upload_of("image/png", 2))
    second = w.wait_count("PROJECT_IMAGE_COUNT_CHANGE", 2)[1]
    assert second.image_count_change.new_image_count == 2
    renamed = rename(api, project.id, "slow-2")
    event = w.wait_for(lambda e: kind_of(e) == "PROJECT_UPDATED" and e.project_updated.name == renamed.name)
    assert event.revision > second.revision
    assert len(w.events_of("PROJECT_STATS_UPDATE")) == 1, f"the second update is due 60 s after the first\n{w.dump()}"
    check_envelopes(w, project_id=project.id)


def test_delete_image_sends_image_deleted(api, streams):
    olga, eddie = api.olga, api.eddie
    project = shared_project(api, "del1", viewer=False)
    images = olga.upload(project.id, upload_of("image/png", 1, name="keep.png"), upload_of("image/tiff", 2, name="gone.tif"),
                         upload_of("image/jpeg", 3, name="queued.jpg")).images
    ok(olga.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(
        project_id=project.id, images=S.ImageIdList(image_ids=[images[2].id])))
    w = streams.project(olga, project.id, min_update_interval_ms=0)
    snapshot, _ = wait_caught_up(w)

    freed = ok(eddie.images.DeleteImage, images_pb2.DeleteImageRequest(image_id=images[1].id)).freed_bytes
    deleted = w.wait_for("IMAGE_DELETED")
    d = deleted.image_deleted
    assert (d.image_id, d.image_name, d.size_bytes, d.previous_status) == (
        images[1].id, "gone.tif", images[1].size_bytes, NO_SEG), describe(deleted)
    assert freed == images[1].size_bytes
    assert deleted.actor_user_name == "eddie"
    count = w.wait_for(at_revision("PROJECT_IMAGE_COUNT_CHANGE", deleted.revision))
    c = count.image_count_change
    assert (c.previous_image_count, c.new_image_count, c.change_type) == (3, 2, E.IMAGE_COUNT_CHANGE_TYPE_REMOVED), describe(count)
    update = stats_update_for(w, deleted.revision)
    assert ops(update.stats_update) == [("IMAGES_DELETED", 1, 1)], ops(update.stats_update)
    assert list(update.stats_update.affected_images.image_ids) == [images[1].id]
    assert_exact_stats(olga, update, "after DeleteImage")

    # A queued image: its status when deleted.
    ok(olga.images.DeleteImage, images_pb2.DeleteImageRequest(image_id=images[2].id))
    queued = w.wait_for(after("IMAGE_DELETED", deleted.revision))
    assert (queued.image_deleted.image_id, queued.image_deleted.previous_status) == (images[2].id, QUEUED), describe(queued)
    update2 = stats_update_for(w, queued.revision)
    assert_exact_stats(olga, update2, "after deleting the queued image")
    assert update2.stats_update.stats.queued_count == 0
    assert not w.events_of("BATCH_IMAGES_DELETED"), "DeleteImage is not a batch delete"
    check_envelopes(w, epoch=snapshot.epoch, project_id=project.id)


def test_delete_images_sends_one_batch_event_per_call(api, streams):
    olga, eddie = api.olga, api.eddie
    project = shared_project(api, "batch", viewer=False)
    images = eddie.upload(project.id, *[upload_of("image/x-portable-graymap", i) for i in range(5)]).images
    w = streams.project(olga, project.id, min_update_interval_ms=0)
    snapshot, _ = wait_caught_up(w)

    doomed = [images[3].id, images[0].id, images[1].id]
    reply = ok(eddie.images.DeleteImages, images_pb2.DeleteImagesRequest(project_id=project.id, image_ids=doomed))
    batch = w.wait_for("BATCH_IMAGES_DELETED")
    b = batch.batch_images_deleted
    assert list(b.images.image_ids) == doomed, f"ids in request order: {list(b.images.image_ids)} vs {doomed}"
    assert (b.images.truncated, b.images.total_count, b.freed_bytes) == (False, 3, reply.freed_bytes), describe(batch)
    assert reply.freed_bytes == sum(i.size_bytes for i in images if i.id in doomed)
    assert batch.actor_user_name == "eddie"
    count = w.wait_for(at_revision("PROJECT_IMAGE_COUNT_CHANGE", batch.revision))
    c = count.image_count_change
    assert (c.previous_image_count, c.new_image_count, c.change_type) == (5, 2, E.IMAGE_COUNT_CHANGE_TYPE_REMOVED)
    update = stats_update_for(w, batch.revision)
    assert ops(update.stats_update) == [("IMAGES_DELETED", 1, 3)], ops(update.stats_update)
    assert list(update.stats_update.affected_images.image_ids) == doomed
    assert_exact_stats(olga, update, "after DeleteImages")

    # Sentinel: nothing per image (no IMAGE_DELETED, exactly one batch event, one count change).
    renamed = rename(api, project.id, "batch-done")
    w.wait_for(lambda e: kind_of(e) == "PROJECT_UPDATED" and e.project_updated.name == renamed.name)
    assert len(w.events_of("BATCH_IMAGES_DELETED")) == 1 and not w.events_of("IMAGE_DELETED"), w.dump()
    assert len(w.events_of("PROJECT_IMAGE_COUNT_CHANGE")) == 1, w.dump()
    check_envelopes(w, epoch=snapshot.epoch, project_id=project.id)


def test_affected_images_are_bounded_to_100(api, streams):
    olga = api.olga
    project = olga.create_project(unique("many"))
    ids = []
    for start in (0, 60):
        ids += [i.id for i in olga.upload(project.id, *[upload_of("image/x-portable-graymap", start + i, name=f"m{start + i}.pgm")
                                                           for i in range(60 if start == 0 else 41)]).images]
    assert len(ids) == 101
    w = streams.project(olga, project.id, min_update_interval_ms=0)
    wait_caught_up(w)
    ok(olga.images.DeleteImages, images_pb2.DeleteImagesRequest(project_id=project.id, image_ids=ids))
    batch = w.wait_for("BATCH_IMAGES_DELETED").batch_images_deleted
    assert (len(batch.images.image_ids), batch.images.truncated, batch.images.total_count) == (100, True, 101), (
        len(batch.images.image_ids), batch.images.truncated, batch.images.total_count)
    assert list(batch.images.image_ids) == ids[:100], "the first 100, in operation order"
    update = w.wait_for("PROJECT_STATS_UPDATE").stats_update
    a = update.affected_images
    assert (len(a.image_ids), a.truncated, a.total_count) == (100, True, 101), (len(a.image_ids), a.truncated, a.total_count)
    assert list(a.image_ids) == ids[:100]
    assert ops(update) == [("IMAGES_DELETED", 1, 101)], ops(update)


def test_enqueue_and_cancel_send_stats_updates(api, streams):
    olga, eddie = api.olga, api.eddie
    project = shared_project(api, "queue", viewer=False)
    images = olga.upload(project.id, *[upload_of("image/png", i) for i in range(3)]).images
    w = streams.project(olga, project.id, min_update_interval_ms=0)
    snapshot, _ = wait_caught_up(w)

    enq = ok(eddie.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(
        project_id=project.id, images=S.ImageIdList(image_ids=[images[2].id, images[0].id])))
    assert enq.enqueued_count == 2
    queued = w.wait_for("PROJECT_STATS_UPDATE")
    q = queued.stats_update
    assert ops(q) == [("SEGMENTATION_QUEUED", 1, 2)], ops(q)
    assert list(q.affected_images.image_ids) == [images[2].id, images[0].id]
    assert (q.stats.queued_count, q.stats.no_segmentation_count) == (2, 1)
    assert queued.actor_user_name == "eddie"
    assert_exact_stats(olga, queued, "after EnqueueSegmentation")

    cancelled = ok(olga.seg.CancelSegmentation, S.CancelSegmentationRequest(batch_id=enq.batch_id))
    assert cancelled.cancelled_count == 2
    update = w.wait_for(after("PROJECT_STATS_UPDATE", queued.revision))
    u = update.stats_update
    assert ops(u) == [("SEGMENTATION_CANCELLED", 1, 2)], ops(u)
    assert sorted(u.affected_images.image_ids) == sorted([images[2].id, images[0].id])
    assert (u.stats.queued_count, u.stats.no_segmentation_count) == (0, 3)
    assert update.actor_user_name == "olga"
    assert_exact_stats(olga, update, "after CancelSegmentation")
    assert not w.events_of("PROJECT_IMAGE_COUNT_CHANGE"), "queueing does not change the image count"
    check_envelopes(w, epoch=snapshot.epoch, project_id=project.id)


def test_burst_is_coalesced_and_the_last_update_is_exact(api, streams):
    """Default min_update_interval (100 ms): fewer updates than changes is allowed, but the
    folded counts add up, count changes are one per upload, and the last update is exact."""
    olga = api.olga
    project = olga.create_project(unique("burst"))
    w = streams.project(olga, project.id)  # min_update_interval unset = 100 ms
    snapshot, _ = wait_caught_up(w)
    n = 6
    ids = [olga.upload(project.id, upload_of("image/png", 100 + i)).images[0].id for i in range(n)]
    final = olga.project_stats(project.id)
    last = w.wait_for(lambda e: kind_of(e) == "PROJECT_STATS_UPDATE" and e.revision >= final.revision,
                      what=f"an update at revision {final.revision}")
    assert last.stats_update.stats == final, f"the last update of a burst is exact:\n{last.stats_update.stats}\nvs\n{final}"
    counts = w.wait_count("PROJECT_IMAGE_COUNT_CHANGE", n)
    assert [(c.image_count_change.previous_image_count, c.image_count_change.new_image_count) for c in counts] == [
        (i, i + 1) for i in range(n)], "one count change per upload, in order"
    updates = w.events_of("PROJECT_STATS_UPDATE")
    assert sum(u.stats_update.change_count for u in updates) == n, [describe(u) for u in updates]
    assert sum(o.operation_count for u in updates for o in u.stats_update.operations) == n
    assert sum(o.image_count for u in updates for o in u.stats_update.operations) == n
    assert updates[0].stats_update.change_count == 1, f"the first change after a quiet period is sent at once\n{w.dump()}"
    upload_revisions = [c.revision for c in counts]
    prev = snapshot.revision
    for u in updates:
        su = u.stats_update
        assert prev < su.first_revision <= u.revision, f"first_revision {su.first_revision} not in ({prev}, {u.revision}]: {describe(u)}"
        assert su.stats.revision == u.revision
        folded = [i for i, r in enumerate(upload_revisions) if prev < r <= u.revision]
        assert su.change_count == len(folded) and su.first_revision == upload_revisions[folded[0]], (
            f"update folds uploads {folded}: {describe(u)}")
        assert ops(su) == [("IMAGES_UPLOADED", len(folded), len(folded))], ops(su)
        assert list(su.affected_images.image_ids) == [ids[i] for i in folded], "affected ids of every folded upload, in order"
        prev = u.revision
    check_envelopes(w, epoch=snapshot.epoch, project_id=project.id)


# ---------------------------------------------------------------------------------------------
# WatchProject: project and membership changes


def test_update_project_sends_project_updated(api, streams):
    olga = api.olga
    project = shared_project(api, "rename", description="before")
    watchers = [streams.project(u, project.id) for u in (olga, api.eddie, api.vera)]
    feed_e = streams.activity(api.eddie, backlog_size=0)
    for w in watchers:
        wait_caught_up(w)
    wait_activity_caught_up(feed_e)
    cases = [
        (P.UpdateProjectRequest(project_id=project.id, name=unique("renamed")), ["name"]),
        (P.UpdateProjectRequest(project_id=project.id, project_description="after"), ["project_description"]),
        (P.UpdateProjectRequest(project_id=project.id, name=unique("both"), project_description=""), ["name", "project_description"]),
    ]
    for request, fields in cases:
        updated = ok(olga.projects.UpdateProject, request).project
        for w in watchers:
            event = w.wait_for(lambda e: kind_of(e) == "PROJECT_UPDATED" and list(e.project_updated.changed_fields) == fields
                               and e.project_updated.name == updated.name, what=f"PROJECT_UPDATED {fields}")
            pu = event.project_updated
            assert (pu.name, pu.project_description, pu.updated_at_unix_ms) == (
                updated.name, updated.project_description, updated.updated_at_unix_ms), describe(event)
            assert event.actor_user_name == "olga"
        entry = feed_e.wait_for(lambda e: kind_of(e) == "SHARED_PROJECT_UPDATE" and e.shared_project_update.project_name == updated.name
                                and e.revision == event.revision, what="eddie's SHARED_PROJECT_UPDATE/PROJECT_UPDATED")
        assert entry.shared_project_update.update_type == E.ACTIVITY_TYPE_PROJECT_UPDATED and entry.actor_user_name == "olga"
    for w in watchers:
        assert len(w.events_of("PROJECT_UPDATED")) == 3, w.dump()
        check_envelopes(w, project_id=project.id)
    assert len(feed_e.events) == 4 and feed_e.events[1:] == list(reversed(feed(api.eddie, project.id)[:3])), feed_e.dump()


def test_share_and_role_change_send_shares_changed(api, streams):
    olga, vera = api.olga, api.vera
    project = shared_project(api, "shares", viewer=False)
    w = streams.project(olga, project.id)
    e = streams.project(api.eddie, project.id)
    wait_caught_up(w)
    wait_caught_up(e)

    olga.share(project.id, vera, VIEWER)
    for s in (w, e):
        added = s.wait_for("SHARES_CHANGED").shares_changed
        assert (added.change_type, added.user.user_name, added.role, added.previous_role) == (
            E.SHARE_CHANGE_TYPE_ADDED, "vera", VIEWER, NO_ROLE), added
        assert member_names(added.members) == [("olga", OWNER), ("eddie", EDITOR), ("vera", VIEWER)], member_names(added.members)
    shares = ok(olga.projects.ListShares, P.ListSharesRequest(project_id=project.id)).members
    assert list(w.events_of("SHARES_CHANGED")[0].shares_changed.members) == list(shares), "members as ListShares returns them"

    olga.share(project.id, vera, EDITOR)
    changed_event = w.wait_for(lambda x: kind_of(x) == "SHARES_CHANGED"
                               and x.shares_changed.change_type == E.SHARE_CHANGE_TYPE_ROLE_CHANGED)
    changed = changed_event.shares_changed
    assert (changed.user.user_name, changed.role, changed.previous_role) == ("vera", EDITOR, VIEWER), changed
    assert member_names(changed.members) == [("olga", OWNER), ("eddie", EDITOR), ("vera", EDITOR)]
    assert changed_event.actor_user_name == "olga"
    # The same role again changes nothing and sends nothing (sentinel: a rename).
    olga.share(project.id, vera, EDITOR)
    renamed = rename(api, project.id, "shares-done")
    w.wait_for(lambda x: kind_of(x) == "PROJECT_UPDATED" and x.project_updated.name == renamed.name)
    assert len(w.events_of("SHARES_CHANGED")) == 2, w.dump()
    check_envelopes(w, project_id=project.id)
    check_envelopes(e, project_id=project.id)


def test_owner_revokes_a_member(api, streams):
    olga, vera = api.olga, api.vera
    project = shared_project(api, "revoke")
    w = streams.project(olga, project.id)
    e = streams.project(api.eddie, project.id)
    v1 = streams.project(vera, project.id, label="vera:project#1")
    v2 = streams.project(vera, project.id, label="vera:project#2")
    for s in (w, e, v1, v2):
        wait_caught_up(s)

    ok(olga.projects.RevokeShare, P.RevokeShareRequest(project_id=project.id, user_name="vera"))
    revoked_at = time.monotonic()
    for s in (w, e):
        event = s.wait_for("SHARES_CHANGED")
        sc = event.shares_changed
        assert (sc.change_type, sc.user.user_name, sc.role) == (E.SHARE_CHANGE_TYPE_REVOKED, "vera", NO_ROLE), describe(event)
        assert member_names(sc.members) == [("olga", OWNER), ("eddie", EDITOR)], member_names(sc.members)
        assert event.actor_user_name == "olga"
    for s in (v1, v2):
        event = s.wait_for("ACCESS_REVOKED")
        ar = event.access_revoked
        assert (ar.revoked_by.user_name, ar.left) == ("olga", False), describe(event)
        s.expect_end(Code.PERMISSION_DENIED, timeout=5, what="after ACCESS_REVOKED")
        assert s.ended_at - revoked_at <= END_WITHIN, f"{s.label} ended {s.ended_at - revoked_at:.3f}s after RevokeShare"
        assert not s.events_of("SHARES_CHANGED"), f"the revoked member gets ACCESS_REVOKED instead of SHARES_CHANGED\n{s.dump()}"
        assert kind_of(s.events[-1]) == "ACCESS_REVOKED", s.dump()
        check_envelopes(s, project_id=project.id)
    assert not w.ended and not e.ended, "the other members' streams go on"
    left = w.wait_for(lambda x: kind_of(x) == "PRESENCE" and x.presence.change == E.PRESENCE_CHANGE_LEFT,
                      what="PRESENCE left for vera (her streams closed)")
    assert left.presence.user.user_name == "vera" and sorted(user_names(left.presence.watchers)) == ["eddie", "olga"], describe(left)
    check_envelopes(w, project_id=project.id)


def test_member_leaves(api, streams):
    olga, eddie = api.olga, api.eddie
    project = shared_project(api, "leave")
    w = streams.project(olga, project.id)
    v = streams.project(api.vera, project.id)
    x = streams.project(eddie, project.id)
    for s in (w, v, x):
        wait_caught_up(s)

    ok(eddie.projects.RevokeShare, P.RevokeShareRequest(project_id=project.id, leave=True))
    left_at = time.monotonic()
    for s in (w, v):
        event = s.wait_for("SHARES_CHANGED")
        sc = event.shares_changed
        assert (sc.change_type, sc.user.user_name, sc.role) == (E.SHARE_CHANGE_TYPE_LEFT, "eddie", NO_ROLE), describe(event)
        assert member_names(sc.members) == [("olga", OWNER), ("vera", VIEWER)], member_names(sc.members)
        assert event.actor_user_name == "eddie"
    event = x.wait_for("ACCESS_REVOKED")
    assert (event.access_revoked.revoked_by.user_name, event.access_revoked.left) == ("eddie", True), describe(event)
    x.expect_end(Code.PERMISSION_DENIED, what="after leaving")
    assert x.ended_at - left_at <= END_WITHIN, f"ended {x.ended_at - left_at:.3f}s after RevokeShare(leave)"
    assert not x.events_of("SHARES_CHANGED"), x.dump()
    assert not w.ended and not v.ended


def test_delete_project_ends_every_stream_not_found(api, streams):
    olga = api.olga
    project = shared_project(api, "doomed")
    olga.upload(project.id, upload_of("image/png", 1))
    ws = [streams.project(u, project.id) for u in (olga, api.eddie, api.vera)]
    feed_e = streams.activity(api.eddie, backlog_size=0)
    dash_v = streams.dashboard(api.vera, min_update_interval_ms=0)
    for w in ws:
        wait_caught_up(w)
    wait_activity_caught_up(feed_e)
    before = dash_v.wait_for("SNAPSHOT").snapshot.metrics
    ok(olga.projects.DeleteProject, P.DeleteProjectRequest(project_id=project.id))
    deleted_at = time.monotonic()
    for w in ws:
        event = w.wait_for("PROJECT_DELETED")
        assert event.project_deleted.project_name == project.name and event.actor_user_name == "olga", describe(event)
        w.expect_end(Code.NOT_FOUND, what="after PROJECT_DELETED")
        assert w.ended_at - deleted_at <= END_WITHIN, f"{w.label} ended {w.ended_at - deleted_at:.3f}s after DeleteProject"
        assert kind_of(w.events[-1]) == "PROJECT_DELETED", f"nothing after PROJECT_DELETED\n{w.dump()}"
        check_envelopes(w, project_id=project.id)
    gone = feed_e.wait_for("SHARED_PROJECT_UPDATE")
    spu = gone.shared_project_update
    assert (spu.update_type, spu.project_name, gone.actor_user_name, spu.HasField("stats")) == (
        E.ACTIVITY_TYPE_PROJECT_DELETED, project.name, "olga", False), describe(gone)
    moved = dash_v.wait_for("DASHBOARD_METRICS_UPDATE").metrics_update.metrics
    assert (moved.projects_shared_with_me, moved.total_images) == (before.projects_shared_with_me - 1, before.total_images - 1)
    # Watching it now: NOT_FOUND at subscribe.
    late = streams.project(olga, project.id, label="olga:late")
    late.expect_end(Code.NOT_FOUND)
    assert late.events == []


# ---------------------------------------------------------------------------------------------
# WatchProject: presence and heartbeats


def test_presence_one_entry_per_user(api, streams):
    olga, eddie = api.olga, api.eddie
    project = shared_project(api, "presence", viewer=False)
    w = streams.project(olga, project.id)
    snapshot, _ = wait_caught_up(w)

    e1 = streams.project(eddie, project.id, label="eddie:project#1")
    esnap, _ = wait_caught_up(e1)
    assert sorted(user_names(esnap.snapshot.watchers)) == ["eddie", "olga"]
    joined = w.wait_for("PRESENCE")
    p = joined.presence
    assert (p.change, p.user.user_name) == (E.PRESENCE_CHANGE_JOINED, "eddie"), describe(joined)
    assert sorted(user_names(p.watchers)) == ["eddie", "olga"], user_names(p.watchers)
    assert joined.revision == snapshot.revision, "PRESENCE carries the highest revision the stream has sent"

    # eddie's second stream: no PRESENCE anywhere (sentinel: a rename reaches every stream).
    e2 = streams.project(eddie, project.id, label="eddie:project#2")
    e2snap, _ = wait_caught_up(e2)
    assert sorted(user_names(e2snap.snapshot.watchers)) == ["eddie", "olga"], "one entry per user"
    renamed = rename(api, project.id, "presence-2")
    for s in (w, e1, e2):
        s.wait_for(lambda x: kind_of(x) == "PROJECT_UPDATED" and x.project_updated.name == renamed.name)
    assert len(w.events_of("PRESENCE")) == 1, f"a user's second stream causes no PRESENCE\n{w.dump()}"
    assert not e1.events_of("PRESENCE"), e1.dump()

    # Closing one of two: still watching, no PRESENCE; closing the last: LEFT.
    e1.cancel()
    renamed = rename(api, project.id, "presence-3")
    w.wait_for(lambda x: kind_of(x) == "PROJECT_UPDATED" and x.project_updated.name == renamed.name)
    assert len(w.events_of("PRESENCE")) == 1, f"closing one of eddie's two streams causes no PRESENCE\n{w.dump()}"
    e2.cancel()
    left = w.wait_for(lambda x: kind_of(x) == "PRESENCE" and x.presence.change == E.PRESENCE_CHANGE_LEFT)
    assert left.presence.user.user_name == "eddie" and user_names(left.presence.watchers) == ["olga"], describe(left)
    before = w.events[:w.index_of(left)]
    assert left.revision == max(e.revision for e in before), f"PRESENCE carries the highest revision sent\n{w.dump()}"
    check_envelopes(w, epoch=snapshot.epoch, project_id=project.id)


# A watcher in another process, killed: its kernel closes the socket.
_KILLED_WATCHER = """
import sys, grpc
sys.path[:0] = sys.argv[4:]
from cellhub.v1 import stats_service_pb2 as SS, stats_service_pb2_grpc as SG
channel = grpc.insecure_channel(sys.argv[1])
stream = SG.StatsServiceStub(channel).WatchProject(
    SS.WatchProjectRequest(project_id=sys.argv[3]), metadata=(("authorization", "Bearer " + sys.argv[2]),))
for event in stream:
    if event.WhichOneof("payload") == "caught_up":
        print("ready", flush=True)
"""


def test_a_vanished_watcher_leaves_at_once(api, streams):
    """A client whose socket closes (process killed) has its streams ended at once, not at the
    drain timeout (5 s): the server probes an EOF with a PING, and a closed socket answers it
    with a reset. Seen by the other watcher as eddie's PRESENCE LEFT."""
    import subprocess
    import sys

    olga, eddie = api.olga, api.eddie
    project = shared_project(api, "vanished", viewer=False)
    w = streams.project(olga, project.id)
    wait_caught_up(w)
    paths = [p for p in sys.path if p]
    child = subprocess.Popen([sys.executable, "-c", _KILLED_WATCHER, f"127.0.0.1:{api.server.port}", eddie.token, project.id, *paths],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready", "the child's stream caught up"
        w.wait_for(lambda x: kind_of(x) == "PRESENCE" and x.presence.change == E.PRESENCE_CHANGE_JOINED)
    finally:
        child.kill()
        child.wait()
    killed_at = time.monotonic()
    left = w.wait_for(lambda x: kind_of(x) == "PRESENCE" and x.presence.change == E.PRESENCE_CHANGE_LEFT, timeout=10,
                      what="PRESENCE LEFT for eddie after his process died")
    after = w.received_at(left) - killed_at
    assert left.presence.user.user_name == "eddie", describe(left)
    assert after < 1.5, f"eddie's stream ended {after:.2f}s after his process was killed (the drain timeout is 5 s)"


def heartbeat_run(api, streams):
    """olga's three streams with heartbeat_interval_s=1: idle for two PROGRESS, one upload, idle
    again until the next PROGRESS. Returns the watchers and, per watcher, the live event."""
    olga = api.olga
    project = olga.create_project(unique("heartbeat"))
    p = streams.project(olga, project.id, heartbeat_interval_s=1, min_update_interval_ms=0)
    d = streams.dashboard(olga, heartbeat_interval_s=1)
    a = streams.activity(olga, heartbeat_interval_s=1, backlog_size=0)
    wait_caught_up(p)
    d.wait_for("SNAPSHOT")
    a.wait_for("CAUGHT_UP")
    for w in (p, d, a):
        w.wait_count("PROGRESS", 2, timeout=4)
    olga.upload(project.id, upload_of("image/png", 1))
    moved = {p: p.wait_for("PROJECT_STATS_UPDATE"), d: d.wait_for("DASHBOARD_METRICS_UPDATE"),
             a: a.wait_for("USER_ACTIVITY_UPDATE")}
    for w in (p, d, a):
        w.wait_for(lambda e, w=w: kind_of(e) == "PROGRESS" and w.index_of(e) > w.index_of(moved[w]), timeout=4,
                   what="PROGRESS after the live event")
    return (p, d, a), moved


def progress_gaps(w) -> tuple[list[float], list[float]]:
    """Seconds from the previous event to each PROGRESS: (after a PROGRESS, after any other event)."""
    after_progress, after_other = [], []
    previous = None
    for r in w.received:
        if kind_of(r.event) == "PROGRESS":
            (after_progress if kind_of(previous.event) == "PROGRESS" else after_other).append(round(r.at - previous.at, 3))
        previous = r
    return after_progress, after_other


def test_progress_heartbeats(api, streams):
    """Idle streams get PROGRESS every heartbeat_interval_s (1 s), at the stream's position."""
    watchers, moved = heartbeat_run(api, streams)
    for w in watchers:
        highest = 0
        for e in w.events:
            if kind_of(e) == "PROGRESS":
                assert e.revision >= highest, f"{w.label}: PROGRESS rev {e.revision} below {highest}\n{w.dump()}"
                if type(e).__name__ != "ProjectEvent":
                    assert not e.project_id, f"{w.label}: PROGRESS names a project\n{w.dump()}"
            highest = max(highest, e.revision)
        last = w.events_of("PROGRESS")[-1]
        assert last.revision >= moved[w].revision, f"{w.label}: PROGRESS after the live event carries its revision\n{w.dump()}"
        consecutive, _ = progress_gaps(w)
        assert consecutive and all(0.8 <= g <= 1.3 for g in consecutive), (
            f"{w.label}: consecutive PROGRESS {consecutive} s apart, want ~1 s\n{w.dump()}")
        check_envelopes(w)


def test_progress_after_one_interval_of_silence(api, streams):
    """'Send PROGRESS after this many seconds without another event': the first PROGRESS after the
    opening events, and after a live event, comes one interval (1 s) later, not up to two."""
    watchers, _ = heartbeat_run(api, streams)
    late = []
    for w in watchers:
        _, after_other = progress_gaps(w)
        if not all(0.8 <= g <= 1.5 for g in after_other):
            late.append(f"{w.label}: first PROGRESS {after_other} s after the opening / live event\n{w.dump()}")
    assert not late, "want PROGRESS 0.8..1.5 s after the last event (heartbeat_interval_s=1):\n" + "\n".join(late)


def test_a_short_heartbeat_joining_a_long_one_gets_progress_on_time(api, streams):
    """The shard's one heartbeat timer, re-armed for a stream with the default interval (30 s),
    is brought forward when a stream with a 1 s interval joins (same connection, same loop):
    it used to wait for the 30 s scan."""
    olga = api.olga
    project = olga.create_project(unique("heartbeat-join"))
    long = streams.project(olga, project.id, label="olga:default-heartbeat")
    wait_caught_up(long)
    time.sleep(1.3)  # the first scan (1 s after the join) re-arms the timer for 30 s
    short = streams.project(olga, project.id, heartbeat_interval_s=1, label="olga:1s-heartbeat")
    wait_caught_up(short)
    short.wait_for("PROGRESS", 2.5, "PROGRESS about 1 s after joining")


# ---------------------------------------------------------------------------------------------
# roles and authentication


def test_every_member_sees_every_change_and_strangers_nothing(api, streams):
    olga, eddie, vera, sam = api.olga, api.eddie, api.vera, api.sam
    project = shared_project(api, "roles")
    members = [streams.project(u, project.id, min_update_interval_ms=0) for u in (olga, eddie, vera)]
    for w in members:
        wait_caught_up(w)
    stranger = streams.project(sam, project.id)
    stranger.expect_end(Code.NOT_FOUND, what="stranger at subscribe")
    assert stranger.events == [], f"a stranger receives nothing\n{stranger.dump()}"
    unknown = streams.project(olga, random_id(), label="olga:unknown-project")
    unknown.expect_end(Code.NOT_FOUND)

    images = eddie.upload(project.id, upload_of("image/png", 1), upload_of("image/png", 2)).images
    for w in members:
        update = w.wait_for("PROJECT_STATS_UPDATE")
        count = w.wait_for("PROJECT_IMAGE_COUNT_CHANGE")
        assert update.actor_user_name == "eddie" and count.actor_user_name == "eddie"
        assert list(update.stats_update.affected_images.image_ids) == [i.id for i in images]
        assert count.image_count_change.new_image_count == 2
    ok(olga.images.DeleteImage, images_pb2.DeleteImageRequest(image_id=images[0].id))
    for w in members:
        deleted = w.wait_for("IMAGE_DELETED")
        assert deleted.actor_user_name == "olga"
        # The stats update folding the delete follows its discrete events.
        w.wait_for(lambda e, r=deleted.revision: kind_of(e) == "PROJECT_STATS_UPDATE" and e.revision >= r)
    revisions = {w.label: [e.revision for e in w.events if kind_of(e) not in ("PRESENCE",)] for w in members}
    assert len({tuple(r[2:]) for r in revisions.values()}) == 1, f"every member gets the same changes: {revisions}"
    for w in members:
        check_envelopes(w, project_id=project.id)


@pytest.mark.parametrize("token", ["unknown", "malformed", "none"])
def test_bad_token_is_unauthenticated(api, streams, token):
    project = api.olga.create_project(unique("auth"))
    client = {"unknown": api.client("mallory", UNKNOWN_TOKEN), "malformed": api.client("mallory", "not-a-token"),
              "none": api.anonymous}[token]
    ws = [streams.project(client, project.id), streams.dashboard(client), streams.activity(client)]
    for w in ws:
        w.expect_end(Code.UNAUTHENTICATED)
        assert w.events == [], w.dump()


def test_revoked_token_ends_every_stream(api, streams):
    """`cellhubd users revoke` while the server runs: rex's open streams end UNAUTHENTICATED."""
    olga, rex = api.olga, api.rex
    project = olga.create_project(unique("rex"))
    olga.share(project.id, rex, VIEWER)
    own = rex.create_project(unique("rex-own"))
    o = streams.project(olga, project.id)
    wait_caught_up(o)
    rp = streams.project(rex, project.id, label="rex:project")
    rown = streams.project(rex, own.id, label="rex:own-project")
    rd = streams.dashboard(rex)
    ra = streams.activity(rex)
    for w in (rp, rown):
        wait_caught_up(w)
    rd.wait_for("SNAPSHOT")
    ra.wait_for("CAUGHT_UP")
    o.wait_for(lambda e: kind_of(e) == "PRESENCE" and e.presence.user.user_name == "rex")

    revoke_user(api.data_dir, "rex")
    revoked_at = time.monotonic()
    for w in (rp, rown, rd, ra):
        w.expect_end(Code.UNAUTHENTICATED, timeout=5, what="after users revoke")
        assert w.ended_at - revoked_at <= END_WITHIN, f"{w.label} ended {w.ended_at - revoked_at:.3f}s after `users revoke`"
    assert not o.ended, "olga's stream goes on"
    left = o.wait_for(lambda e: kind_of(e) == "PRESENCE" and e.presence.change == E.PRESENCE_CHANGE_LEFT)
    assert left.presence.user.user_name == "rex"
    again = streams.dashboard(rex, label="rex:dashboard-again")
    again.expect_end(Code.UNAUTHENTICATED)


# ---------------------------------------------------------------------------------------------
# validation


def test_invalid_requests(api, streams):
    olga = api.olga
    project = olga.create_project(unique("valid"))
    bad = {
        "bad project id": ("WatchProject", SS.WatchProjectRequest(project_id="not-an-id")),
        "empty project id": ("WatchProject", SS.WatchProjectRequest()),
        "min_update_interval_ms 60001": ("WatchProject", SS.WatchProjectRequest(project_id=project.id, min_update_interval_ms=60001)),
        "heartbeat 301 (project)": ("WatchProject", SS.WatchProjectRequest(project_id=project.id, heartbeat_interval_s=301)),
        "dashboard min_update_interval_ms 60001": ("WatchDashboard", SS.WatchDashboardRequest(min_update_interval_ms=60001)),
        "heartbeat 301 (dashboard)": ("WatchDashboard", SS.WatchDashboardRequest(heartbeat_interval_s=301)),
        "unknown time zone": ("WatchDashboard", SS.WatchDashboardRequest(time_zone="Mars/Olympus_Mons")),
        "backlog_size 101": ("WatchActivity", SS.WatchActivityRequest(backlog_size=101)),
        "heartbeat 301 (activity)": ("WatchActivity", SS.WatchActivityRequest(heartbeat_interval_s=301)),
        "bad activity project id": ("WatchActivity", SS.WatchActivityRequest(project_id="nope")),
    }
    watchers = {what: streams.open(olga, method, request, label=what) for what, (method, request) in bad.items()}
    for what, w in watchers.items():
        details = w.expect_end(Code.INVALID_ARGUMENT)
        assert w.events == [], w.dump()
        assert "sqlite" not in details.lower() and ".swift" not in details
    zone = watchers["unknown time zone"].details
    assert "zone" in zone.lower(), f"the message should name the time zone: {zone!r}"

    # The bounds themselves are accepted.
    good = [
        streams.project(olga, project.id, min_update_interval_ms=60000, heartbeat_interval_s=300),
        streams.dashboard(olga, min_update_interval_ms=60000, heartbeat_interval_s=300, time_zone="Asia/Kolkata"),
        streams.activity(olga, backlog_size=100, heartbeat_interval_s=300),
    ]
    wait_caught_up(good[0])
    good[1].wait_for("SNAPSHOT")
    good[2].wait_for("CAUGHT_UP")
    for w in good:
        assert not w.ended, w.dump()
    # Activity filtered on a project the caller cannot see.
    hidden = streams.activity(api.sam, project_id=project.id, label="sam:activity-hidden")
    hidden.expect_end(Code.NOT_FOUND)
    unknown = streams.activity(olga, project_id=random_id(), label="olga:activity-unknown")
    unknown.expect_end(Code.NOT_FOUND)


# ---------------------------------------------------------------------------------------------
# WatchDashboard

METRIC_FIELDS = [f.name for f in stats_pb2.DashboardMetrics.DESCRIPTOR.fields if f.name != "revision"]


def metric_diff(a, b) -> set[str]:
    return {name for name in METRIC_FIELDS if getattr(a, name) != getattr(b, name)}


def check_changed_fields(w) -> None:
    """Every update: changed_fields = the fields differing from the previous event, never
    'revision', never empty; metrics.revision = envelope revision."""
    previous = None
    for e in w.events:
        if kind_of(e) == "SNAPSHOT":
            previous = e.snapshot.metrics
        elif kind_of(e) == "DASHBOARD_METRICS_UPDATE":
            mu = e.metrics_update
            fields = list(mu.changed_fields)
            assert fields and "revision" not in fields and len(set(fields)) == len(fields), f"{w.label}: changed_fields {fields}\n{w.dump()}"
            assert set(fields) == metric_diff(previous, mu.metrics), (
                f"{w.label}: changed_fields {sorted(fields)}, the metrics that differ {sorted(metric_diff(previous, mu.metrics))}"
                f"\n{w.dump()}")
            assert mu.metrics.revision == e.revision, f"{w.label}: metrics.revision {mu.metrics.revision} != {e.revision}"
            previous = mu.metrics


@pytest.mark.parametrize("zone", ["", "Asia/Kolkata", "America/Los_Angeles"])
def test_dashboard_snapshot_equals_get(api, streams, zone):
    dora = api.dora
    project = dora.create_project(unique("dash-snap"))
    w = streams.dashboard(dora, time_zone=zone, min_update_interval_ms=0)
    snapshot = w.wait_for("SNAPSHOT")
    assert w.events[0] is snapshot, w.dump()
    reply = ok(dora.stats.GetDashboardMetrics, SS.GetDashboardMetricsRequest(time_zone=zone))
    assert not snapshot.snapshot.resync
    assert snapshot.snapshot.metrics == reply.metrics, (
        f"snapshot metrics differ from GetDashboardMetrics({zone!r}):\n  stream: {snapshot.snapshot.metrics}\n  get: {reply.metrics}")
    assert snapshot.epoch == reply.epoch
    assert snapshot.snapshot.metrics.time_zone == (zone or "UTC")
    assert snapshot.revision == snapshot.snapshot.metrics.revision, describe(snapshot)
    assert snapshot.project_id == "", "SNAPSHOT names no project"
    dora.upload(project.id, upload_of("image/png", 1))
    update = w.wait_for("DASHBOARD_METRICS_UPDATE")
    now = ok(dora.stats.GetDashboardMetrics, SS.GetDashboardMetricsRequest(time_zone=zone)).metrics
    assert update.metrics_update.metrics == now, f"update differs from GetDashboardMetrics({zone!r})"
    check_changed_fields(w)
    check_envelopes(w, epoch=reply.epoch)


def test_dashboard_updates_reach_every_affected_user(api, streams):
    olga, eddie, vera, sam = api.olga, api.eddie, api.vera, api.sam
    project = shared_project(api, "dash")
    ws = {u.name: streams.dashboard(u, min_update_interval_ms=0) for u in (olga, eddie, vera, sam)}
    for w in ws.values():
        w.wait_for("SNAPSHOT")

    olga.upload(project.id, upload_of("image/png", 1), upload_of("image/png", 2))  # the owner uploads
    for name in ("olga", "eddie", "vera"):
        event = ws[name].wait_for("DASHBOARD_METRICS_UPDATE", what=f"{name}'s dashboard after olga's upload")
        assert (event.actor_user_name, event.project_id) == ("olga", project.id), describe(event)
        assert {"total_images", "storage_bytes", "images_uploaded_today"} <= set(event.metrics_update.changed_fields), describe(event)
    for name, user in (("olga", olga), ("eddie", eddie), ("vera", vera)):
        last = ws[name].events_of("DASHBOARD_METRICS_UPDATE")[-1]
        assert last.metrics_update.metrics == user.dashboard(), f"{name}: streamed metrics differ from GetDashboardMetrics"

    image = eddie.upload(project.id, upload_of("image/png", 3)).images[0]  # the editor uploads: the owner's moves
    owner_update = ws["olga"].wait_for(lambda e: kind_of(e) == "DASHBOARD_METRICS_UPDATE" and e.actor_user_name == "eddie")
    assert owner_update.metrics_update.metrics.total_images == olga.dashboard().total_images
    ws["vera"].wait_for(lambda e: kind_of(e) == "DASHBOARD_METRICS_UPDATE" and e.actor_user_name == "eddie")

    # sam sees none of it (sentinel: sam's own project moves his dashboard).
    own = sam.create_project(unique("sam-own"))
    mine = ws["sam"].wait_for("DASHBOARD_METRICS_UPDATE")
    assert len(ws["sam"].events_of("DASHBOARD_METRICS_UPDATE")) == 1, ws["sam"].dump()
    assert "projects_owned" in mine.metrics_update.changed_fields, describe(mine)
    assert mine.metrics_update.metrics == sam.dashboard()

    # Queue and delete move olga's queue and image figures.
    ok(olga.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(project_id=project.id, images=S.ImageIdList(image_ids=[image.id])))
    q = ws["olga"].wait_for(lambda e: kind_of(e) == "DASHBOARD_METRICS_UPDATE" and e.metrics_update.metrics.queued_images == 1)
    assert {"queued_images", "queue_length", "queue_position"} <= set(q.metrics_update.changed_fields), describe(q)
    ok(olga.seg.CancelSegmentation, S.CancelSegmentationRequest(project_id=project.id))
    ws["olga"].wait_for(lambda e: kind_of(e) == "DASHBOARD_METRICS_UPDATE" and e.revision > q.revision
                        and e.metrics_update.metrics.queued_images == 0)
    for w in ws.values():
        check_changed_fields(w)
        check_envelopes(w)
    assert mine.project_id == own.id, describe(mine)


def test_dashboard_follows_shares(api, streams):
    olga, sam = api.olga, api.sam
    project = olga.create_project(unique("dash-share"))
    olga.upload(project.id, upload_of("image/png", 7))
    w = streams.dashboard(sam, min_update_interval_ms=0)
    before = w.wait_for("SNAPSHOT").snapshot.metrics
    olga.share(project.id, sam, VIEWER)
    shared = w.wait_for("DASHBOARD_METRICS_UPDATE").metrics_update
    assert shared.metrics.projects_shared_with_me == before.projects_shared_with_me + 1
    assert shared.metrics.total_images == before.total_images + 1
    ok(olga.projects.RevokeShare, P.RevokeShareRequest(project_id=project.id, user_name="sam"))
    w.wait_count("DASHBOARD_METRICS_UPDATE", 2)
    after_revoke = w.events_of("DASHBOARD_METRICS_UPDATE")[1].metrics_update.metrics
    assert (after_revoke.projects_shared_with_me, after_revoke.total_images) == (before.projects_shared_with_me, before.total_images)
    check_changed_fields(w)


# ---------------------------------------------------------------------------------------------
# WatchActivity


def feed(client, project_id: str = "", page_size: int = 500):
    return list(ok(client.stats.ListActivity, SS.ListActivityRequest(project_id=project_id, page_size=page_size)).entries)


def test_activity_backlog_then_live(api, streams):
    olga = api.olga
    project = olga.create_project(unique("feed"))
    for i in range(11):
        olga.upload(project.id, upload_of("image/png", 200 + i))
    listed = feed(olga, project.id)
    assert len(listed) == 12

    default = streams.activity(olga, project_id=project.id, label="olga:activity-default")
    backlog, caught_up = wait_activity_caught_up(default)
    assert backlog == list(reversed(listed[:10])), (
        "the 10 newest entries, oldest first, as ListActivity returns them\n" + default.dump())
    assert caught_up.caught_up.replayed_count == 10 and not caught_up.caught_up.position_lost, describe(caught_up)
    assert caught_up.revision >= backlog[-1].revision and caught_up.project_id == ""

    everything = streams.activity(olga, project_id=project.id, backlog_size=100, label="olga:activity-100")
    backlog100, cu100 = wait_activity_caught_up(everything)
    assert backlog100 == list(reversed(listed)) and cu100.caught_up.replayed_count == 12, everything.dump()

    live_only = streams.activity(olga, project_id=project.id, backlog_size=0, label="olga:activity-0")
    none, cu0 = wait_activity_caught_up(live_only)
    assert none == [] and cu0.caught_up.replayed_count == 0, live_only.dump()

    unfiltered = streams.activity(olga, backlog_size=3, label="olga:activity-all")
    backlog3, _ = wait_activity_caught_up(unfiltered)
    assert backlog3 == list(reversed(feed(olga)[:3])), unfiltered.dump()

    # Live: one entry per operation, as ListActivity returns it; the filter holds.
    other = olga.create_project(unique("feed-other"))
    olga.upload(project.id, *[upload_of("image/png", 300 + i, name=f"live-{i}.png") for i in range(7)])
    newest = feed(olga, project.id)[0]
    for w in (default, everything, live_only, unfiltered):
        entry = w.wait_for(lambda e: e.revision == newest.revision, what="the live upload entry")
        assert entry == newest, f"{w.label}: live entry differs from ListActivity:\n{entry}\nvs\n{newest}"
        ua = entry.user_activity
        assert (ua.activity_type, ua.image_count, list(ua.sample_image_names)) == (
            E.ACTIVITY_TYPE_IMAGES_UPLOADED, 7, [f"live-{i}.png" for i in range(5)]), describe(entry)
    created = unfiltered.wait_for(lambda e: e.project_id == other.id)
    assert created.user_activity.activity_type == E.ACTIVITY_TYPE_PROJECT_CREATED
    olga.upload(project.id, upload_of("image/png", 400))  # sentinel for the filtered streams
    sentinel = feed(olga, project.id)[0]
    for w in (default, everything, live_only):
        w.wait_for(lambda e: e.revision == sentinel.revision, what="the sentinel upload entry")
        assert not [e for e in w.events if e.project_id == other.id], f"{w.label}: filtered stream got another project\n{w.dump()}"
        live = w.events[w.index_of(w.events_of("CAUGHT_UP")[0]) + 1:]
        assert [kind_of(e) for e in live] == ["USER_ACTIVITY_UPDATE"] * 2, f"one entry per operation\n{w.dump()}"
    for w in (default, everything, live_only, unfiltered):
        check_envelopes(w)


def test_activity_reaches_each_member(api, streams):
    olga, eddie, vera, sam = api.olga, api.eddie, api.vera, api.sam
    project = shared_project(api, "feed-members")
    ws = {u.name: streams.activity(u, backlog_size=0) for u in (olga, eddie, vera, sam)}
    for w in ws.values():
        wait_activity_caught_up(w)

    eddie.upload(project.id, *[upload_of("image/png", 500 + i) for i in range(3)])
    expected = {"eddie": "USER_ACTIVITY_UPDATE", "olga": "SHARED_PROJECT_UPDATE", "vera": "SHARED_PROJECT_UPDATE"}
    for name, kind in expected.items():
        entry = ws[name].wait_for(kind)
        assert entry.actor_user_name == "eddie" and entry.project_id == project.id, describe(entry)
        assert entry == feed(getattr(api, name), project.id)[0], f"{name}: live entry differs from ListActivity"
    spu = ws["olga"].events_of("SHARED_PROJECT_UPDATE")[0].shared_project_update
    assert (spu.update_type, spu.image_count, spu.owner.user_name, spu.stats.image_count) == (
        E.ACTIVITY_TYPE_IMAGES_UPLOADED, 3, "olga", 3), spu

    olga.share(project.id, sam, VIEWER)
    welcome = ws["sam"].wait_for("PROJECT_SHARED_WITH_YOU")
    psw = welcome.project_shared_with_you
    assert (psw.project_name, psw.owner.user_name, psw.role, psw.previous_role, psw.stats.image_count) == (
        project.name, "olga", VIEWER, NO_ROLE, 3), describe(welcome)
    own = ws["olga"].wait_for(lambda e: kind_of(e) == "USER_ACTIVITY_UPDATE"
                              and e.user_activity.activity_type == E.ACTIVITY_TYPE_PROJECT_SHARED)
    assert (own.user_activity.shared_with.user_name, own.user_activity.shared_role) == ("sam", VIEWER), describe(own)

    olga.share(project.id, sam, EDITOR)
    role = ws["sam"].wait_for(lambda e: kind_of(e) == "PROJECT_SHARED_WITH_YOU" and e.revision > welcome.revision)
    assert (role.project_shared_with_you.role, role.project_shared_with_you.previous_role) == (EDITOR, VIEWER)

    ok(olga.projects.RevokeShare, P.RevokeShareRequest(project_id=project.id, user_name="sam"))
    gone = ws["sam"].wait_for("SHARE_REVOKED")
    sr = gone.share_revoked
    assert (sr.project_name, sr.owner.user_name, sr.previous_role, sr.left) == (project.name, "olga", EDITOR, False), describe(gone)
    assert not ws["sam"].ended, "the activity stream outlives the share"

    ok(vera.projects.RevokeShare, P.RevokeShareRequest(project_id=project.id, leave=True))
    left = ws["vera"].wait_for("SHARE_REVOKED")
    assert (left.share_revoked.left, left.share_revoked.previous_role) == (True, VIEWER), describe(left)
    for name, w in ws.items():
        assert all(e == x for e, x in zip(reversed([e for e in w.events if kind_of(e) not in ("CAUGHT_UP", "PROGRESS")]),
                                          feed(getattr(api, name)))), f"{name}: stream entries are ListActivity's\n{w.dump()}"
        check_envelopes(w)


# ---------------------------------------------------------------------------------------------
# segmentation results (worker RPCs)


def worker_client(api):
    name = unique("worker")
    token = add_user(api.data_dir, name, "--worker")
    return api.client(name, token)


def run_one_job(api, worker, project_id: str, image_id: str, finish):
    """Enqueues the image (top priority), claims it as the worker and calls `finish(assignment)`."""
    enq = ok(api.olga.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(
        project_id=project_id, images=S.ImageIdList(image_ids=[image_id]), priority=10))
    claim = worker.seg.ClaimJobs(S.ClaimJobsRequest(worker_name=worker.name, max_concurrent_jobs=1), timeout=20)
    try:
        for message in claim:
            if message.WhichOneof("item") == "assignment":
                assignment = message.assignment
                assert assignment.job_id == enq.jobs[0].job_id and assignment.image_id == image_id, assignment
                return enq, finish(assignment)
        raise AssertionError(f"ClaimJobs ended without an assignment: {claim.code()} {claim.details()}")
    finally:
        claim.cancel()


def test_segmentation_completed(api, streams):
    olga = api.olga
    project = shared_project(api, "segmented", editor=False)
    image = olga.upload(project.id, upload_of("image/png", 1)).images[0]
    w = streams.project(olga, project.id, min_update_interval_ms=0)
    v = streams.project(api.vera, project.id, min_update_interval_ms=0)
    a = streams.activity(olga, backlog_size=0)
    for s in (w, v):
        wait_caught_up(s)
    wait_activity_caught_up(a)
    worker = worker_client(api)
    square = [S.Point(x=0, y=0), S.Point(x=1, y=0), S.Point(x=1, y=1)]
    result = S.SegmentationResult(cell_count=2, polygons=[S.Polygon(points=square), S.Polygon(points=square)])
    run_one_job(api, worker, project.id, image.id, lambda job: ok(worker.seg.CompleteJob, S.CompleteJobRequest(
        job_id=job.job_id, lease_id=job.lease_id, result=result, processing_time_ms=250)))

    for s in (w, v):
        done = s.wait_for("SEGMENTATION_COMPLETED")
        sc = done.segmentation_completed
        assert (list(sc.images.image_ids), sc.images.total_count, sc.completed_count, sc.total_cell_count) == (
            [image.id], 1, 1, 2), describe(done)
        assert sc.average_processing_time_ms == 250.0
        assert not done.actor_user_id, "worker results are system changes: no actor"
        update = stats_update_for(s, done.revision)
        assert ("SEGMENTATION_COMPLETED", 1, 1) in ops(update.stats_update), ops(update.stats_update)
        assert (update.stats_update.stats.segmented_count, update.stats_update.stats.progress) == (1, 1.0)
        assert_exact_stats(olga, update, "after CompleteJob")
        started = [o for u in s.events_of("PROJECT_STATS_UPDATE") for o in ops(u.stats_update) if o[0] == "SEGMENTATION_STARTED"]
        assert started, f"the claim moves the stats (SEGMENTATION_STARTED)\n{s.dump()}"
        check_envelopes(s, project_id=project.id)
    entry = a.wait_for(lambda e: kind_of(e) == "USER_ACTIVITY_UPDATE"
                       and e.user_activity.activity_type == E.ACTIVITY_TYPE_SEGMENTATION_COMPLETED)
    assert (entry.user_activity.image_count, entry.user_activity.failed_count) == (1, 0), describe(entry)


def test_segmentation_failed(api, streams):
    olga = api.olga
    project = olga.create_project(unique("failed"))
    image = olga.upload(project.id, upload_of("image/png", 2)).images[0]
    w = streams.project(olga, project.id, min_update_interval_ms=0)
    wait_caught_up(w)
    worker = worker_client(api)
    run_one_job(api, worker, project.id, image.id, lambda job: ok(worker.seg.FailJob, S.FailJobRequest(
        job_id=job.job_id, lease_id=job.lease_id, reason="out of focus", retryable=False)))
    failed = w.wait_for("SEGMENTATION_FAILED")
    sf = failed.segmentation_failed
    assert (list(sf.images.image_ids), sf.failed_count, sf.last_reason) == ([image.id], 1, "out of focus"), describe(failed)
    assert not failed.actor_user_id
    update = stats_update_for(w, failed.revision)
    assert ("SEGMENTATION_FAILED", 1, 1) in ops(update.stats_update), ops(update.stats_update)
    assert update.stats_update.stats.failed_count == 1
    assert_exact_stats(olga, update, "after FailJob")
    check_envelopes(w, project_id=project.id)
