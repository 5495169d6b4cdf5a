"""Segmentation workers end to end, with grpcio against a release cellhubd: the worker side of
SegmentationService (ClaimJobs feeds, leases, CompleteJob, FailJob, RenewJobLease,
GetSegmentation), the lease sweep, revocation, the figures that follow every step, crash
safety with leases outstanding, and both built-in workers (`serve --workers N` and
`cellhubd worker`) on real PNGs.

Each test gets its own server (`--lease-duration 1` where expiry is under test), users alice
(owner) and bob (viewer of alice's projects), and worker tokens made with `users add --worker`.
A `Feed` reads one ClaimJobs stream on a thread; tests wait for its items (bounded).
After every step `assert_figures` recounts the project's images by status (ListImages) and
checks GetProjectStats, GetDashboardMetrics and GetQueueStats against the recount.
"""
from __future__ import annotations

import os
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
import uuid
import zlib
from pathlib import Path

import grpc
import pytest

from api_support import (
    BINARY,
    CALL_TIMEOUT,
    Code,
    add_user,
    cellhubd,
    common_pb2,
    expect_error,
    images_pb2 as I,
    ok,
    projects_pb2 as P,
    requires_cellhubd,
    segmentation_pb2 as S,
    start_api,
    stats_service_pb2 as SS,
    unique,
    upload_of,
)
from conftest import CHANNEL_OPTIONS, REPO, Server

pytestmark = requires_cellhubd

ST = common_pb2.SegmentationStatus
WAIT = 20.0


# ---------------------------------------------------------------------------------------------
# helpers


