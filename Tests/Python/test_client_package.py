"""The Python package `cellhub` (Clients/python) against a real cellhubd: every service through
the façade, errors as classes by status, deadlines, tokens, resuming watchers (blocking and
asyncio) across SIGTERM and SIGKILL restarts, the worker helper, and the package as a user
installs it (pip into a fresh venv, the lowest dependency versions it allows) and type-checks
it (mypy --strict)."""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from api_support import Restartable, add_user, png, requires_cellhubd, retry_upload, start_api
from conftest import CHANNEL_OPTIONS, REPO, Server
from stream_support import poll_until

import cellhub  # noqa: E402  (api_support put Clients/python on the path)
import cellhub.aio  # noqa: E402
from cellhub.v1 import common_pb2, images_pb2, projects_pb2, segmentation_pb2  # noqa: E402

pytestmark = requires_cellhubd
PACKAGE = REPO / "Clients" / "python"
WAIT = 30.0


def client_for(address: str, token: str, **kw) -> cellhub.Client:
    return cellhub.Client(address, token=token, options=CHANNEL_OPTIONS, **kw)


def uploads(count: int, seed: int) -> list[images_pb2.ImageUpload]:
    return [images_pb2.ImageUpload(name=f"img-{seed}-{i}.png", content_type="image/png", content=png(seed * 1000 + i))
            for i in range(count)]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = start_api(tmp_path_factory, users=("alice", "bob"))
    yield api
    api.close()


# ---------------------------------------------------------------------------------------------
# the façade


def test_every_service_through_the_facade(api):
    with client_for(api.server.address, api.alice.token) as alice, client_for(api.server.address, api.bob.token) as bob:
        name = f"façade-{uuid.uuid4().hex[:8]}"
        project = alice.projects.create_project(name=name, project_description="typed").project
        assert (project.name, project.project_description, project.caller_role) == (name, "typed", common_pb2.ROLE_OWNER)
        assert alice.projects.get_project(project_id=project.id).project.id == project.id
        listed = alice.projects.list_projects(filter=projects_pb2.PROJECT_FILTER_OWNED, name_contains=name)
        assert [p.id for p in listed.projects] == [project.id]
        renamed = alice.projects.update_project(project_id=project.id, name=name + "-2").project
        assert renamed.name == name + "-2"
        # Enums by name (str) as well as by value.
        share = alice.projects.share_project(project_id=project.id, user_name="bob", role="ROLE_VIEWER")
        assert share.created and share.member.role == common_pb2.ROLE_VIEWER
        assert [m.user.user_name for m in alice.projects.list_shares(project_id=project.id).members] == ["alice", "bob"]
        assert bob.projects.get_project(project_id=project.id).project.caller_role == common_pb2.ROLE_VIEWER

        key = str(uuid.uuid4())
        stored = alice.images.upload_images(project_id=project.id, images=uploads(3, 1), idempotency_key=key).images
        again = alice.images.upload_images(project_id=project.id, images=uploads(3, 1), idempotency_key=key).images
        assert [i.id for i in again] == [i.id for i in stored], "the idempotency key reaches the server"
        first = stored[0]
        assert alice.images.get_image(image_id=first.id).image.name == first.name
        assert sorted(i.id for i in alice.images.list_images(project_id=project.id).images) == sorted(i.id for i in stored)
        assert alice.images.get_image_content(image_id=first.id).content == png(1000)
        alice.images.delete_image(image_id=stored[2].id)

        queued = alice.segmentation.enqueue_segmentation(
            project_id=project.id, images=segmentation_pb2.ImageIdList(image_ids=[i.id for i in stored[:2]]))
        assert len(queued.jobs) == 2
        job = alice.segmentation.get_job(job_id=queued.jobs[0].job_id).job
        assert job.image_id == stored[0].id
        assert alice.segmentation.get_queue_stats().queued_count >= 2
        alice.segmentation.cancel_segmentation(jobs=segmentation_pb2.JobIdList(job_ids=[queued.jobs[1].job_id]))

        stats = alice.stats.get_project_stats(project_id=project.id)
        assert stats.stats.image_count == 2 and stats.stats.queued_count == 1 and stats.epoch
        assert alice.stats.get_dashboard_metrics(time_zone="Europe/Prague").metrics.total_images >= 2
        kinds = [e.WhichOneof("payload") for e in alice.stats.list_activity(project_id=project.id).entries]
        assert kinds and set(kinds) <= {"user_activity", "shared_project_update", "project_shared_with_you", "share_revoked"}

        bob.projects.revoke_share(project_id=project.id, leave=True)
        assert [m.user.user_name for m in alice.projects.list_shares(project_id=project.id).members] == ["alice"]
        deleted = alice.projects.delete_project(project_id=project.id)
        assert deleted.deleted_image_count == 2


