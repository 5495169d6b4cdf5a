"""Crash safety of cellhubd's image store: SIGKILL the server while several clients upload and
delete images, restart it, and check that nothing acknowledged was lost, nothing half-done is
visible, the counters equal the rows (`cellhubd check`) and the image files equal the images.

Each cycle: start the server on the same data directory, hammer it from a few threads, SIGKILL it
at a random moment with calls in flight, run `check` offline (orphan files allowed, nothing else),
restart it (the start sweeps the orphans), verify every image over gRPC against a ledger of what
the clients sent and what the server acknowledged, stop it gracefully and run `check` again, which
must now be clean. Calls whose answer the kill swallowed may have committed or not, but wholly.

The random seed is printed in failure messages; CELLHUB_CRASH_SEED=N replays a run's choices
(not its timing).
"""
from __future__ import annotations

import os
import random
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from api_support import (
    API_OPTIONS,
    Client,
    add_user,
    cellhubd,
    images_pb2,
    ok,
    requires_cellhubd,
    sha256_hex,
)
from conftest import CHANNEL_OPTIONS, Server

pytestmark = requires_cellhubd

I = images_pb2
KiB = 1024
CYCLES = 3
WORKERS = 4
PROJECTS = 3
# The kill lands at a random moment in this window, but never before the minimums below were
# acknowledged (so a slow machine cannot make the test pass with nothing at stake).
KILL_AFTER = (2.0, 3.5)
MIN_UPLOAD_CALLS = 50
MIN_DELETE_CALLS = 25
MIN_WAIT = 25.0  # seconds to reach the minimums before the test gives up
# Content types by their magic bytes (the server checks only these); the rest is random.
MAGIC = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff\xe0",
    "image/tiff": b"II*\x00",
    "image/x-portable-graymap": b"P5\n",
}
EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/tiff": ".tif", "image/x-portable-graymap": ".pgm"}
SWEPT = "swept orphan image files"


def random_content(rng: random.Random, content_type: str) -> bytes:
    # Mostly small images (many calls per second), some up to 64 KiB.
    size = rng.randint(1 * KiB, 8 * KiB) if rng.random() < 0.7 else rng.randint(8 * KiB, 64 * KiB)
    magic = MAGIC[content_type]
    return magic + rng.randbytes(size - len(magic))


# ---------------------------------------------------------------------------------------------
# the ledger: what the clients sent and what the server acknowledged


@dataclass
class Known:
    """An image whose id the test knows (acknowledged, or found after a restart)."""
    id: str
    project_id: str
    name: str
    content_type: str
    content: bytes


@dataclass
class Upload:
    batch: str  # every image name starts with "<batch>-", so a batch is found again by name
    project_id: str
    items: list[tuple[str, str, bytes]]  # (name, content_type, content)
    key: str
    ids: list[str] | None = None  # set when acknowledged

    def request(self) -> I.UploadImagesRequest:
        return I.UploadImagesRequest(project_id=self.project_id, idempotency_key=self.key, images=[
            I.ImageUpload(name=n, content_type=t, content=c) for n, t, c in self.items])


@dataclass
class Delete:
    project_id: str
    doomed: list[Known]
    single: bool  # DeleteImage rather than DeleteImages
    acked: bool = False


