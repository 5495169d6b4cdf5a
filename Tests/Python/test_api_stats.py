"""CellHub statistics end to end (stats.proto, stats_service.proto, segmentation.proto):
GetProjectStats and GetDashboardMetrics follow uploads, deletes, EnqueueSegmentation and
CancelSegmentation exactly; GetQueueStats shows the queue.

alice and bob are used only by the dashboard test (their metrics are checked exactly); the
other tests use dave (owner), erin (member) and carol (stranger)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

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
    segmentation_pb2,
    start_api,
    stats_service_pb2,
    unique,
    upload_of,
)

pytestmark = requires_cellhubd

S = segmentation_pb2
SS = stats_service_pb2
EDITOR, VIEWER = common_pb2.ROLE_EDITOR, common_pb2.ROLE_VIEWER
QUEUED = common_pb2.SEGMENTATION_STATUS_QUEUED
NO_SEG = common_pb2.SEGMENTATION_STATUS_NO_SEGMENTATION


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = start_api(tmp_path_factory, users=("alice", "bob", "carol", "dave", "erin"))
    yield api
    api.close()


def counts(stats) -> dict:
    return {
        "image_count": stats.image_count, "no_segmentation": stats.no_segmentation_count, "queued": stats.queued_count,
        "processing": stats.processing_count, "segmented": stats.segmented_count, "failed": stats.failed_count,
        "total_bytes": stats.total_bytes, "progress": stats.progress,
    }


def expect_counts(stats, what, **expected):
    full = {"image_count": 0, "no_segmentation": 0, "queued": 0, "processing": 0, "segmented": 0, "failed": 0,
            "total_bytes": 0, "progress": 0.0}
    full.update(expected)
    assert counts(stats) == full, f"{what}: stats {counts(stats)}, want {full}"


def local_start_of_day_ms(zone: str, now: dt.datetime | None = None) -> int:
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(ZoneInfo(zone))
    return int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)


def local_start_of_week_ms(zone: str) -> int:
    now = dt.datetime.now(dt.timezone.utc).astimezone(ZoneInfo(zone))
    monday = (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(monday.timestamp() * 1000)


# ---------------------------------------------------------------------------------------------
# project stats


def test_project_stats_follow_uploads_and_deletes(api):
    dave = api.dave
    project = dave.create_project(unique("stats"))
    reply = ok(dave.stats.GetProjectStats, SS.GetProjectStatsRequest(project_id=project.id))
    assert reply.epoch, "GetProjectStats must name the event-log epoch"
    s0 = reply.stats
    assert s0.project_id == project.id
    expect_counts(s0, "fresh project")
    assert s0.last_image_added_at_unix_ms == 0 and s0.last_segmentation_completed_at_unix_ms == 0
    assert s0.updated_at_unix_ms > 0, "updated_at is the creation time for a fresh project"

    images = dave.upload(project.id, upload_of("image/png", 1), upload_of("image/jpeg", 2),
                         upload_of("image/x-portable-graymap", 3)).images
    sizes = [i.size_bytes for i in images]
    s1 = dave.project_stats(project.id)
    expect_counts(s1, "after uploading 3", image_count=3, no_segmentation=3, total_bytes=sum(sizes))
    assert s1.last_image_added_at_unix_ms == max(i.uploaded_at_unix_ms for i in images), (
        s1.last_image_added_at_unix_ms, [i.uploaded_at_unix_ms for i in images])
    assert s1.revision > s0.revision, f"revision did not increase on upload ({s0.revision} -> {s1.revision})"
    assert s1.updated_at_unix_ms >= s0.updated_at_unix_ms

    embedded = ok(dave.projects.GetProject, projects_pb2.GetProjectRequest(project_id=project.id)).project.stats
    assert counts(embedded) == counts(s1) and embedded.revision == s1.revision, "GetProject's stats differ from GetProjectStats"

    ok(dave.images.DeleteImage, images_pb2.DeleteImageRequest(image_id=images[0].id))
    s2 = dave.project_stats(project.id)
    expect_counts(s2, "after deleting 1", image_count=2, no_segmentation=2, total_bytes=sizes[1] + sizes[2])
    assert s2.revision > s1.revision
    assert s2.last_image_added_at_unix_ms == s1.last_image_added_at_unix_ms, "last_image_added_at is not reset by a delete"

    ok(dave.images.DeleteImages, images_pb2.DeleteImagesRequest(project_id=project.id, image_ids=[images[1].id, images[2].id]))
    s3 = dave.project_stats(project.id)
    expect_counts(s3, "after deleting all")
    assert s3.revision > s2.revision
    # A replayed upload changes nothing.
    key = unique("k")
    dave.upload(project.id, upload_of("image/png", 4), key=key)
    s4 = dave.project_stats(project.id)
    dave.upload(project.id, upload_of("image/png", 4), key=key)
    s5 = dave.project_stats(project.id)
    assert counts(s5) == counts(s4) and s4.image_count == 1, (counts(s4), counts(s5))
    assert s5.revision == s4.revision, "a replayed upload must not move the stats revision"


def test_project_stats_access(api):
    project = api.dave.create_project(unique("stats-acl"))
    api.dave.upload(project.id, upload_of("image/png", 1))
    api.dave.share(project.id, api.erin, VIEWER)
    viewer = api.erin.project_stats(project.id)
    assert viewer.image_count == 1
    expect_error(Code.NOT_FOUND, api.carol.stats.GetProjectStats, SS.GetProjectStatsRequest(project_id=project.id), "stranger")
    expect_error(Code.NOT_FOUND, api.dave.stats.GetProjectStats, SS.GetProjectStatsRequest(project_id=random_id()), "unknown id")
    expect_error(Code.INVALID_ARGUMENT, api.dave.stats.GetProjectStats, SS.GetProjectStatsRequest(project_id="nope"), "bad id")
    expect_error(Code.INVALID_ARGUMENT, api.dave.stats.GetProjectStats, SS.GetProjectStatsRequest(), "empty id")


def test_project_stats_answered_from_memory_follow_access_changes(api):
    """Repeated reads are answered on the event loop from cached roles and counters; every
    write shows at once, and a revoked share or a deleted project is refused on the next call."""
    project = api.dave.create_project(unique("stats-cached"))
    api.dave.share(project.id, api.erin, VIEWER)
    for expected in range(1, 4):
        api.dave.upload(project.id, upload_of("image/png", 100 + expected))
        assert api.erin.project_stats(project.id).image_count == expected
        assert api.erin.project_stats(project.id).image_count == expected
    ok(api.dave.projects.RevokeShare, projects_pb2.RevokeShareRequest(project_id=project.id, user_name="erin"))
    expect_error(Code.NOT_FOUND, api.erin.stats.GetProjectStats, SS.GetProjectStatsRequest(project_id=project.id), "revoked")
    api.dave.share(project.id, api.erin, VIEWER)
    assert api.erin.project_stats(project.id).image_count == 3
    assert api.dave.project_stats(project.id).image_count == 3
    ok(api.dave.projects.DeleteProject, projects_pb2.DeleteProjectRequest(project_id=project.id))
    for client in (api.dave, api.erin):
        expect_error(Code.NOT_FOUND, client.stats.GetProjectStats, SS.GetProjectStatsRequest(project_id=project.id), "deleted")


# ---------------------------------------------------------------------------------------------
# dashboard


def test_dashboard_owned_vs_shared(api):
    alice, bob = api.alice, api.bob
    empty = alice.dashboard()
    assert (empty.projects_owned, empty.total_projects, empty.total_images, empty.storage_bytes) == (0, 0, 0, 0), empty
    assert (empty.average_image_bytes, empty.efficiency_percent) == (0.0, 0.0)
    assert empty.time_zone == "UTC", f"empty time_zone should echo 'UTC', got {empty.time_zone!r}"

    a1 = alice.create_project(unique("dash-a1"))
    a2 = alice.create_project(unique("dash-a2"))
    b1 = bob.create_project(unique("dash-b1"))
    alice.share(a1.id, bob, VIEWER)
    a_images = list(alice.upload(a1.id, upload_of("image/png", 1), upload_of("image/tiff", 2)).images)
    a_images += alice.upload(a2.id, upload_of("image/jpeg", 3)).images
    b_images = list(bob.upload(b1.id, *[upload_of("image/x-portable-graymap", i) for i in range(4)]).images)

    a_bytes = sum(i.size_bytes for i in a_images)
    b_bytes = sum(i.size_bytes for i in b_images)
    a1_bytes = sum(i.size_bytes for i in a_images[:2])

    m = alice.dashboard()
    got = (m.projects_owned, m.projects_shared_with_me, m.total_projects, m.total_images, m.storage_bytes)
    assert got == (2, 0, 2, 3, a_bytes), f"alice: owned/shared/total/images/bytes {got}, want {(2, 0, 2, 3, a_bytes)}"
    assert m.average_image_bytes == pytest.approx(a_bytes / 3)
    assert (m.segmented_images, m.queued_images, m.processing_images, m.failed_images) == (0, 0, 0, 0)
    assert m.efficiency_percent == 0.0
    assert m.images_uploaded_today == 3, f"alice images_uploaded_today (UTC) = {m.images_uploaded_today}"
    assert m.projects_created_this_week == 2, f"alice projects_created_this_week = {m.projects_created_this_week}"
    assert m.revision > empty.revision

    n = bob.dashboard()
    got = (n.projects_owned, n.projects_shared_with_me, n.total_projects, n.total_images, n.storage_bytes)
    want = (1, 1, 2, 4 + 2, b_bytes + a1_bytes)
    assert got == want, f"bob: owned/shared/total/images/bytes {got}, want {want}"
    assert n.images_uploaded_today == 6
    assert n.projects_created_this_week == 2

    # Revoking the share moves bob's numbers back.
    ok(alice.projects.RevokeShare, projects_pb2.RevokeShareRequest(project_id=a1.id, user_name="bob"))
    n2 = bob.dashboard()
    assert (n2.projects_shared_with_me, n2.total_projects, n2.total_images, n2.storage_bytes) == (0, 1, 4, b_bytes), n2
    # Deleting an image moves alice's.
    ok(alice.images.DeleteImage, images_pb2.DeleteImageRequest(image_id=a_images[0].id))
    m2 = alice.dashboard()
    assert (m2.total_images, m2.storage_bytes) == (2, a_bytes - a_images[0].size_bytes), m2


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/Los_Angeles", "Pacific/Kiritimati"])
def test_dashboard_today_in_time_zone(api, zone):
    carol = api.carol  # carol's own projects only
    project = carol.create_project(unique(f"tz-{zone.replace('/', '-')}"))
    images = carol.upload(project.id, upload_of("image/png", 1), upload_of("image/png", 2)).images
    reply = ok(carol.stats.GetDashboardMetrics, SS.GetDashboardMetricsRequest(time_zone=zone))
    m = reply.metrics
    assert reply.epoch, "GetDashboardMetrics must name the event-log epoch"
    assert m.time_zone == zone, f"time_zone echo {m.time_zone!r}, want {zone!r}"
    # Every image carol can see, counted by the local day of its upload.
    listed = []
    for p in ok(carol.projects.ListProjects, projects_pb2.ListProjectsRequest(page_size=500)).projects:
        listed += ok(carol.images.ListImages, images_pb2.ListImagesRequest(project_id=p.id, page_size=500)).images
    midnight = local_start_of_day_ms(zone)
    expected = sum(1 for i in listed if i.uploaded_at_unix_ms >= midnight)
    assert expected >= len(images)
    assert m.images_uploaded_today == expected, f"{zone}: images_uploaded_today {m.images_uploaded_today}, want {expected}"
    assert m.images_uploaded_today > 0
    week = local_start_of_week_ms(zone)
    projects = ok(carol.projects.ListProjects, projects_pb2.ListProjectsRequest(page_size=500)).projects
    want_week = sum(1 for p in projects if p.created_at_unix_ms >= week)
    assert m.projects_created_this_week == want_week, f"{zone}: projects_created_this_week {m.projects_created_this_week}, want {want_week}"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Not a zone", "UTC+99", "../../etc/passwd", "Asia/Kolkata\n"],
                         ids=["mars", "words", "offset", "path", "newline"])
def test_dashboard_unknown_time_zone_is_invalid(api, zone):
    err = expect_error(Code.INVALID_ARGUMENT, api.carol.stats.GetDashboardMetrics,
                       SS.GetDashboardMetricsRequest(time_zone=zone), f"time_zone {zone!r}")
    assert "zone" in err.details().lower(), f"message should name the time zone: {err.details()!r}"


# ---------------------------------------------------------------------------------------------
# segmentation queue


@pytest.fixture(autouse=True)
def empty_queue_afterwards(api):
    """Queue positions are service-wide: whatever a (failed) test left queued is cancelled."""
    yield
    for user in (api.dave, api.erin, api.carol, api.alice, api.bob):
        try:
            projects = user.projects.ListProjects(projects_pb2.ListProjectsRequest(
                page_size=500, filter=projects_pb2.PROJECT_FILTER_OWNED)).projects
            for p in projects:
                if p.stats.queued_count or p.stats.processing_count:
                    user.seg.CancelSegmentation(S.CancelSegmentationRequest(project_id=p.id))
        except Exception:  # cleanup only; the tests report the failures
            pass


def test_enqueue_and_cancel_move_the_stats(api):
    dave = api.dave
    project = dave.create_project(unique("queue"))
    images = dave.upload(project.id, *[upload_of("image/png", i) for i in range(3)]).images
    total = sum(i.size_bytes for i in images)
    before = dave.dashboard()

    enq = ok(dave.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(project_id=project.id, unsegmented=S.UnsegmentedImages()))
    assert enq.enqueued_count == 3 and len(enq.jobs) == 3 and enq.skipped_count == 0, enq
    assert enq.batch_id and enq.model, f"batch_id {enq.batch_id!r} model {enq.model!r}"
    assert enq.first_queue_position >= 1
    assert sorted(j.image_id for j in enq.jobs) == sorted(i.id for i in images), "one job per unsegmented image"

    expect_counts(dave.project_stats(project.id), "after enqueue", image_count=3, queued=3, total_bytes=total)
    listed = ok(dave.images.ListImages, images_pb2.ListImagesRequest(project_id=project.id, statuses=[QUEUED]))
    assert listed.total_size == 3

    q = ok(dave.seg.GetQueueStats, S.GetQueueStatsRequest(project_id=project.id))
    assert q.scope_queued_count == 3 and q.scope_processing_count == 0, q
    assert q.queued_count >= 3 and q.processing_count >= 0
    assert q.position == enq.first_queue_position, f"position {q.position} vs first_queue_position {enq.first_queue_position}"
    assert q.connected_workers == 0
    assert not q.estimate_available and q.estimated_wait_ms == 0, "no worker is connected: no estimate"

    m = dave.dashboard()
    assert m.queued_images == before.queued_images + 3, (before.queued_images, m.queued_images)
    assert m.queue_length >= 3 and m.queue_position == q.position, (m.queue_length, m.queue_position, q.position)

    again = ok(dave.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(project_id=project.id, unsegmented=S.UnsegmentedImages()))
    assert again.enqueued_count == 0 and again.batch_id == "" and again.first_queue_position == 0, (
        f"queued images must not be queued again: {again}")
    explicit = ok(dave.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(
        project_id=project.id, images=S.ImageIdList(image_ids=[images[0].id])))
    assert explicit.enqueued_count == 0 and explicit.skipped_count == 1, explicit

    cancelled = ok(dave.seg.CancelSegmentation, S.CancelSegmentationRequest(project_id=project.id))
    assert cancelled.cancelled_count == 3 and cancelled.cancelled_processing_count == 0, cancelled
    assert cancelled.images.total_count == 3 and set(cancelled.images.image_ids) == {i.id for i in images}
    expect_counts(dave.project_stats(project.id), "after cancel", image_count=3, no_segmentation=3, total_bytes=total)
    q2 = ok(dave.seg.GetQueueStats, S.GetQueueStatsRequest(project_id=project.id))
    assert (q2.scope_queued_count, q2.position) == (0, 0), q2
    assert dave.dashboard().queued_images == before.queued_images
    image = ok(dave.images.GetImage, images_pb2.GetImageRequest(image_id=images[0].id)).image
    assert image.status == NO_SEG and image.job_id, f"a cancelled image is NO_SEGMENTATION and keeps its last job_id: {image}"

    nothing = ok(dave.seg.CancelSegmentation, S.CancelSegmentationRequest(project_id=project.id))
    assert nothing.cancelled_count == 0
    expect_error(Code.FAILED_PRECONDITION, dave.seg.CancelSegmentation,
                 S.CancelSegmentationRequest(jobs=S.JobIdList(job_ids=[enq.jobs[0].job_id])), "cancel a cancelled job")


def test_get_job_follows_enqueue_and_cancel(api):
    dave = api.dave
    project = dave.create_project(unique("job"))
    image = dave.upload(project.id, upload_of("image/png", 1)).images[0]
    enq = ok(dave.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(
        project_id=project.id, images=S.ImageIdList(image_ids=[image.id]), priority=3))
    job_id = enq.jobs[0].job_id
    job = ok(dave.seg.GetJob, S.GetJobRequest(job_id=job_id)).job
    assert (job.id, job.image_id, job.project_id, job.batch_id, job.status) == (
        job_id, image.id, project.id, enq.batch_id, S.JOB_STATUS_QUEUED), job
    assert job.priority == 3 and job.model == enq.model and job.attempts == 0 and job.max_attempts >= 1, job
    assert job.requested_by.user_name == "dave" and job.enqueued_at_unix_ms > 0 and job.queue_position >= 1, job
    ok(dave.seg.CancelSegmentation, S.CancelSegmentationRequest(jobs=S.JobIdList(job_ids=[job_id])))
    job = ok(dave.seg.GetJob, S.GetJobRequest(job_id=job_id)).job
    assert job.status == S.JOB_STATUS_CANCELLED and job.finished_at_unix_ms > 0 and job.queue_position == 0, job
    expect_error(Code.NOT_FOUND, api.carol.seg.GetJob, S.GetJobRequest(job_id=job_id), "stranger GetJob")
    expect_error(Code.NOT_FOUND, dave.seg.GetJob, S.GetJobRequest(job_id=random_id()), "unknown job")
    expect_error(Code.INVALID_ARGUMENT, dave.seg.GetJob, S.GetJobRequest(job_id="x"), "bad job id")


def test_cancel_by_batch(api):
    dave = api.dave
    project = dave.create_project(unique("by-batch"))
    images = dave.upload(project.id, *[upload_of("image/jpeg", i) for i in range(3)]).images
    first = ok(dave.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(
        project_id=project.id, images=S.ImageIdList(image_ids=[images[0].id, images[1].id])))
    second = ok(dave.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(
        project_id=project.id, images=S.ImageIdList(image_ids=[images[2].id])))
    assert first.batch_id and second.batch_id and first.batch_id != second.batch_id
    by_batch = ok(dave.seg.CancelSegmentation, S.CancelSegmentationRequest(batch_id=first.batch_id), "cancel by batch_id")
    assert by_batch.cancelled_count == 2 and set(by_batch.images.image_ids) == {images[0].id, images[1].id}, by_batch
    s = dave.project_stats(project.id)
    assert (s.queued_count, s.no_segmentation_count) == (1, 2), counts(s)
    again = ok(dave.seg.CancelSegmentation, S.CancelSegmentationRequest(batch_id=first.batch_id), "cancel a finished batch")
    assert again.cancelled_count == 0, "finished jobs of a batch are simply not matched"
    expect_error(Code.NOT_FOUND, api.carol.seg.CancelSegmentation,
                 S.CancelSegmentationRequest(batch_id=second.batch_id), "stranger cancels a batch")
    expect_error(Code.NOT_FOUND, dave.seg.CancelSegmentation, S.CancelSegmentationRequest(batch_id=random_id()), "unknown batch")


def test_cancel_by_jobs(api):
    dave = api.dave
    project = dave.create_project(unique("batch"))
    images = dave.upload(project.id, *[upload_of("image/jpeg", i) for i in range(4)]).images
    first = ok(dave.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(
        project_id=project.id, images=S.ImageIdList(image_ids=[images[1].id, images[0].id])))
    assert [j.image_id for j in first.jobs] == [images[1].id, images[0].id], "jobs should be in the order of the image ids"
    second = ok(dave.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(
        project_id=project.id, images=S.ImageIdList(image_ids=[images[2].id, images[3].id]), priority=5))
    assert first.batch_id != second.batch_id
    expect_counts(dave.project_stats(project.id), "4 queued", image_count=4, queued=4,
                  total_bytes=sum(i.size_bytes for i in images))
    by_jobs = ok(dave.seg.CancelSegmentation, S.CancelSegmentationRequest(
        jobs=S.JobIdList(job_ids=[j.job_id for j in first.jobs] + [second.jobs[0].job_id])))
    assert by_jobs.cancelled_count == 3, by_jobs
    s = dave.project_stats(project.id)
    assert (s.queued_count, s.no_segmentation_count) == (1, 3), counts(s)
    # A listed job that already finished: FAILED_PRECONDITION, nothing cancelled.
    expect_error(Code.FAILED_PRECONDITION, dave.seg.CancelSegmentation, S.CancelSegmentationRequest(
        jobs=S.JobIdList(job_ids=[second.jobs[1].job_id, first.jobs[0].job_id])), "job list with a cancelled job")
    assert dave.project_stats(project.id).queued_count == 1, "a refused cancel cancelled something"
    ok(dave.seg.CancelSegmentation, S.CancelSegmentationRequest(project_id=project.id))
    assert dave.project_stats(project.id).queued_count == 0


def test_queue_order_priority_first(api):
    dave = api.dave
    low = dave.create_project(unique("low"))
    high = dave.create_project(unique("high"))
    low_images = dave.upload(low.id, upload_of("image/png", 1), upload_of("image/png", 2)).images
    high_images = dave.upload(high.id, upload_of("image/png", 3)).images
    try:
        ok(dave.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(project_id=low.id, unsegmented=S.UnsegmentedImages()))
        ok(dave.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(
            project_id=high.id, unsegmented=S.UnsegmentedImages(), priority=10))
        q_high = ok(dave.seg.GetQueueStats, S.GetQueueStatsRequest(project_id=high.id))
        q_low = ok(dave.seg.GetQueueStats, S.GetQueueStatsRequest(project_id=low.id))
        assert q_high.position < q_low.position, f"priority 10 should be ahead: high at {q_high.position}, low at {q_low.position}"
        assert q_low.position == q_high.position + len(high_images), (q_high.position, q_low.position)
        overall = ok(dave.seg.GetQueueStats, S.GetQueueStatsRequest())
        assert overall.scope_queued_count >= len(low_images) + len(high_images)
        assert overall.position == q_high.position
    finally:
        for p in (low, high):
            ok(dave.seg.CancelSegmentation, S.CancelSegmentationRequest(project_id=p.id))


def test_enqueue_errors_and_roles(api):
    dave, erin, carol = api.dave, api.erin, api.carol
    project = dave.create_project(unique("enq-err"))
    other = dave.create_project(unique("enq-other"))
    image = dave.upload(project.id, upload_of("image/png", 1)).images[0]
    foreign = dave.upload(other.id, upload_of("image/png", 2)).images[0]
    dave.share(project.id, erin, VIEWER)
    req = S.EnqueueSegmentationRequest
    for what, code, request in [
        ("no target", Code.INVALID_ARGUMENT, req(project_id=project.id)),
        ("no ids", Code.INVALID_ARGUMENT, req(project_id=project.id, images=S.ImageIdList())),
        ("priority 11", Code.INVALID_ARGUMENT, req(project_id=project.id, unsegmented=S.UnsegmentedImages(), priority=11)),
        ("priority -1", Code.INVALID_ARGUMENT, req(project_id=project.id, unsegmented=S.UnsegmentedImages(), priority=-1)),
        ("bad model", Code.INVALID_ARGUMENT, req(project_id=project.id, unsegmented=S.UnsegmentedImages(), model="bad model!")),
        ("image of another project", Code.NOT_FOUND, req(project_id=project.id, images=S.ImageIdList(image_ids=[image.id, foreign.id]))),
        ("unknown project", Code.NOT_FOUND, req(project_id=random_id(), unsegmented=S.UnsegmentedImages())),
    ]:
        expect_error(code, dave.seg.EnqueueSegmentation, request, f"EnqueueSegmentation {what}")
    expect_counts(dave.project_stats(project.id), "after refused enqueues", image_count=1, no_segmentation=1,
                  total_bytes=image.size_bytes)
    expect_error(Code.PERMISSION_DENIED, erin.seg.EnqueueSegmentation,
                 req(project_id=project.id, unsegmented=S.UnsegmentedImages()), "viewer enqueues")
    expect_error(Code.NOT_FOUND, carol.seg.EnqueueSegmentation,
                 req(project_id=project.id, unsegmented=S.UnsegmentedImages()), "stranger enqueues")
    expect_error(Code.NOT_FOUND, carol.seg.GetQueueStats, S.GetQueueStatsRequest(project_id=project.id), "stranger queue stats")
    ok(erin.seg.GetQueueStats, S.GetQueueStatsRequest(project_id=project.id), "viewer queue stats")

    enq = ok(dave.seg.EnqueueSegmentation, req(project_id=project.id, unsegmented=S.UnsegmentedImages()))
    expect_error(Code.PERMISSION_DENIED, erin.seg.CancelSegmentation,
                 S.CancelSegmentationRequest(project_id=project.id), "viewer cancels")
    expect_error(Code.NOT_FOUND, carol.seg.CancelSegmentation,
                 S.CancelSegmentationRequest(jobs=S.JobIdList(job_ids=[enq.jobs[0].job_id])), "stranger cancels a job")
    expect_error(Code.INVALID_ARGUMENT, dave.seg.CancelSegmentation, S.CancelSegmentationRequest(), "cancel without target")
    assert dave.project_stats(project.id).queued_count == 1
    dave.share(project.id, erin, EDITOR)
    assert ok(erin.seg.CancelSegmentation, S.CancelSegmentationRequest(project_id=project.id), "editor cancels").cancelled_count == 1
    expect_counts(dave.project_stats(project.id), "after editor cancel", image_count=1, no_segmentation=1,
                  total_bytes=image.size_bytes)


def test_delete_project_cancels_its_jobs(api):
    dave = api.dave
    project = dave.create_project(unique("del-queued"))
    dave.upload(project.id, upload_of("image/png", 1), upload_of("image/png", 2))
    ok(dave.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(project_id=project.id, unsegmented=S.UnsegmentedImages()))
    before = ok(dave.seg.GetQueueStats, S.GetQueueStatsRequest()).queued_count
    reply = ok(dave.projects.DeleteProject, projects_pb2.DeleteProjectRequest(project_id=project.id))
    assert (reply.deleted_image_count, reply.cancelled_job_count) == (2, 2), reply
    after = ok(dave.seg.GetQueueStats, S.GetQueueStatsRequest()).queued_count
    assert after == before - 2, f"queue {before} -> {after} after deleting a project with 2 queued jobs"