class Feed:
    """One ClaimJobs stream read on a thread: `items` gets (kind, message) in arrival order,
    then ("end", RpcError-or-None)."""

    def __init__(self, client, name: str | None = None, concurrency: int = 1, models=()):
        self.name = name or unique("w")
        self.items: queue.Queue = queue.Queue()
        self.call = client.seg.ClaimJobs(
            S.ClaimJobsRequest(worker_name=self.name, max_concurrent_jobs=concurrency, models=list(models)), timeout=120)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for message in self.call:
                kind = message.WhichOneof("item")
                self.items.put((kind, getattr(message, kind)))
            self.items.put(("end", None))
        except grpc.RpcError as error:
            self.items.put(("end", error))

    def next(self, kinds=("assignment",), timeout: float = WAIT):
        """The next item of one of `kinds` (heartbeats skipped); AssertionError at the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                kind, message = self.items.get(timeout=max(0.0, remaining))
            except queue.Empty:
                raise AssertionError(f"no {kinds} on feed {self.name} within {timeout}s") from None
            if kind in kinds:
                return message
            if kind == "end":
                raise AssertionError(f"feed {self.name} ended while waiting for {kinds}: {message}")

    def quiet(self, seconds: float):
        """Asserts that no assignment or revocation arrives within `seconds`."""
        try:
            kind, message = self.items.get(timeout=seconds)
        except queue.Empty:
            return
        if kind == "heartbeat":
            return self.quiet(seconds)
        raise AssertionError(f"feed {self.name}: expected nothing, got {kind}: {message}")

    def close(self):
        self.call.cancel()


def worker(api, name: str | None = None):
    name = name or unique("worker")
    return api.client(name, add_user(api.data_dir, name, "--worker"))


def enqueue(api, project_id: str, image_ids, priority: int = 0, **kw):
    return ok(api.alice.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(
        project_id=project_id, images=S.ImageIdList(image_ids=list(image_ids)), priority=priority, **kw))


def square(n: int = 1):
    points = [S.Point(x=0, y=0), S.Point(x=4, y=0), S.Point(x=4, y=4), S.Point(x=0, y=4)]
    return S.SegmentationResult(cell_count=n, polygons=[S.Polygon(points=points, area_px=16) for _ in range(n)])


def complete(client, assignment, cells: int = 1, **kw):
    return ok(client.seg.CompleteJob, S.CompleteJobRequest(
        job_id=assignment.job_id, lease_id=assignment.lease_id, result=square(cells), **kw))


def job(client, job_id: str):
    return ok(client.seg.GetJob, S.GetJobRequest(job_id=job_id)).job


def image_status(client, image_id: str):
    return ok(client.images.GetImage, I.GetImageRequest(image_id=image_id)).image.status


def wait_until(predicate, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def recount(client, project_id: str) -> dict[int, int]:
    counts: dict[int, int] = {}
    token = ""
    while True:
        reply = ok(client.images.ListImages, I.ListImagesRequest(project_id=project_id, page_size=500, page_token=token))
        for image in reply.images:
            counts[image.status] = counts.get(image.status, 0) + 1
        token = reply.next_page_token
        if not token:
            return counts


def assert_figures(api, project_id: str, what: str):
    """Project stats, alice's dashboard and the queue figures equal a recount of the images
    (alice's only project in each test is `project_id`)."""
    counts = recount(api.alice, project_id)
    stats = ok(api.alice.stats.GetProjectStats, SS.GetProjectStatsRequest(project_id=project_id)).stats
    got = (stats.image_count, stats.no_segmentation_count, stats.queued_count, stats.processing_count,
           stats.segmented_count, stats.failed_count)
    want = (sum(counts.values()), counts.get(ST.SEGMENTATION_STATUS_NO_SEGMENTATION, 0),
            counts.get(ST.SEGMENTATION_STATUS_QUEUED, 0), counts.get(ST.SEGMENTATION_STATUS_PROCESSING, 0),
            counts.get(ST.SEGMENTATION_STATUS_SEGMENTED, 0), counts.get(ST.SEGMENTATION_STATUS_FAILED, 0))
    assert got == want, f"{what}: stats (images, none, queued, processing, segmented, failed) {got} != recount {want}"
    dash = ok(api.alice.stats.GetDashboardMetrics, SS.GetDashboardMetricsRequest()).metrics
    assert (dash.total_images, dash.queued_images, dash.processing_images, dash.segmented_images, dash.failed_images) == (
        want[0], want[2], want[3], want[4], want[5]), f"{what}: dashboard {dash} != recount {want}"
    queue_stats = ok(api.alice.seg.GetQueueStats, S.GetQueueStatsRequest(project_id=project_id))
    assert (queue_stats.scope_queued_count, queue_stats.scope_processing_count) == (want[2], want[3]), (
        f"{what}: queue stats {queue_stats} != recount {want}")


@pytest.fixture
def make_api(tmp_path_factory):
    """Factory: make_api(*serve_flags) -> Api with alice and bob; servers stopped after the test."""
    started = []

    def make(*flags: str):
        original = Server.__init__

        def with_flags(self, data_dir, extra_args=()):
            original(self, data_dir, [*flags, *extra_args])

        Server.__init__ = with_flags
        try:
            api = start_api(tmp_path_factory, users=("alice", "bob"))
        finally:
            Server.__init__ = original
        started.append(api)
        return api

    yield make
    for api in started:
        api.close()


def project_with_images(api, count: int, label: str = "seg"):
    project = api.alice.create_project(unique(label))
    api.alice.share(project.id, api.bob, common_pb2.ROLE_VIEWER)
    images = list(api.alice.upload(project.id, *[upload_of("image/png", i) for i in range(count)]).images)
    return project, images


# ---------------------------------------------------------------------------------------------
# the worker side, step by step


def test_claim_complete_and_every_figure_follows(make_api):
    api = make_api()
    project, images = project_with_images(api, 2)
    w = worker(api)
    assert_figures(api, project.id, "after upload")
    enq = enqueue(api, project.id, [images[0].id])
    assert_figures(api, project.id, "after enqueue")
    feed = Feed(w)
    a = feed.next()
    assert (a.job_id, a.image_id, a.project_id, a.attempt, a.max_attempts) == (enq.jobs[0].job_id, images[0].id, project.id, 1, 3)
    assert a.model == "builtin-otsu" and a.content_type == "image/png" and a.image_name == images[0].name
    assert a.image_content == upload_of("image/png", 0).content and a.lease_id
    assert a.lease_expires_at_unix_ms > time.time() * 1000
    assert job(api.alice, a.job_id).status == S.JOB_STATUS_PROCESSING and job(api.alice, a.job_id).worker_name == feed.name
    assert image_status(api.alice, images[0].id) == ST.SEGMENTATION_STATUS_PROCESSING
    assert_figures(api, project.id, "after the claim")
    queue_stats = ok(api.alice.seg.GetQueueStats, S.GetQueueStatsRequest())
    assert queue_stats.connected_workers == 1, queue_stats

    time.sleep(0.05)
    complete(w, a, cells=3)
    assert job(api.alice, a.job_id).status == S.JOB_STATUS_COMPLETED
    assert image_status(api.alice, images[0].id) == ST.SEGMENTATION_STATUS_SEGMENTED
    assert_figures(api, project.id, "after CompleteJob")
    # Any member reads the result; the areas the worker left 0 are filled in.
    result = ok(api.bob.seg.GetSegmentation, S.GetSegmentationRequest(image_id=images[0].id))
    assert (result.job_id, result.model, result.result.cell_count, len(result.result.polygons)) == (a.job_id, "builtin-otsu", 3, 3)
    assert (result.result.total_area_px, result.result.mean_area_px) == (48.0, 16.0)
    assert result.processing_time_ms >= 40, "claim to completion, measured by the server"
    dash = ok(api.alice.stats.GetDashboardMetrics, SS.GetDashboardMetricsRequest()).metrics
    assert dash.average_processing_time_ms == result.processing_time_ms and dash.segmentations_completed_today == 1
    assert dash.throughput_per_minute > 0
    stranger = api.client("stranger", add_user(api.data_dir, unique("stranger")))
    expect_error(Code.NOT_FOUND, stranger.seg.GetSegmentation, S.GetSegmentationRequest(image_id=images[0].id))
    expect_error(Code.FAILED_PRECONDITION, api.alice.seg.GetSegmentation, S.GetSegmentationRequest(image_id=images[1].id))
    feed.close()


def test_non_worker_tokens_are_refused(make_api):
    api = make_api()
    project, images = project_with_images(api, 1)
    enqueue(api, project.id, [images[0].id])
    feed = Feed(api.alice)
    end = feed.items.get(timeout=WAIT)
    assert end[0] == "end" and end[1].code() == Code.PERMISSION_DENIED, end
    lease = S.CompleteJobRequest(job_id=str(uuid.uuid4()), lease_id=str(uuid.uuid4()), result=square())
    expect_error(Code.PERMISSION_DENIED, api.alice.seg.CompleteJob, lease)
    expect_error(Code.PERMISSION_DENIED, api.alice.seg.RenewJobLease, S.RenewJobLeaseRequest(job_id=str(uuid.uuid4()), lease_id=str(uuid.uuid4())))
    expect_error(Code.PERMISSION_DENIED, api.alice.seg.FailJob, S.FailJobRequest(job_id=str(uuid.uuid4()), lease_id=str(uuid.uuid4()), reason="x"))
    expect_error(Code.UNAUTHENTICATED, api.anonymous.seg.CompleteJob, lease)
    assert image_status(api.alice, images[0].id) == ST.SEGMENTATION_STATUS_QUEUED


def test_bad_worker_requests_are_invalid_argument(make_api):
    api = make_api()
    project, images = project_with_images(api, 1)
    w = worker(api)
    for request in (S.ClaimJobsRequest(worker_name=""), S.ClaimJobsRequest(worker_name="w", max_concurrent_jobs=65),
                    S.ClaimJobsRequest(worker_name="w", models=["no spaces"])):
        call = w.seg.ClaimJobs(request, timeout=10)
        with pytest.raises(grpc.RpcError) as caught:
            next(iter(call))
        assert caught.value.code() == Code.INVALID_ARGUMENT, request
    enqueue(api, project.id, [images[0].id])
    feed = Feed(w)
    a = feed.next()
    for result in (S.SegmentationResult(cell_count=2, polygons=[square().polygons[0]]),
                   S.SegmentationResult(cell_count=1, polygons=[S.Polygon(points=[S.Point(x=0, y=0), S.Point(x=1, y=1)])]),
                   S.SegmentationResult(cell_count=1, polygons=[S.Polygon(points=[S.Point(x=float("nan"), y=0)] * 3)])):
        expect_error(Code.INVALID_ARGUMENT, w.seg.CompleteJob, S.CompleteJobRequest(job_id=a.job_id, lease_id=a.lease_id, result=result))
    expect_error(Code.INVALID_ARGUMENT, w.seg.FailJob, S.FailJobRequest(job_id=a.job_id, lease_id=a.lease_id, reason="  "))
    expect_error(Code.NOT_FOUND, w.seg.CompleteJob, S.CompleteJobRequest(job_id=a.job_id, lease_id=str(uuid.uuid4()), result=square()))
    expect_error(Code.NOT_FOUND, w.seg.CompleteJob, S.CompleteJobRequest(job_id=str(uuid.uuid4()), lease_id=a.lease_id, result=square()))
    assert image_status(api.alice, images[0].id) == ST.SEGMENTATION_STATUS_PROCESSING, "refused calls change nothing"
    complete(w, a)
    expect_error(Code.FAILED_PRECONDITION, w.seg.CompleteJob, S.CompleteJobRequest(job_id=a.job_id, lease_id=a.lease_id, result=square()))
    feed.close()


def test_concurrency_bounds_the_feed_and_priorities_order_it(make_api):
    api = make_api()
    project, images = project_with_images(api, 5)
    w = worker(api)
    low = enqueue(api, project.id, [i.id for i in images[:3]], priority=1)
    high = enqueue(api, project.id, [i.id for i in images[3:]], priority=9)
    feed = Feed(w, concurrency=2)
    first = [feed.next(), feed.next()]
    assert [a.job_id for a in first] == [j.job_id for j in high.jobs], "priority 9 first, FIFO within it"
    feed.quiet(0.5)
    assert_figures(api, project.id, "two leases out")
    complete(w, first[0])
    third = feed.next()
    assert third.job_id == low.jobs[0].job_id
    feed.quiet(0.3)
    for a in (first[1], third):
        complete(w, a)
    rest = [feed.next(), feed.next()]
    assert [a.job_id for a in rest] == [j.job_id for j in low.jobs[1:]]
    for a in rest:
        complete(w, a)
    assert_figures(api, project.id, "all done")
    assert recount(api.alice, project.id) == {ST.SEGMENTATION_STATUS_SEGMENTED: 5}
    feed.close()


def test_a_worker_that_stops_reading_is_not_given_more(make_api, h2_connect):
    """Flow control bounds the feed, whatever the stated concurrency: a raw HTTP/2 worker that
    opens ClaimJobs with max_concurrent_jobs 64 and never acknowledges DATA (64 KiB window)
    holds a few 200 KB images' leases, not 64; once it reads, the rest flows."""
    import h2.settings

    api = make_api()
    project = api.alice.create_project(unique("flow"))
    big = [I.ImageUpload(name=f"big-{i}.png", content_type="image/png", content=disks_png(400, 400, [(200, 200, 60)], i) + bytes(150_000))
           for i in range(20)]
    images = [img for start in range(0, 20, 5) for img in api.alice.upload(project.id, *big[start:start + 5]).images]
    enqueue(api, project.id, [i.id for i in images])
    w = worker(api)
    client = h2_connect(api.server, auto_ack=False, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65_535})
    body = S.ClaimJobsRequest(worker_name="stalled", max_concurrent_jobs=64).SerializeToString()
    from conftest import grpc_frame
    sid = client.send_request("/cellhub.v1.SegmentationService/ClaimJobs", grpc_frame(body),
                              extra=[("authorization", f"Bearer {w.token}")])
    time.sleep(1.5)
    client.pump(0.2)
    held = recount(api.alice, project.id).get(ST.SEGMENTATION_STATUS_PROCESSING, 0)
    assert 1 <= held <= 3, f"a stalled feed of 64 slots holds {held} leases"
    assert_figures(api, project.id, "stalled feed")
    # Reading again (a 64 MiB window) lets the rest through, up to 20 leases.
    client.conn.increment_flow_control_window(64 << 20, stream_id=sid)
    client.conn.increment_flow_control_window(64 << 20)
    client.flush()
    deadline = time.monotonic() + WAIT
    while recount(api.alice, project.id).get(ST.SEGMENTATION_STATUS_PROCESSING, 0) < 20:
        assert time.monotonic() < deadline, "the feed did not resume once read"
        client.pump(0.1)