@dataclass
class Worker:
    """One client thread. It deletes only images it owns, so its deletes never race another
    thread's and the outcome of every id is attributable to one call."""
    index: int
    cycle: int
    address: str
    token: str
    rng: random.Random
    shared: list[tuple[str, bytes]]
    pools: dict[str, list[Known]]  # project id -> images this worker owns (present, not being deleted)
    killing: threading.Event
    uploads: list[Upload] = field(default_factory=list)
    deletes: list[Delete] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # failures before the kill: server bugs

    @property
    def acked_uploads(self) -> int:
        return sum(u.ids is not None for u in self.uploads)

    @property
    def acked_deletes(self) -> int:
        return sum(d.acked for d in self.deletes)

    def run(self) -> None:
        channel = grpc.insecure_channel(self.address, options=CHANNEL_OPTIONS + API_OPTIONS)
        client = Client(channel, "crash", self.token)
        seq = 0
        try:
            while not self.killing.is_set():
                seq += 1
                project_id = self.rng.choice(sorted(self.pools))
                pool = self.pools[project_id]
                roll = self.rng.random()
                if roll < 0.5 or len(pool) < 5:
                    self.upload(client, project_id, f"c{self.cycle}w{self.index}n{seq}")
                elif roll < 0.85:
                    self.delete(client, project_id, self.rng.randint(1, min(40, len(pool))), single=False)
                else:
                    self.delete(client, project_id, 1, single=True)
        except grpc.RpcError as err:
            # After the kill this is expected: the call stays unacknowledged and the worker stops.
            if not self.killing.is_set():
                self.errors.append(f"worker {self.index}: {err.code().name}: {err.details()!r}")
        except Exception as err:  # noqa: BLE001 - the main thread fails the test with it
            self.errors.append(f"worker {self.index}: {type(err).__name__}: {err}")
        finally:
            channel.close()

    def upload(self, client: Client, project_id: str, batch: str) -> None:
        items = []
        for i in range(self.rng.randint(5, 50)):
            if self.rng.random() < 0.15:  # identical bytes across calls and projects share one file
                content_type, content = self.rng.choice(self.shared)
            else:
                content_type = self.rng.choice(sorted(MAGIC))
                content = random_content(self.rng, content_type)
            items.append((f"{batch}-{i:02d}{EXT[content_type]}", content_type, content))
        upload = Upload(batch, project_id, items, key=f"key-{batch}-{self.rng.getrandbits(64):x}")
        self.uploads.append(upload)  # recorded before the call: unanswered means in flight
        reply = client.images.UploadImages(upload.request())
        assert not reply.replayed and len(reply.images) == len(items), (
            f"{batch}: {len(reply.images)} images for {len(items)}, replayed={reply.replayed}")
        upload.ids = [image.id for image in reply.images]
        self.pools[project_id].extend(Known(image.id, project_id, n, t, c) for image, (n, t, c) in zip(reply.images, items))

    def delete(self, client: Client, project_id: str, count: int, single: bool) -> None:
        pool = self.pools[project_id]
        self.rng.shuffle(pool)
        delete = Delete(project_id, [pool.pop() for _ in range(count)], single)
        self.deletes.append(delete)
        freed = sum(len(k.content) for k in delete.doomed)
        if single:
            reply = client.images.DeleteImage(I.DeleteImageRequest(image_id=delete.doomed[0].id))
        else:
            reply = client.images.DeleteImages(I.DeleteImagesRequest(project_id=project_id, image_ids=[k.id for k in delete.doomed]))
            assert reply.deleted_count == count and not reply.missing_image_ids, f"DeleteImages of {count}: {reply}"
        assert reply.freed_bytes == freed, f"delete of {count} images freed {reply.freed_bytes} bytes, want {freed}"
        delete.acked = True


# ---------------------------------------------------------------------------------------------
# helpers


def list_all(client: Client, project_id: str) -> dict[str, I.Image]:
    images, token = {}, ""
    for _ in range(1000):
        reply = ok(client.images.ListImages, I.ListImagesRequest(project_id=project_id, page_size=500, page_token=token))
        for image in reply.images:
            assert image.id not in images, f"ListImages returned {image.id} twice"
            images[image.id] = image
        token = reply.next_page_token
        if not token:
            assert len(images) == reply.total_size, f"listed {len(images)} images, total_size says {reply.total_size}"
            return images
    raise AssertionError("ListImages never ends")


def list_projects(client: Client, projects: list[str]) -> dict[str, I.Image]:
    listed = {}
    for p in projects:
        listed.update(list_all(client, p))
    return listed


def blob_path(sha: str) -> str:
    return f"{sha[:2]}/{sha[2:]}"


def blob_files(data_dir: Path) -> dict[str, bytes]:
    """Every file under blobs/ (temporaries included), by path relative to blobs/."""
    root = data_dir / "blobs"
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if not p.is_dir()}


