"""The `cellhub` CLI (the built binary: CELLHUB_CLI, default .build/release/cellhub) against a real
cellhubd: every command's `-o json` checked against the API's state (read with the Python client),
uploads with progress and idempotent reruns, `watch project` across a restart and a revocation,
the live card in a pseudo-terminal, `call` for every unary method and a stream, exit statuses,
`login`'s config file, `describe` and `--help`."""
from __future__ import annotations

import base64
import json
import os
import re
import pty
import select
import signal
import stat
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from api_support import Restartable, add_user, png, requires_cellhubd, retry_upload, start_api
from conftest import CHANNEL_OPTIONS, REPO

import cellhub  # noqa: E402  (api_support put Clients/python on the path)
from cellhub.v1 import common_pb2, images_pb2, segmentation_pb2  # noqa: E402

pytestmark = requires_cellhubd
CLI = Path(os.environ.get("CELLHUB_CLI", REPO / ".build/release/cellhub"))
WAIT = 30.0


def environment(tmp: Path, server: str | None, token: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLHUB_") and k not in ("NO_COLOR",)}
    env["CELLHUB_CONFIG"] = str(tmp / "cellhub-config")
    env["HOME"] = str(tmp)
    if server:
        env["CELLHUB_SERVER"] = server
    if token:
        env["CELLHUB_TOKEN"] = token
    env.update(extra)
    return env


class Cli:
    """Runs the binary as one user."""

    def __init__(self, tmp: Path, server: str, token: str | None):
        self.tmp, self.server, self.token = tmp, server, token

    def env(self, **extra: str) -> dict[str, str]:
        return environment(self.tmp, self.server, self.token, **extra)

    def run(self, *args: str, check: bool = True, timeout: float = 60, **extra: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=timeout, env=self.env(**extra),
                              stdin=subprocess.DEVNULL)
        if check:
            assert done.returncode == 0, f"cellhub {' '.join(args)} -> {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
        return done

    def json(self, *args: str) -> dict:
        return json.loads(self.run(*args, "-o", "json").stdout)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    assert CLI.is_file(), f"cellhub not found at {CLI}: swift build -c release --product cellhub, or set CELLHUB_CLI"
    api = start_api(tmp_path_factory, users=("alice", "bob"))
    yield api
    api.close()


@pytest.fixture
def alice(api, tmp_path):
    return Cli(tmp_path, api.server.address, api.alice.token)


@pytest.fixture
def bob(api, tmp_path):
    return Cli(tmp_path, api.server.address, api.bob.token)


def python_client(api, who: str = "alice") -> cellhub.Client:
    return cellhub.Client(api.server.address, token=getattr(api, who).token, options=CHANNEL_OPTIONS)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def image_folder(tmp: Path, count: int, seed: int = 0) -> Path:
    folder = tmp / f"images-{seed}"
    (folder / "sub").mkdir(parents=True)
    for i in range(count):
        (folder / ("sub" if i % 2 else "") / f"cell-{i:04}.png").write_bytes(png(seed * 10_000 + i, 4, 4))
    (folder / "notes.txt").write_text("not an image")
    return folder


# ---------------------------------------------------------------------------------------------
# projects


def test_projects_commands_in_json_match_the_api(api, alice, bob):
    name = unique("cli")
    created = alice.json("projects", "create", name, "--description", "from the CLI")["project"]
    project_id = created["id"]
    assert created["name"] == name and created["projectDescription"] == "from the CLI" and created["callerRole"] == "ROLE_OWNER"
    with python_client(api) as client:
        assert client.projects.get_project(project_id=project_id).project.name == name
    listed = alice.json("projects", "list", "--owned")
    assert project_id in [p["id"] for p in listed["projects"]]
    # A project is named by id or by name.
    assert alice.json("projects", "show", name)["project"]["id"] == project_id
    renamed = alice.json("projects", "rename", project_id, name + "-2")["project"]
    assert renamed["name"] == name + "-2"
    shared = alice.json("projects", "share", project_id, "bob", "--role", "editor")
    assert shared["created"] is True and shared["member"]["role"] == "ROLE_EDITOR"
    members = alice.json("projects", "shares", project_id)["members"]
    assert {m["user"]["userName"]: m["role"] for m in members} == {"alice": "ROLE_OWNER", "bob": "ROLE_EDITOR"}
    assert project_id in [p["id"] for p in bob.json("projects", "list", "--shared")["projects"]]
    bob.run("projects", "leave", project_id)
    with python_client(api) as client:
        assert [m.user.user_name for m in client.projects.list_shares(project_id=project_id).members] == ["alice"]
    alice.run("projects", "share", project_id, "bob")
    alice.run("projects", "unshare", project_id, "bob")
    assert bob.run("projects", "show", project_id, check=False).returncode == 66
    deleted = alice.json("projects", "delete", project_id)
    assert deleted.get("deletedImageCount", "0") == "0"
    with python_client(api) as client, pytest.raises(cellhub.NotFound):
        client.projects.get_project(project_id=project_id)


def test_tables_are_plain_without_a_terminal(alice):
    name = unique("table")
    alice.run("projects", "create", name)
    out = alice.run("projects", "list").stdout
    assert out.splitlines()[0].split()[:3] == ["ID", "NAME", "ROLE"] and name in out
    assert "\x1b[" not in out, "no colour codes when stdout is not a terminal"


# ---------------------------------------------------------------------------------------------
# images


def test_upload_of_200_images_prints_progress_lines_and_stores_them_all(api, alice, tmp_path):
    project_id = alice.json("projects", "create", unique("upload"))["project"]["id"]
    folder = image_folder(tmp_path, 200, seed=1)
    done = alice.run("images", "upload", str(folder), "--project", project_id, "--recursive")
    progress = [line for line in done.stderr.splitlines() if line.startswith("uploaded ")]
    assert len(progress) == 2, done.stderr  # one line per batch of 100, no terminal control codes
    assert progress[0].startswith("uploaded 100/200 images") and progress[1].startswith("uploaded 200/200 images")
    assert "images/s" in progress[1] and "\r" not in done.stderr
    assert "uploaded 200 images" in done.stdout
    with python_client(api) as client:
        listed = client.images.list_images(project_id=project_id, page_size=500)
        assert listed.total_size == 200
        assert sorted(i.name for i in listed.images) == sorted(f"cell-{i:04}.png" for i in range(200))
    # A folder needs --recursive; a non-image file named explicitly is refused.
    assert alice.run("images", "upload", str(folder), "--project", project_id, check=False).returncode == 64
    assert alice.run("images", "upload", str(folder / "notes.txt"), "--project", project_id, check=False).returncode == 64


def test_rerunning_an_interrupted_upload_stores_no_duplicates(api, alice, tmp_path):
    project_id = alice.json("projects", "create", unique("rerun"))["project"]["id"]
    folder = image_folder(tmp_path, 600, seed=2)
    args = [str(CLI), "images", "upload", str(folder), "--project", project_id, "--recursive"]
    proc = subprocess.Popen(args, env=alice.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()
    proc.kill()  # interrupted after its first batch
    proc.communicate(timeout=10)
    assert first.startswith("uploaded 100/600 images"), first
    with python_client(api) as client:
        stored = client.images.list_images(project_id=project_id, page_size=500).total_size
    assert 100 <= stored <= 300, stored  # at most the batches in flight when it was killed
    again = alice.run("images", "upload", str(folder), "--project", project_id, "--recursive")
    # A batch sent just before the kill may still have been stored after the count above.
    replayed = re.search(r"^(\d+) of the images were already uploaded", again.stderr, re.MULTILINE)
    assert replayed and stored <= int(replayed.group(1)) < 600 and int(replayed.group(1)) % 100 == 0, again.stderr
    with python_client(api) as client:
        names, token = [], ""
        while True:
            page = client.images.list_images(project_id=project_id, page_size=500, page_token=token)
            names += [i.name for i in page.images]
            if not (token := page.next_page_token):
                break
    assert len(names) == 600 and len(set(names)) == 600, "every image once"


def test_images_list_show_download_delete(api, alice, tmp_path):
    project_id = alice.json("projects", "create", unique("imgs"))["project"]["id"]
    folder = image_folder(tmp_path, 3, seed=3)
    uploaded = alice.json("images", "upload", str(folder), "--project", project_id, "--recursive")["images"]
    assert len(uploaded) == 3
    listed = alice.json("images", "list", project_id)
    assert listed["totalSize"] == "3" and {i["id"] for i in listed["images"]} == {i["id"] for i in uploaded}
    assert alice.json("images", "list", project_id, "--status", "none")["totalSize"] == "3"
    first = uploaded[0]
    shown = alice.json("images", "show", first["id"])["image"]
    assert shown["name"] == first["name"] and shown["status"] == "SEGMENTATION_STATUS_NO_SEGMENTATION"
    target = tmp_path / "copy.png"
    alice.run("images", "download", first["id"], "-O", str(target))
    assert target.read_bytes() == (folder / first["name"]).read_bytes() or target.read_bytes() == (folder / "sub" / first["name"]).read_bytes()
    alice.run("images", "delete", first["id"])
    alice.run("images", "delete", uploaded[1]["id"], uploaded[2]["id"], "--project", project_id)
    with python_client(api) as client:
        assert client.images.list_images(project_id=project_id).total_size == 0


# ---------------------------------------------------------------------------------------------
# segmentation, stats


def test_segment_commands(api, alice, tmp_path):
    project_id = alice.json("projects", "create", unique("seg"))["project"]["id"]
    images = alice.json("images", "upload", str(image_folder(tmp_path, 3, seed=4)), "--project", project_id, "--recursive")["images"]
    queued = alice.json("segment", "enqueue", "--project", project_id, "--unsegmented")
    assert queued["enqueuedCount"] == "3" and len(queued["jobs"]) == 3
    job_id = queued["jobs"][0]["jobId"]
    status = alice.json("segment", "status", job_id)["job"]
    assert status["status"] == "JOB_STATUS_QUEUED" and status["imageId"] == queued["jobs"][0]["imageId"]
    queue = alice.json("segment", "queue", "--project", project_id)
    assert queue["scopeQueuedCount"] == "3"
    cancelled = alice.json("segment", "cancel", queued["jobs"][2]["jobId"])
    assert cancelled["cancelledCount"] == "1"
    # A worker completes one job; its result reads back through the CLI.
    worker_token = add_user(api.data_dir, unique("w"), "--worker")
    with cellhub.Client(api.server.address, token=worker_token, options=CHANNEL_OPTIONS) as worker:
        jobs = worker.segmentation.jobs()
        job = next(jobs)
        job.complete(polygons=[[(0, 0), (3, 0), (3, 3), (0, 3)]])
        jobs.close()
    result = alice.json("segment", "result", job.image_id)
    assert result["result"]["cellCount"] == "1" and result["jobId"] == job.job_id
    stats = alice.json("stats", project_id)["stats"]
    # The third job is queued, or already pushed to the worker's stream before it closed.
    assert (stats["imageCount"], stats["segmentedCount"]) == ("3", "1")
    assert int(stats.get("queuedCount", "0")) + int(stats.get("processingCount", "0")) == 1
    with python_client(api) as client:
        assert client.stats.get_project_stats(project_id=project_id).stats.revision == int(stats["revision"])
        assert client.images.get_image(image_id=images[0]["id"]).image.project_id == project_id


def test_dashboard_and_activity(api, alice):
    name = unique("dash")
    alice.run("projects", "create", name)
    with python_client(api) as client:
        expected = client.stats.get_dashboard_metrics(time_zone="Asia/Kolkata").metrics
    dashboard = alice.json("dashboard", "--time-zone", "Asia/Kolkata")["metrics"]
    assert dashboard["totalProjects"] == str(expected.total_projects) and dashboard["timeZone"] == "Asia/Kolkata"
    entries = alice.json("activity", "--limit", "5")["entries"]
    assert entries and entries[0]["userActivity"]["projectName"] == name
    assert alice.run("dashboard", "--time-zone", "Nowhere/Atlantis", check=False).returncode == 65


# ---------------------------------------------------------------------------------------------
# live: watch project


class Lines:
    """A process's stdout lines collected by a thread."""

    def __init__(self, proc: subprocess.Popen):
        self.proc, self.lines = proc, []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def events(self) -> list[dict]:
        return [json.loads(line) for line in list(self.lines)]

    def wait(self, predicate, what: str, timeout: float = WAIT) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            if predicate(events):
                return events
            assert self.proc.poll() is None or predicate(self.events()), f"the CLI exited ({self.proc.returncode}) waiting for {what}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {events[-5:]}"
            time.sleep(0.02)


def count_changes(events) -> list[tuple[int, int]]:
    return [(int(e["imageCountChange"].get("previousImageCount", "0")), int(e["imageCountChange"]["newImageCount"]))
            for e in events if "imageCountChange" in e]


def test_watch_project_json_follows_another_users_uploads_across_a_restart_and_ends_on_revocation(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    alice_token, bob_token = add_user(data, "alice"), add_user(data, "bob")
    target = Restartable(data)
    address = f"127.0.0.1:{target.port}"
    alice = cellhub.Client(address, token=alice_token, options=CHANNEL_OPTIONS, timeout=10)
    try:
        project = alice.projects.create_project(name="live").project
        alice.projects.share_project(project_id=project.id, user_name="bob", role=common_pb2.ROLE_VIEWER)
        bob = Cli(tmp_path, address, bob_token)
        proc = subprocess.Popen([str(CLI), "watch", "project", project.id, "-o", "json", "--interval", "0"], env=bob.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = Lines(proc)
        lines.wait(lambda ev: any("caughtUp" in e for e in ev), "caught up")

        def upload(count: int, seed: int) -> None:
            retry_upload(alice, project.id, [images_pb2.ImageUpload(name=f"i{seed}-{i}.png", content_type="image/png",
                                                                    content=png(seed * 100 + i)) for i in range(count)])

        upload(2, 1)
        lines.wait(lambda ev: count_changes(ev) == [(0, 2)], "alice's first upload")
        target.restart(signal.SIGTERM)
        upload(3, 2)
        events = lines.wait(lambda ev: count_changes(ev) == [(0, 2), (2, 5)], "the upload after the restart")
        snapshots = [e for e in events if "snapshot" in e]
        assert len(snapshots) == 1, "resumed without a new snapshot"
        state_or_control = ("statsUpdate", "presence", "progress", "caughtUp", "snapshot")
        discrete = [(e["revision"], e.get("sequence", 0)) for e in events if not any(k in e for k in state_or_control)]
        assert len(discrete) == len(set(discrete)), "an event arrived twice"
        alice.projects.revoke_share(project_id=project.id, user_name="bob")
        assert proc.wait(timeout=WAIT) == 66, proc.stderr.read()
        assert any("accessRevoked" in e for e in lines.events())
        assert "PERMISSION_DENIED" in proc.stderr.read()
    finally:
        alice.close()
        target.server.kill()


def test_the_live_card_in_a_terminal_shows_the_final_counts_after_a_burst(api, tmp_path):
    with python_client(api) as client:
        project = client.projects.create_project(name=unique("card")).project
        pid, fd = pty.fork()
        if pid == 0:  # the child: the CLI on a terminal
            os.execve(str(CLI), [str(CLI), "watch", "project", project.id],
                      environment(tmp_path, api.server.address, api.alice.token, TERM="xterm", COLUMNS="120"))
        screen = b""

        def read_for(seconds: float) -> None:
            nonlocal screen
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if ready:
                    try:
                        screen += os.read(fd, 65536)
                    except OSError:
                        return

        try:
            read_for(1.0)
            for batch in range(5):
                client.images.upload_images(project_id=project.id, images=[
                    images_pb2.ImageUpload(name=f"b{batch}-{i}.png", content_type="image/png", content=png(batch * 100 + i))
                    for i in range(20)])
            deadline = time.monotonic() + WAIT
            while b"images 100 " not in last_card(screen):
                assert time.monotonic() < deadline, f"the card never showed 100 images: {screen[-2000:]!r}"
                read_for(0.2)
        finally:
            os.kill(pid, signal.SIGINT)
            os.waitpid(pid, 0)
            os.close(fd)
    text = screen.decode("utf-8", "replace")
    assert text.count("\x1b[2K") > 10 and "F\x1b[2K" in text, "the card is redrawn in place (cursor up, clear line)"
    card = last_card(screen).decode("utf-8", "replace")
    assert "images 100 " in card and project.name in card and "live" in card and "segmented 0" in card


def last_card(screen: bytes) -> bytes:
    """The lines of the last redraw: what the terminal shows now."""
    start = screen.rfind(b"\x1b[1m")  # the card's first line starts with the bold project name
    return screen[start:] if start >= 0 else b""


# ---------------------------------------------------------------------------------------------
# call, describe


def unary_requests(api) -> dict[str, dict]:
    """A valid JSON request for every unary method, against fresh state."""
    with python_client(api) as client:
        project = client.projects.create_project(name=unique("call")).project
        images = client.images.upload_images(project_id=project.id, images=[
            images_pb2.ImageUpload(name=f"c{i}.png", content_type="image/png", content=png(700 + i)) for i in range(4)]).images
        queued = client.segmentation.enqueue_segmentation(
            project_id=project.id, images=segmentation_pb2.ImageIdList(image_ids=[images[0].id, images[1].id]))
    content = base64.b64encode(png(799)).decode()
    return {
        "ProjectService/CreateProject": {"name": unique("called")},
        "ProjectService/GetProject": {"projectId": project.id},
        "ProjectService/ListProjects": {"pageSize": 5, "filter": "PROJECT_FILTER_OWNED"},
        "ProjectService/UpdateProject": {"projectId": project.id, "projectDescription": "via call"},
        "ProjectService/ShareProject": {"projectId": project.id, "userName": "bob", "role": "ROLE_VIEWER"},
        "ProjectService/ListShares": {"project_id": project.id},  # proto field names are accepted too
        "ProjectService/RevokeShare": {"projectId": project.id, "userName": "bob"},
        "ImageService/UploadImages": {"projectId": project.id, "images": [{"name": "x.png", "contentType": "image/png", "content": content}]},
        "ImageService/GetImage": {"imageId": images[3].id},
        "ImageService/ListImages": {"projectId": project.id},
        "ImageService/GetImageContent": {"imageId": images[3].id},
        "SegmentationService/EnqueueSegmentation": {"projectId": project.id, "images": {"imageIds": [images[2].id]}},
        "SegmentationService/GetJob": {"jobId": queued.jobs[0].job_id},
        "SegmentationService/GetQueueStats": {"projectId": project.id},
        "SegmentationService/CancelSegmentation": {"jobs": {"jobIds": [queued.jobs[1].job_id]}},
        "StatsService/GetProjectStats": {"projectId": project.id},
        "StatsService/GetDashboardMetrics": {"timeZone": "UTC"},
        "StatsService/ListActivity": {"pageSize": 3},
        "ImageService/DeleteImage": {"imageId": images[3].id},
        "ImageService/DeleteImages": {"projectId": project.id, "imageIds": [images[2].id]},
        "ProjectService/DeleteProject": {"projectId": project.id},
    }


WORKER_ONLY = {"ClaimJobs", "RenewJobLease", "CompleteJob", "FailJob", "GetSegmentation"}


def test_call_reaches_every_unary_method_with_json_in_and_out(api, alice, tmp_path):
    described = [json.loads(line) for line in alice.run("describe", "-o", "json").stdout.splitlines()]
    unary = {d["method"].split(".v1.", 1)[1] for d in described if d["method"].startswith("/cellhub.v1.") and d["kind"] == "unary"}
    requests = unary_requests(api)
    covered = set(requests) | {f"SegmentationService/{m}" for m in WORKER_ONLY}
    assert unary <= covered, f"methods without a call test: {unary - covered}"
    for method, request in requests.items():  # in order: deletions last
        done = alice.run("call", method, "-d", json.dumps(request))
        reply = json.loads(done.stdout)
        assert isinstance(reply, dict), method
    # Replies are proto3 JSON: 64-bit integers as strings, enums by name, defaults left out.
    stats = json.loads(alice.run("call", "StatsService/GetDashboardMetrics", "-d", "{}").stdout)["metrics"]
    assert isinstance(stats["totalProjects"], str) and "queuePosition" not in stats
    # A request from a file; a bad request is an invalid argument (65), an unknown method a usage error (64).
    body = tmp_path / "request.json"
    body.write_text(json.dumps({"name": unique("from-file")}))
    assert json.loads(alice.run("call", "cellhub.v1.ProjectService/CreateProject", "-d", f"@{body}").stdout)["project"]["name"]
    assert alice.run("call", "ProjectService/CreateProject", "-d", '{"nom": "x"}', check=False).returncode == 65
    assert alice.run("call", "ProjectService/Nothing", check=False).returncode == 64
    # The worker-only methods answer PERMISSION_DENIED to a user (66), as JSON in, status out.
    assert alice.run("call", "SegmentationService/RenewJobLease", "-d", '{"jobId": "x", "leaseId": "y"}', check=False).returncode in (65, 66)


def test_call_prints_a_stream_as_json_lines(api, alice):
    proc = subprocess.Popen([str(CLI), "call", "StatsService/WatchDashboard", "-d", '{"minUpdateIntervalMs": 0}'],
                            env=alice.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = Lines(proc)
    try:
        first = lines.wait(lambda ev: len(ev) >= 1, "the snapshot")[0]
        assert "snapshot" in first and first["epoch"]
        alice.run("projects", "create", unique("stream"))
        lines.wait(lambda ev: any("metricsUpdate" in e for e in ev), "an update")
    finally:
        proc.kill()
        proc.wait()


def test_verbose_prints_headers_trailers_and_time(alice):
    done = alice.run("projects", "list", "-v")
    assert "> /cellhub.v1.ProjectService/ListProjects" in done.stderr
    assert "Bearer …" in done.stderr and alice.token not in done.stderr
    assert "< status OK in" in done.stderr


def test_describe_lists_services_and_shows_a_method(alice):
    everything = alice.run("describe").stdout
    for service in ("cellhub.v1.ProjectService", "cellhub.v1.ImageService", "cellhub.v1.SegmentationService", "cellhub.v1.StatsService"):
        assert service in everything
    one = alice.run("describe", "StatsService/WatchProject").stdout
    assert "returns (stream cellhub.v1.ProjectEvent)" in one and "string project_id = 1;" in one and "// " in one


# ---------------------------------------------------------------------------------------------
# exit statuses, login, help


def test_exit_statuses_say_what_went_wrong(api, alice, tmp_path):
    assert alice.run("projects", "show", str(uuid.uuid4()), check=False).returncode == 66
    assert alice.run("projects", "show", "no-such-name-" + uuid.uuid4().hex, check=False).returncode == 66
    assert alice.run("projects", "get", check=False).returncode == 64
    assert alice.run("projects", "create", "", check=False).returncode == 65
    stranger = Cli(tmp_path, api.server.address, "chub_" + "0" * 64)
    failed = stranger.run("projects", "list", check=False)
    assert failed.returncode == 77 and failed.stderr.startswith("cellhub: UNAUTHENTICATED")
    assert len(failed.stderr.strip().splitlines()) == 1
    nowhere = Cli(tmp_path, "127.0.0.1:1", api.alice.token)
    assert nowhere.run("projects", "list", "--timeout", "5", check=False).returncode == 69


def test_login_writes_a_private_config_that_later_commands_use(api, tmp_path):
    token_file = tmp_path / "alice.token"
    token_file.write_text(api.alice.token + "\n")
    env = environment(tmp_path, None, None)
    done = subprocess.run([str(CLI), "login", "--server", api.server.address, "--token-file", str(token_file)],
                          capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    config = Path(env["CELLHUB_CONFIG"])
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    listed = subprocess.run([str(CLI), "projects", "list", "-o", "json"], capture_output=True, text=True, env=env, timeout=30)
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), dict)
    # A bad token is refused at login, and nothing is written.
    token_file.write_text("chub_" + "1" * 64)
    config.unlink()
    refused = subprocess.run([str(CLI), "login", "--server", api.server.address, "--token-file", str(token_file)],
                             capture_output=True, text=True, env=env, timeout=30)
    assert refused.returncode == 77 and not config.exists()


@pytest.mark.parametrize("command", [
    ["login"], *[["projects", c] for c in ("list", "create", "show", "rename", "delete", "share", "unshare", "shares", "leave")],
    *[["images", c] for c in ("upload", "list", "show", "download", "delete")],
    *[["segment", c] for c in ("enqueue", "cancel", "status", "result", "queue")],
    ["stats"], ["dashboard"], ["activity"], ["watch", "project"], ["call"], ["describe"], [],
])
def test_every_command_has_help_with_an_example(command, tmp_path):
    done = subprocess.run([str(CLI), *command, "--help"], capture_output=True, text=True, env=environment(tmp_path, None, None), timeout=30)
    assert done.returncode == 0 and "Example" in done.stdout, done.stdout


def test_shell_completion_scripts_are_generated(tmp_path):
    for shell in ("bash", "zsh", "fish"):
        done = subprocess.run([str(CLI), "--generate-completion-script", shell], capture_output=True, text=True,
                              env=environment(tmp_path, None, None), timeout=30)
        assert done.returncode == 0 and "projects" in done.stdout