def test_enqueue_wakes_a_waiting_feed_at_once(make_api):
    api = make_api()
    project, images = project_with_images(api, 1)
    w = worker(api)
    feed = Feed(w)
    feed.quiet(0.3)
    started = time.monotonic()
    enqueue(api, project.id, [images[0].id])
    a = feed.next(timeout=5)
    elapsed = time.monotonic() - started
    assert a.image_id == images[0].id
    assert elapsed < 1.0, f"the enqueue commit wakes the dispatcher (took {elapsed:.3f}s)"
    feed.close()


# ---------------------------------------------------------------------------------------------
# leases


def test_lease_expiry_requeues_and_another_worker_finishes(make_api):
    api = make_api("--lease-duration", "1")
    project, images = project_with_images(api, 1)
    enq = enqueue(api, project.id, [images[0].id])
    vanishing, finishing = worker(api), worker(api)
    feed = Feed(vanishing)
    a = feed.next()
    feed.close()  # the stream drops: its lease stays until it expires
    time.sleep(0.3)
    assert job(api.alice, a.job_id).status == S.JOB_STATUS_PROCESSING, "a dropped stream keeps its leases until expiry"
    wait_until(lambda: job(api.alice, a.job_id).status == S.JOB_STATUS_QUEUED, "the lease to expire")
    j = job(api.alice, a.job_id)
    assert (j.attempts, j.failure_reason != "") == (1, True), j
    assert_figures(api, project.id, "after expiry")
    other = Feed(finishing)
    b = other.next()
    assert (b.job_id, b.attempt) == (enq.jobs[0].job_id, 2) and b.lease_id != a.lease_id
    expect_error(Code.FAILED_PRECONDITION, vanishing.seg.CompleteJob,
                 S.CompleteJobRequest(job_id=a.job_id, lease_id=a.lease_id, result=square()))
    complete(finishing, b)
    assert image_status(api.alice, images[0].id) == ST.SEGMENTATION_STATUS_SEGMENTED
    assert_figures(api, project.id, "completed by the second worker")
    other.close()