def sample(items, n: int = 5) -> str:
    items = sorted(items)
    return f"{len(items)}, e.g. {items[:n]}"


def hammer_and_kill(server: Server, token: str, rng: random.Random, cycle: int, shared, projects, live, ctx) -> list[Worker]:
    """Runs the workers against `server`, SIGKILLs it at a random moment, returns the workers."""
    killing = threading.Event()
    ordered = sorted(live.values(), key=lambda k: k.id)
    workers = []
    for w in range(WORKERS):
        pools = {p: [k for k in ordered[w::WORKERS] if k.project_id == p] for p in projects}
        workers.append(Worker(w, cycle, server.address, token, random.Random(rng.getrandbits(64)), shared, pools, killing))
    threads = [threading.Thread(target=w.run, name=f"crash-worker-{w.index}", daemon=True) for w in workers]
    for t in threads:
        t.start()
    started = time.monotonic()
    time.sleep(rng.uniform(*KILL_AFTER))

    def errors():
        return [e for w in workers for e in w.errors]

    while (sum(w.acked_uploads for w in workers) < MIN_UPLOAD_CALLS
           or sum(w.acked_deletes for w in workers) < MIN_DELETE_CALLS):
        assert not errors(), f"{ctx} calls failed before the kill:\n" + "\n".join(errors())
        assert time.monotonic() - started < MIN_WAIT, (
            f"{ctx} too slow: {sum(w.acked_uploads for w in workers)} uploads and "
            f"{sum(w.acked_deletes for w in workers)} deletes acknowledged in {MIN_WAIT}s")
        time.sleep(0.05)
    killing.set()
    server.kill()
    assert server.proc.returncode == -9, f"{ctx} server did not die of SIGKILL: exit {server.proc.returncode}"
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), f"{ctx} {t.name} still runs a minute after the kill"
    assert not errors(), f"{ctx} calls failed before the kill:\n" + "\n".join(errors())
    return workers


def check_crashed_directory(data_dir: Path, ctx: str) -> list[str]:
    """`check` right after the SIGKILL: files written for uncommitted uploads may be orphans
    (temporary files are removed by check), but no counter may be off and no image may lack
    its file. Returns the orphan paths."""
    result = cellhubd("check", data_dir=data_dir)
    # A crashed upload's temporary file is removed by check itself (no server runs): a note.
    lines = [line for line in result.stdout.splitlines() if not line.startswith("removed temporary file: ")]
    problems = [line for line in lines if not line.startswith("orphan file: ")]
    if result.returncode == 0:
        assert len(lines) == 1 and lines[0].startswith("ok:"), f"{ctx} check exit 0: {result.stdout!r}"
        return []
    assert result.returncode == 1, f"{ctx} check exit {result.returncode}: {result.stdout!r} {result.stderr!r}"
    assert not problems, f"{ctx} check after SIGKILL reports:\n" + "\n".join(problems[:40])
    assert lines, f"{ctx} check exit 1 without a problem on stdout: {result.stderr!r}"
    return [line.removeprefix("orphan file: ") for line in lines]