def test_errors_are_classes_by_status_with_code_and_message(api):
    with client_for(api.server.address, api.alice.token) as alice, client_for(api.server.address, api.bob.token) as bob:
        project = alice.projects.create_project(name=f"errors-{uuid.uuid4().hex[:8]}").project
        cases = [
            (cellhub.NotFound, lambda: alice.projects.get_project(project_id=str(uuid.uuid4()))),
            (cellhub.InvalidArgument, lambda: alice.projects.get_project(project_id="not an id")),
            (cellhub.AlreadyExists, lambda: alice.projects.create_project(name=project.name)),
            (cellhub.NotFound, lambda: bob.projects.get_project(project_id=project.id)),  # not shared: not visible
            (cellhub.PermissionDenied, lambda: bob.projects.update_project(project_id=project.id, name="mine")),
        ]
        for expected, call in cases:
            if expected is cellhub.PermissionDenied:
                alice.projects.share_project(project_id=project.id, user_name="bob", role=common_pb2.ROLE_VIEWER)
            with pytest.raises(expected) as caught:
                call()
            error = caught.value
            assert isinstance(error, cellhub.Error) and error.code == expected.code
            assert error.message and error.code.name in str(error)
    with client_for(api.server.address, "chub_" + "0" * 64) as stranger, pytest.raises(cellhub.Unauthenticated):
        stranger.projects.list_projects()
    with cellhub.Client(api.server.address, token=None, options=CHANNEL_OPTIONS) as anonymous, \
            pytest.raises(cellhub.Unauthenticated):
        anonymous.stats.get_dashboard_metrics()


def test_unary_calls_have_a_deadline_by_default_and_per_call(api):
    # A 30 MiB download takes far longer than 5 ms, so the deadline fires on every machine
    # (a deadline of microseconds races a small reply).
    big = b"\x89PNG\r\n\x1a\n" + os.urandom(30 << 20)
    with client_for(api.server.address, api.alice.token) as alice:
        project = alice.projects.create_project(name=f"deadline-{uuid.uuid4().hex[:8]}").project
        image = alice.images.upload_images(project_id=project.id, images=[images_pb2.ImageUpload(
            name="big.png", content_type="image/png", content=big)], timeout=120).images[0]
        with pytest.raises(cellhub.DeadlineExceeded):
            alice.images.get_image_content(image_id=image.id, timeout=0.005)
    with client_for(api.server.address, api.alice.token, timeout=0.005) as hurried:
        with pytest.raises(cellhub.DeadlineExceeded):
            hurried.images.get_image_content(image_id=image.id)
        assert hurried.images.get_image_content(image_id=image.id, timeout=60).content == big  # a call may override it


def test_the_token_comes_from_a_file_or_the_environment(api, tmp_path, monkeypatch):
    token_file = tmp_path / "alice.token"
    token_file.write_text(api.alice.token + "\n")
    with cellhub.Client(api.server.address, token_file=token_file, options=CHANNEL_OPTIONS) as client:
        assert client.stats.get_dashboard_metrics().metrics is not None
    monkeypatch.setenv("CELLHUB_TOKEN_FILE", str(token_file))
    with cellhub.Client(api.server.address, options=CHANNEL_OPTIONS) as client:
        client.stats.get_dashboard_metrics()
    monkeypatch.delenv("CELLHUB_TOKEN_FILE")
    monkeypatch.setenv("CELLHUB_TOKEN", api.bob.token)
    with cellhub.Client(api.server.address, options=CHANNEL_OPTIONS) as client:
        name = f"env-{uuid.uuid4().hex[:8]}"
        assert client.projects.create_project(name=name).project.owner.user_name == "bob"


# ---------------------------------------------------------------------------------------------
# resuming streams across restarts