def test_three_lost_leases_fail_the_image(make_api):
    api = make_api("--lease-duration", "1")
    project, images = project_with_images(api, 1)
    enq = enqueue(api, project.id, [images[0].id])
    for attempt in (1, 2, 3):
        feed = Feed(worker(api))
        a = feed.next(timeout=WAIT)
        assert a.attempt == attempt
        feed.close()
        wait_until(lambda: job(api.alice, a.job_id).status != S.JOB_STATUS_PROCESSING, f"lease {attempt} to expire")
        assert_figures(api, project.id, f"after lost lease {attempt}")
    j = job(api.alice, enq.jobs[0].job_id)
    assert (j.status, j.attempts) == (S.JOB_STATUS_FAILED, 3), j
    assert image_status(api.alice, images[0].id) == ST.SEGMENTATION_STATUS_FAILED


def test_renew_extends_a_lease(make_api):
    api = make_api("--lease-duration", "1")
    project, images = project_with_images(api, 1)
    enqueue(api, project.id, [images[0].id])
    w = worker(api)
    feed = Feed(w)
    a = feed.next()
    expiry = a.lease_expires_at_unix_ms
    for _ in range(4):  # 2 s in all: twice the lease
        time.sleep(0.5)
        renewed = ok(w.seg.RenewJobLease, S.RenewJobLeaseRequest(job_id=a.job_id, lease_id=a.lease_id))
        assert renewed.lease_expires_at_unix_ms > expiry
        expiry = renewed.lease_expires_at_unix_ms
    assert job(api.alice, a.job_id).attempts == 1
    complete(w, a)
    expect_error(Code.FAILED_PRECONDITION, w.seg.RenewJobLease, S.RenewJobLeaseRequest(job_id=a.job_id, lease_id=a.lease_id))
    feed.close()