def verify_after_restart(client: Client, projects: list[str], workers: list[Worker], ctx: str) -> tuple[dict[str, Known], str]:
    """Compares the restarted server with the ledger; retries the uploads in flight at the kill
    with their idempotency keys; returns the images that now exist, and what became of the calls
    in flight."""
    uploads = [u for w in workers for u in w.uploads]
    deletes = [d for w in workers for d in w.deletes]
    in_flight_up = [u for u in uploads if u.ids is None]
    in_flight_del = [d for d in deletes if not d.acked]
    ctx = (f"{ctx} ({sum(u.ids is not None for u in uploads)} uploads and {sum(d.acked for d in deletes)} deletes "
           f"acknowledged; {len(in_flight_up)} uploads and {len(in_flight_del)} deletes in flight at the kill)")
    listed = list_projects(client, projects)

    # Acknowledged and never (even tentatively) deleted: must all be there.
    expected = {k.id: k for w in workers for pool in w.pools.values() for k in pool}
    lost = set(expected) - listed.keys()
    assert not lost, f"{ctx} acknowledged images lost: {sample(expected[i].name for i in lost)}"

    # Acknowledged deletes are durable; one in flight happened wholly or not at all.
    undone = {k.name for d in deletes if d.acked for k in d.doomed if k.id in listed}
    assert not undone, f"{ctx} acknowledged deletes undone: {sample(undone)}"
    applied = 0
    for d in in_flight_del:
        present = [k for k in d.doomed if k.id in listed]
        applied += not present
        assert len(present) in (0, len(d.doomed)), (
            f"{ctx} a DeleteImages in flight is half applied: {len(present)} of {len(d.doomed)} images remain")
        expected.update((k.id, k) for k in present)

    # An upload in flight committed wholly (its answer lost) or not at all.
    by_name = {image.name: image for image in listed.values()}
    committed: dict[str, list[str]] = {}
    for u in in_flight_up:
        found = [by_name[n] for n, _, _ in u.items if n in by_name]
        assert len(found) in (0, len(u.items)), (
            f"{ctx} upload {u.batch} in flight is half applied: {len(found)} of {len(u.items)} images exist")
        if found:
            committed[u.batch] = [image.id for image in found]
            expected.update((image.id, Known(image.id, u.project_id, n, t, c)) for image, (n, t, c) in zip(found, u.items))
    phantoms = listed.keys() - expected.keys()
    assert not phantoms, f"{ctx} images nobody uploaded: {sample(listed[i].name for i in phantoms)}"
    for known in expected.values():
        image = listed[known.id]
        got = (image.project_id, image.name, image.content_type, image.size_bytes, image.sha256_hex)
        want = (known.project_id, known.name, known.content_type, len(known.content), sha256_hex(known.content))
        assert got == want, f"{ctx} image {known.id} metadata {got[:4]} differs from the upload {want[:4]}"

    # A client retries what was unanswered with the same key: a replay if it committed, else a
    # fresh store. (The idempotency record must have committed with the images.)
    for u in in_flight_up:
        reply = ok(client.images.UploadImages, u.request(), f"{ctx} retry of {u.batch}")
        ids = [image.id for image in reply.images]
        if u.batch in committed:
            assert reply.replayed and ids == committed[u.batch], (
                f"{ctx} retry of committed upload {u.batch}: replayed={reply.replayed}, same ids={ids == committed[u.batch]}")
        else:
            assert not reply.replayed and len(ids) == len(u.items), (
                f"{ctx} retry of uncommitted upload {u.batch}: replayed={reply.replayed}, {len(ids)} images")
            expected.update((i, Known(i, u.project_id, n, t, c)) for i, (n, t, c) in zip(ids, u.items))

    listed = list_projects(client, projects)
    assert listed.keys() == expected.keys(), (
        f"{ctx} after the retries: missing {sample(expected.keys() - listed.keys())}, extra {sample(listed.keys() - expected.keys())}")
    # No image visible without its bytes, and the bytes are the uploaded ones.
    for known in expected.values():
        body = ok(client.images.GetImageContent, I.GetImageContentRequest(image_id=known.id), f"{ctx} content of {known.name}")
        assert body.content == known.content, f"{ctx} content of {known.name} differs from the upload ({body.size_bytes} bytes)"
    for p in projects:
        mine = [k for k in expected.values() if k.project_id == p]
        stats = client.project_stats(p)
        statuses = (stats.no_segmentation_count + stats.queued_count + stats.processing_count
                    + stats.segmented_count + stats.failed_count)
        assert (stats.image_count, stats.total_bytes, statuses) == (len(mine), sum(len(k.content) for k in mine), len(mine)), (
            f"{ctx} project {p}: stats (image_count, total_bytes, sum of statuses) = "
            f"{(stats.image_count, stats.total_bytes, statuses)}, truth = {(len(mine), sum(len(k.content) for k in mine), len(mine))}")
    fate = (f"in flight: {len(committed)} of {len(in_flight_up)} uploads committed, "
            f"{applied} of {len(in_flight_del)} deletes applied")
    return expected, fate