def check_chain(events, expected_images: int, uploads_done: int) -> None:
    """One snapshot, no RESYNC, no discrete event twice, revisions never go back, and the
    image-count changes chain from the snapshot's count to the final one, one per upload.
    (Stats updates are state, not events: a resume may send the current state again.)"""
    snapshots = [e for e in events if e.WhichOneof("payload") == "snapshot"]
    assert len(snapshots) == 1 and not cellhub.is_resync(snapshots[0]), "resumed without a new snapshot"
    committed = [e for e in events
                 if e.WhichOneof("payload") not in ("presence", "progress", "caught_up", "snapshot", "stats_update")]
    keys = [(e.revision, e.sequence) for e in committed]
    assert len(keys) == len(set(keys)), f"an event arrived twice: {keys}"
    revisions = [e.revision for e in events if e.WhichOneof("payload") != "presence"]
    assert revisions == sorted(revisions), "a revision went back"
    count = snapshots[0].snapshot.project.stats.image_count
    changes = [e.image_count_change for e in committed if e.WhichOneof("payload") == "image_count_change"]
    assert len(changes) == uploads_done, f"{len(changes)} image-count changes for {uploads_done} uploads"
    for change in changes:
        assert change.previous_image_count == count, "an image-count change is missing"
        count = change.new_image_count
    assert count == expected_images