def test_fail_job_retryable_and_not(make_api):
    api = make_api()
    project, images = project_with_images(api, 2)
    w = worker(api)
    enq = enqueue(api, project.id, [i.id for i in images])
    feed = Feed(w)
    a = feed.next()
    assert a.job_id == enq.jobs[0].job_id
    reply = ok(w.seg.FailJob, S.FailJobRequest(job_id=a.job_id, lease_id=a.lease_id, reason="  GPU out of memory ", retryable=True))
    assert reply.requeued
    # A re-queued job keeps its place: the same job comes back first, as attempt 2.
    b = feed.next()
    assert (b.job_id, b.attempt) == (a.job_id, 2), b
    assert job(api.alice, a.job_id).failure_reason == "GPU out of memory"
    assert_figures(api, project.id, "after a retryable failure and its re-claim")
    reply = ok(w.seg.FailJob, S.FailJobRequest(job_id=b.job_id, lease_id=b.lease_id, reason="not a micrograph", retryable=False))
    assert not reply.requeued
    j = job(api.alice, b.job_id)
    assert (j.status, j.attempts, j.failure_reason) == (S.JOB_STATUS_FAILED, 2, "not a micrograph"), j
    assert image_status(api.alice, b.image_id) == ST.SEGMENTATION_STATUS_FAILED
    # The failure freed the feed's one slot: the next job is claimed on its own, so the figures
    # are compared once that claim has arrived (before it, a recount could race the claim's commit).
    c = feed.next()
    assert (c.job_id, c.attempt) == (enq.jobs[1].job_id, 1)
    assert_figures(api, project.id, "after a permanent failure and the next claim")
    complete(w, c)
    assert_figures(api, project.id, "after the second job completed")
    feed.close()