# ---------------------------------------------------------------------------------------------
# the test


def test_sigkill_during_uploads_and_deletes(tmp_path):
    seed = int(os.environ.get("CELLHUB_CRASH_SEED", random.SystemRandom().randrange(1 << 32)))
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    token = add_user(data_dir, "crash")
    shared_rng = random.Random(seed ^ 0x5EED)
    shared = [(t, random_content(shared_rng, t)) for t in sorted(MAGIC) for _ in range(4)]

    server = Server(data_dir)
    try:
        with grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS + API_OPTIONS) as channel:
            projects = [Client(channel, "crash", token).create_project(f"crash-{i}").id for i in range(PROJECTS)]
        live: dict[str, Known] = {}  # the images that exist, verified after the last restart
        in_flight = 0

        for cycle in range(CYCLES):
            ctx = f"[seed {seed}, cycle {cycle}]"
            if cycle:
                server = Server(data_dir)
            workers = hammer_and_kill(server, token, rng, cycle, shared, projects, live, ctx)
            orphans = check_crashed_directory(data_dir, ctx)
            print(f"{ctx} acknowledged: {sum(w.acked_uploads for w in workers)} uploads, "
                  f"{sum(w.acked_deletes for w in workers)} deletes; in flight at the kill: "
                  f"{sum(len(w.uploads) - w.acked_uploads for w in workers)} uploads, "
                  f"{sum(len(w.deletes) - w.acked_deletes for w in workers)} deletes; {len(orphans)} orphan files")

            # The start sweeps the orphans (leftover temporaries silently) before it listens.
            server = Server(data_dir)
            orphan_files = [o for o in orphans if not o.rsplit("/", 1)[-1].startswith(".tmp-")]
            swept = server.wait_for_log(lambda line: SWEPT in line, timeout=5 if orphan_files else 0.5)
            if orphan_files:
                count = re.search(r"count\W{0,3}(\d+)", swept or "")
                assert count and int(count.group(1)) == len(orphan_files), (
                    f"{ctx} check saw {len(orphan_files)} orphan files; the restart logged {swept!r}")
            else:
                assert swept is None, f"{ctx} check saw no orphan file, yet the restart logged {swept!r}"
            server.assert_serving("a restart after SIGKILL")

            with grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS + API_OPTIONS) as channel:
                live, fate = verify_after_restart(Client(channel, "crash", token), projects, workers, ctx)
            print(f"{ctx} {len(live)} images verified; {fate}")
            in_flight += sum(len(w.uploads) + len(w.deletes) - w.acked_uploads - w.acked_deletes for w in workers)

            # A clean stop, then the offline view: counters equal the rows, files equal the images.
            assert server.stop() == 0, f"{ctx} SIGTERM: exit {server.proc.returncode}\n{server.log_text()}"
            result = cellhubd("check", data_dir=data_dir)
            hashes = {sha256_hex(k.content) for k in live.values()}
            assert (result.returncode, result.stdout) == (
                0, f"ok: {PROJECTS} projects, {len(live)} images, counters consistent, {len(hashes)} image files\n"), (
                f"{ctx} check after the restart: exit {result.returncode}\n{result.stdout[-3000:]}{result.stderr}")
            files = blob_files(data_dir)
            want = {blob_path(h) for h in hashes}
            assert files.keys() == want, (
                f"{ctx} image files: without an image {sample(files.keys() - want)}, missing {sample(want - files.keys())}")
            damaged = [path for path, content in files.items() if blob_path(sha256_hex(content)) != path]
            assert not damaged, f"{ctx} files whose bytes do not match their hash: {sample(damaged)}"
        # Every kill found a call or more in flight in practice; none at all means no crash was tested.
        assert in_flight, f"[seed {seed}] no call was in flight at any of the {CYCLES} kills"
    finally:
        server.kill()