def test_watch_project_resumes_across_sigterm_and_sigkill_restarts(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    token = add_user(data, "alice")
    target = Restartable(data)
    client = client_for(f"127.0.0.1:{target.port}", token, timeout=10)
    try:
        project = client.projects.create_project(name="resume").project
        events: list = []
        ended: list[BaseException] = []
        backoff = cellhub.Backoff(initial=0.05, maximum=0.5)

        def watch() -> None:
            try:
                for event in client.stats.watch_project(project.id, min_update_interval_ms=0, backoff=backoff):
                    events.append(event)
            except BaseException as error:  # noqa: BLE001 - reported to the test thread
                ended.append(error)

        threading.Thread(target=watch, daemon=True).start()
        poll_until(lambda: any(e.WhichOneof("payload") == "caught_up" for e in events), what="caught up")
        done = 0
        for round_, sig in enumerate((signal.SIGTERM, signal.SIGKILL, None)):
            for batch in range(3):
                retry_upload(client, project.id, uploads(2, 10 * round_ + batch))
                done += 1
            if sig is not None:
                target.restart(sig)
        poll_until(lambda: events and events[-1].revision >= client.stats.get_project_stats(project_id=project.id).stats.revision
                   and sum(e.WhichOneof("payload") == "image_count_change" for e in events) >= done, what="the last change")
        assert not ended, f"the watcher stopped: {ended}"
        check_chain(events, expected_images=2 * done, uploads_done=done)
        final = client.stats.get_project_stats(project_id=project.id).stats
        poll_until(lambda: last_stats(events) is not None and last_stats(events).image_count == final.image_count, what="exact stats")
        assert stats_numbers(last_stats(events)) == stats_numbers(final), "the stream's last stats are the project's"
    finally:
        client.close()
        target.server.kill()


def last_stats(events):
    """The ProjectStats of the last SNAPSHOT or PROJECT_STATS_UPDATE."""
    for event in reversed(events):
        kind = event.WhichOneof("payload")
        if kind == "stats_update":
            return event.stats_update.stats
        if kind == "snapshot":
            return event.snapshot.project.stats
    return None


def stats_numbers(stats) -> dict:
    """Every figure but the revision and update time (a later change that moves nothing moves those)."""
    return {f.name: getattr(stats, f.name) for f in stats.DESCRIPTOR.fields if f.name not in ("revision", "updated_at_unix_ms")}


def test_aio_watch_resumes_across_sigterm_and_sigkill_restarts(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    token = add_user(data, "alice")
    target = Restartable(data)
    address = f"127.0.0.1:{target.port}"

    async def scenario() -> tuple[list, int]:
        async with cellhub.aio.Client(address, token=token, options=CHANNEL_OPTIONS, timeout=10) as client:
            project = (await client.projects.create_project(name="resume-aio")).project
            events: list = []
            backoff = cellhub.Backoff(initial=0.05, maximum=0.5)

            async def watch() -> None:
                async for event in client.stats.watch_project(project.id, min_update_interval_ms=0, backoff=backoff):
                    events.append(event)

            watcher = asyncio.create_task(watch())

            async def until(predicate, what: str) -> None:
                deadline = time.monotonic() + WAIT
                while not predicate():
                    assert not watcher.done(), f"the watcher stopped: {watcher.exception()}"
                    assert time.monotonic() < deadline, f"timed out waiting for {what}"
                    await asyncio.sleep(0.02)

            await until(lambda: any(e.WhichOneof("payload") == "caught_up" for e in events), "caught up")
            done = 0
            for round_, sig in enumerate((signal.SIGTERM, signal.SIGKILL, None)):
                for batch in range(3):
                    key = str(uuid.uuid4())
                    for _ in range(100):
                        try:
                            await client.images.upload_images(project_id=project.id, images=uploads(2, 50 + 10 * round_ + batch),
                                                              idempotency_key=key)
                            break
                        except cellhub.Unavailable:
                            await asyncio.sleep(0.1)
                    done += 1
                if sig is not None:
                    await asyncio.to_thread(target.restart, sig)
            await until(lambda: sum(e.WhichOneof("payload") == "image_count_change" for e in events) >= done,
                        "the last change")
            watcher.cancel()
            return events, done

    try:
        events, done = asyncio.run(scenario())
        check_chain(events, expected_images=2 * done, uploads_done=done)
    finally:
        target.server.kill()


def test_watch_ends_with_permission_denied_when_access_is_revoked(api):
    with client_for(api.server.address, api.alice.token) as alice, client_for(api.server.address, api.bob.token) as bob:
        project = alice.projects.create_project(name=f"revoke-{uuid.uuid4().hex[:8]}").project
        alice.projects.share_project(project_id=project.id, user_name="bob", role=common_pb2.ROLE_VIEWER)
        seen: list = []
        with pytest.raises(cellhub.PermissionDenied):
            for event in bob.stats.watch_project(project.id):
                seen.append(event.WhichOneof("payload"))
                if event.WhichOneof("payload") == "caught_up":
                    alice.projects.revoke_share(project_id=project.id, user_name="bob")
        assert "access_revoked" in seen
        with pytest.raises(cellhub.NotFound):
            next(iter(bob.stats.watch_project(project.id)))


def test_watch_dashboard_and_activity_follow_changes(api):
    with client_for(api.server.address, api.alice.token) as alice:
        dashboard = alice.stats.watch_dashboard(min_update_interval_ms=0)
        first = next(dashboard)
        assert first.WhichOneof("payload") == "snapshot"
        activity = alice.stats.watch_activity(backlog_size=0)
        assert next(activity).WhichOneof("payload") == "caught_up"
        project = alice.projects.create_project(name=f"dash-{uuid.uuid4().hex[:8]}").project
        alice.images.upload_images(project_id=project.id, images=uploads(1, 77))
        total = first.snapshot.metrics.total_images
        for event in dashboard:
            if event.WhichOneof("payload") == "metrics_update" and event.metrics_update.metrics.total_images == total + 1:
                break
        entry = next(e for e in activity if e.WhichOneof("payload") == "user_activity")
        assert entry.project_id == project.id
        dashboard.close()
        activity.close()


# ---------------------------------------------------------------------------------------------
# the worker helper


@pytest.fixture
def worker_api(tmp_path_factory):
    api = start_api(tmp_path_factory, users=("alice",))
    api.worker_token = add_user(api.data_dir, "pyworker", "--worker")
    yield api
    api.close()


def enqueue_images(api, count: int, seed: int) -> tuple[str, list[str]]:
    with client_for(api.server.address, api.alice.token) as alice:
        project = alice.projects.create_project(name=f"jobs-{uuid.uuid4().hex[:8]}").project
        ids = [i.id for i in alice.images.upload_images(project_id=project.id, images=uploads(count, seed)).images]
        alice.segmentation.enqueue_segmentation(project_id=project.id, images=segmentation_pb2.ImageIdList(image_ids=ids))
        return project.id, ids


def segmented(api, project_id: str) -> int:
    with client_for(api.server.address, api.alice.token) as alice:
        return alice.stats.get_project_stats(project_id=project_id).stats.segmented_count


def test_worker_helper_completes_jobs_and_renews_leases(tmp_path_factory):
    # Leases of 2 s: a job the model holds for 3 s survives only if the helper renews it.
    data = tmp_path_factory.mktemp("cellhub-jobs")
    alice_token = add_user(data, "alice")
    worker_token = add_user(data, "pyworker", "--worker")
    server = Server(data, ["--lease-duration", "2"])
    try:
        with client_for(server.address, alice_token) as alice, client_for(server.address, worker_token) as worker:
            project = alice.projects.create_project(name="jobs").project
            ids = [i.id for i in alice.images.upload_images(project_id=project.id, images=uploads(4, 90)).images]
            alice.segmentation.enqueue_segmentation(project_id=project.id, images=segmentation_pb2.ImageIdList(image_ids=ids))
            jobs = worker.segmentation.jobs(concurrency=2, worker_name="helper")
            for number, job in enumerate(jobs):
                assert job.image_id in ids and job.content.startswith(b"\x89PNG")
                if number == 0:
                    time.sleep(3)
                job.complete(polygons=[[(0, 0), (4, 0), (4, 4), (0, 4)]])
                if number == len(ids) - 1:
                    break
            jobs.close()
            stats = alice.stats.get_project_stats(project_id=project.id).stats
            assert stats.segmented_count == 4 and stats.queued_count == 0
            result = alice.segmentation.get_segmentation(image_id=ids[0]).result
            assert result.cell_count == 1 and result.polygons[0].area_px == 16
            attempts = [alice.segmentation.get_job(job_id=alice.images.get_image(image_id=i).image.job_id).job.attempts
                        for i in ids]
            assert attempts == [1, 1, 1, 1], "a lease expired while its job ran: not renewed"
    finally:
        server.stop()


def test_worker_helper_sees_a_revoked_lease_and_fails_jobs(worker_api):
    project_id, ids = enqueue_images(worker_api, 2, 95)
    with client_for(worker_api.server.address, worker_api.worker_token) as worker, \
            client_for(worker_api.server.address, worker_api.alice.token) as alice:
        jobs = worker.segmentation.jobs(concurrency=1)
        first = next(jobs)
        alice.segmentation.cancel_segmentation(jobs=segmentation_pb2.JobIdList(job_ids=[first.job_id]))
        poll_until(lambda: first.revoked is not None, what="the lease revoked")
        with pytest.raises(cellhub.FailedPrecondition):
            first.complete(polygons=[])
        second = next(jobs)
        assert second.image_id != first.image_id
        assert second.fail("unreadable", retryable=False) is False
        jobs.close()
        image = alice.images.get_image(image_id=second.image_id).image
        assert image.failure_reason == "unreadable"


def test_aio_worker_helper_completes_jobs(worker_api):
    project_id, ids = enqueue_images(worker_api, 3, 97)

    async def work() -> None:
        async with cellhub.aio.Client(worker_api.server.address, token=worker_api.worker_token,
                                      options=CHANNEL_OPTIONS) as worker:
            done = 0
            async for job in worker.segmentation.jobs(concurrency=3):
                await job.complete(polygons=[[(0, 0), (2, 0), (2, 2)]])
                done += 1
                if done == len(ids):
                    break

    asyncio.run(asyncio.wait_for(work(), WAIT))
    assert segmented(worker_api, project_id) == 3


# ---------------------------------------------------------------------------------------------
# as a user installs it


def test_the_package_installs_with_pip_into_a_fresh_venv_at_its_lowest_versions(api, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # Built from a copy: a user's checkout gets no build debris (egg-info) from the test.
    source = tmp_path / "src"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "build"))
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(source),
         "grpcio==1.76.0", "protobuf==6.31.1"], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    script = tmp_path / "smoke.py"
    script.write_text(
        "import sys, cellhub, cellhub.aio, google.protobuf\n"
        "assert 'site-packages' in cellhub.__file__, cellhub.__file__\n"
        "with cellhub.Client(sys.argv[1], token=sys.argv[2], options=[('grpc.enable_http_proxy', 0)]) as c:\n"
        "    p = c.projects.create_project(name='from-a-venv').project\n"
        "    try:\n"
        "        c.projects.create_project(name='from-a-venv')\n"
        "    except cellhub.AlreadyExists as e:\n"
        "        print(p.id, e.code.name, google.protobuf.__version__)\n")
    ran = subprocess.run([str(python), str(script), api.server.address, api.bob.token], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert ran.returncode == 0, ran.stderr[-3000:]
    project_id, code, version = ran.stdout.split()
    assert code == "ALREADY_EXISTS" and version == "6.31.1"
    with client_for(api.server.address, api.bob.token) as bob:
        assert bob.projects.get_project(project_id=project_id).project.name == "from-a-venv"


def test_mypy_strict_passes_on_the_package_and_its_examples():
    mypy = Path(sys.executable).parent / "mypy"
    checked = subprocess.run([str(mypy), "--strict"], cwd=PACKAGE, capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    assert "Success" in checked.stdout