def test_cancel_while_held_revokes_the_lease(make_api):
    api = make_api()
    project, images = project_with_images(api, 1)
    w = worker(api)
    enqueue(api, project.id, [images[0].id])
    feed = Feed(w)
    a = feed.next()
    ok(api.alice.seg.CancelSegmentation, S.CancelSegmentationRequest(project_id=project.id, jobs=S.JobIdList(job_ids=[a.job_id])))
    revoked = feed.next(kinds=("lease_revoked",), timeout=5)
    assert (revoked.job_id, revoked.lease_id) == (a.job_id, a.lease_id) and revoked.reason
    expect_error(Code.FAILED_PRECONDITION, w.seg.CompleteJob, S.CompleteJobRequest(job_id=a.job_id, lease_id=a.lease_id, result=square()))
    assert job(api.alice, a.job_id).status == S.JOB_STATUS_CANCELLED
    assert image_status(api.alice, images[0].id) == ST.SEGMENTATION_STATUS_NO_SEGMENTATION
    expect_error(Code.FAILED_PRECONDITION, api.alice.seg.GetSegmentation, S.GetSegmentationRequest(image_id=images[0].id))
    assert_figures(api, project.id, "after cancelling a held job")
    # The slot it held is free again.
    again = enqueue(api, project.id, [images[0].id])
    assert feed.next().job_id == again.jobs[0].job_id
    feed.close()


def test_deleting_the_image_revokes_the_lease(make_api):
    api = make_api()
    project, images = project_with_images(api, 1)
    w = worker(api)
    enqueue(api, project.id, [images[0].id])
    feed = Feed(w)
    a = feed.next()
    ok(api.alice.images.DeleteImage, I.DeleteImageRequest(image_id=images[0].id))
    assert feed.next(kinds=("lease_revoked",), timeout=5).job_id == a.job_id
    expect_error(Code.FAILED_PRECONDITION, w.seg.CompleteJob, S.CompleteJobRequest(job_id=a.job_id, lease_id=a.lease_id, result=square()))
    assert_figures(api, project.id, "after deleting a held image")
    feed.close()


# ---------------------------------------------------------------------------------------------
# crash safety


def test_sigkill_with_leases_outstanding_then_check_and_complete(tmp_path_factory):
    data = tmp_path_factory.mktemp("cellhub-kill")
    alice_token = add_user(data, "alice")
    worker_token = add_user(data, "w1", "--worker")
    server = Server(data, ["--lease-duration", "1"])
    channel = grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS)
    from api_support import Client
    alice, w = Client(channel, "alice", alice_token), Client(channel, "w1", worker_token)
    project = alice.create_project(unique("kill"))
    images = list(alice.upload(project.id, *[upload_of("image/png", i) for i in range(3)]).images)
    ok(alice.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(project_id=project.id, images=S.ImageIdList(image_ids=[i.id for i in images])))
    feed = Feed(w, concurrency=2)
    held = [feed.next(), feed.next()]
    os.kill(server.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)
    channel.close()

    checked = cellhubd("check", data_dir=data)
    assert checked.returncode == 0, f"check after SIGKILL with leases out: {checked.stdout}\n{checked.stderr}"

    server = Server(data, ["--lease-duration", "1"])
    channel = grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS)
    alice, w = Client(channel, "alice", alice_token), Client(channel, "w1", worker_token)
    try:
        assert {image_status(alice, a.image_id) for a in held} == {ST.SEGMENTATION_STATUS_PROCESSING}, "leases survive the restart"
        feed = Feed(w, concurrency=3)
        seen = {}
        while len(seen) < 3:
            a = feed.next(timeout=WAIT)
            seen[a.job_id] = a
            complete(w, a)
        assert {a.attempt for a in seen.values() if a.job_id in {h.job_id for h in held}} == {2}, "the killed leases expired (an attempt each)"
        assert all(image_status(alice, i.id) == ST.SEGMENTATION_STATUS_SEGMENTED for i in images)
        stats = ok(alice.stats.GetProjectStats, SS.GetProjectStatsRequest(project_id=project.id)).stats
        assert (stats.segmented_count, stats.processing_count, stats.queued_count) == (3, 0, 0), stats
        feed.close()
    finally:
        channel.close()
        server.stop()
    checked = cellhubd("check", data_dir=data)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# ---------------------------------------------------------------------------------------------
# the built-in workers on real images


def disks_png(width: int, height: int, disks: list[tuple[int, int, int]], seed: int = 0) -> bytes:
    """An 8-bit gray PNG: dark background with noise, bright disks (cx, cy, r)."""
    import random
    rng = random.Random(seed)
    rows = []
    for y in range(height):
        row = bytearray()
        for x in range(width):
            inside = any((x - cx) ** 2 + (y - cy) ** 2 <= r * r for cx, cy, r in disks)
            row.append(max(0, min(255, (200 if inside else 40) + rng.randint(-12, 12))))
        rows.append(b"\x00" + bytes(row))
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b"")


PICTURES = [
    [(30, 30, 10), (80, 40, 14), (40, 90, 8)],
    [(25, 25, 12), (90, 90, 12)],
    [(60, 60, 20), (20, 100, 6), (100, 20, 7), (100, 100, 9)],
]


def upload_pictures(api, project_id: str):
    uploads = [I.ImageUpload(name=f"cells-{n}.png", content_type="image/png", content=disks_png(128, 128, disks, n))
               for n, disks in enumerate(PICTURES)]
    return list(api.alice.upload(project_id, *uploads).images)


def assert_segmented(api, project_id: str, images, timeout: float = 60):
    for image, disks in zip(images, PICTURES):
        wait_until(lambda: image_status(api.alice, image.id) == ST.SEGMENTATION_STATUS_SEGMENTED,
                   f"{image.name} to be segmented", timeout=timeout)
        result = ok(api.bob.seg.GetSegmentation, S.GetSegmentationRequest(image_id=image.id))
        assert result.model == "builtin-otsu" and result.result.cell_count == len(disks), result.result.cell_count
        assert (result.result.image_width_px, result.result.image_height_px) == (128, 128)
        areas = sorted(p.area_px for p in result.result.polygons)
        expected = sorted(3.14159 * r * r for _, _, r in disks)
        for got, want in zip(areas, expected):
            assert abs(got - want) / want < 0.15, (areas, expected)
    assert_figures(api, project_id, "after the built-in worker")


def test_out_of_the_box_serve_segments_uploaded_pngs(make_api):
    """`cellhubd serve` with its defaults (one built-in worker): upload, enqueue, segmented."""
    api = make_api("--workers", "1")
    project = api.alice.create_project(unique("box"))
    api.alice.share(project.id, api.bob, common_pb2.ROLE_VIEWER)
    images = upload_pictures(api, project.id)
    reply = ok(api.alice.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(project_id=project.id, unsegmented=S.UnsegmentedImages()))
    assert (len(reply.jobs), reply.model) == (3, "builtin-otsu")
    assert_segmented(api, project.id, images)
    assert ok(api.alice.seg.GetQueueStats, S.GetQueueStatsRequest()).connected_workers == 1
    dash = ok(api.alice.stats.GetDashboardMetrics, SS.GetDashboardMetricsRequest()).metrics
    assert dash.segmentations_completed_today == 3 and dash.average_processing_time_ms >= 0


def test_builtin_worker_fails_undecodable_images_for_good(make_api):
    api = make_api("--workers", "2")
    project = api.alice.create_project(unique("bad"))
    good = disks_png(64, 64, [(32, 32, 10)])
    # A PNG whose header is right and whose pixel data is cut off: accepted by the upload's
    # format check, refused by the decoder.
    broken = I.ImageUpload(name="broken.png", content_type="image/png", content=good[:60])
    image = api.alice.upload(project.id, broken).images[0]
    enq = enqueue(api, project.id, [image.id])
    wait_until(lambda: image_status(api.alice, image.id) == ST.SEGMENTATION_STATUS_FAILED, "the broken image to fail")
    failed = job(api.alice, enq.jobs[0].job_id)
    assert (failed.status, failed.attempts) == (S.JOB_STATUS_FAILED, 1), f"not retryable: one attempt; {failed}"
    assert failed.failure_reason, failed
    assert_figures(api, project.id, "after the failure")


def test_cellhubd_worker_process_segments_and_survives_a_server_restart(tmp_path_factory):
    data = tmp_path_factory.mktemp("cellhub-remote")
    alice_token = add_user(data, "alice")
    bob_token = add_user(data, "bob")
    token_file = data / "worker.token"
    token_file.write_text(add_user(data, "segmenter", "--worker") + "\n")
    server = Server(data)  # --workers 0: only the remote worker segments
    from api_support import Api, Client
    channel = grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS)
    api = Api(server=server, data_dir=data, channel=channel)
    api.users.update(alice=Client(channel, "alice", alice_token), bob=Client(channel, "bob", bob_token))
    worker_proc = subprocess.Popen(
        [str(BINARY), "worker", "--server", server.address, "--token-file", str(token_file), "--concurrency", "2", "--name", "remote-1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        project = api.alice.create_project(unique("remote"))
        api.alice.share(project.id, api.bob, common_pb2.ROLE_VIEWER)
        images = upload_pictures(api, project.id)
        enqueue(api, project.id, [i.id for i in images])
        assert_segmented(api, project.id, images)
        assert job(api.alice, ok(api.alice.seg.EnqueueSegmentation, S.EnqueueSegmentationRequest(
            project_id=project.id, images=S.ImageIdList(image_ids=[images[0].id]), force=True)).jobs[0].job_id)
        wait_until(lambda: image_status(api.alice, images[0].id) == ST.SEGMENTATION_STATUS_SEGMENTED, "the forced re-run")

        # The server restarts on the same port; the worker reconnects by itself.
        port = server.port
        channel.close()
        server.stop()
        server = Server(data, ["--port", str(port)])
        channel = grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS)
        api = Api(server=server, data_dir=data, channel=channel)
        api.users.update(alice=Client(channel, "alice", alice_token), bob=Client(channel, "bob", bob_token))
        more = upload_pictures(api, project.id)
        enqueue(api, project.id, [i.id for i in more])
        assert_segmented(api, project.id, more)
        workers = ok(api.alice.seg.GetQueueStats, S.GetQueueStatsRequest()).connected_workers
        assert workers == 1, workers
    finally:
        worker_proc.send_signal(signal.SIGTERM)
        try:
            _, err = worker_proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker_proc.kill()
            _, err = worker_proc.communicate()
        channel.close()
        server.stop()
    assert worker_proc.returncode == 0, err[-3000:]
    assert "job completed" in err, err[-3000:]


def test_cellhubd_worker_with_a_user_token_exits_with_the_reason(make_api, tmp_path):
    api = make_api()
    token_file = tmp_path / "user.token"
    token_file.write_text(api.alice.token)
    done = subprocess.run([str(BINARY), "worker", "--server", api.server.address, "--token-file", str(token_file)],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 1, done.stderr
    assert "permission" in done.stderr.lower().replace("_", " "), done.stderr


def test_python_worker_example_completes_jobs(make_api, tmp_path):
    api = make_api()
    project, images = project_with_images(api, 3)
    token_file = tmp_path / "worker.token"
    token_file.write_text(add_user(api.data_dir, "pyworker", "--worker"))
    example = REPO / "Clients/python/examples/worker.py"
    proc = subprocess.Popen([sys.executable, str(example), "--server", api.server.address, "--token-file", str(token_file),
                             "--concurrency", "2"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        enqueue(api, project.id, [i.id for i in images])
        for image in images:
            wait_until(lambda: image_status(api.alice, image.id) == ST.SEGMENTATION_STATUS_SEGMENTED, f"{image.name} segmented")
        assert_figures(api, project.id, "after the Python worker")
        result = ok(api.alice.seg.GetSegmentation, S.GetSegmentationRequest(image_id=images[0].id)).result
        assert result.cell_count == 1 and result.polygons[0].area_px == 64 * 64
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
