"""Three cellhubd nodes on one PostgreSQL and one shared blob directory, behind nginx (the gRPC
load balancer), driven by stock grpcio clients: the cluster of cluster_support.py, one per
module, started by the test itself.

- writes spread over the nodes through nginx reach a WatchProject subscriber on each node as
  the identical revision sequence, without a gap or a duplicate;
- concurrent uploads of identical bytes through two nodes leave one file in the blob directory;
- an idle stream through nginx gets its heartbeats;
- the standard interop cases pass through nginx;
- after kill -9 of a node, its subscribers (one direct, two through nginx, which ends those
  with RST_STREAM INTERNAL_ERROR) resume (resume_from) through nginx on another node with no
  gap and no duplicate;
- an upload that fails inside its transaction on one node (a temporary trigger) returns its
  revision: every node's subscriber sees the writes after it as consecutive revisions;
- a node whose LISTEN connection is killed (pg_terminate_backend) reconnects and its
  subscriber gets other nodes' writes in order, within the safety poll;
- workers on two nodes never hold the same job; every job completes once;
- a node starting while another holds the orphan-sweep lock skips its sweep; the next start
  sweeps;
- with 1 s leases (a cluster of its own): a silent worker's leases expire whichever node
  sweeps, nothing is re-queued twice, a worker on another node completes the jobs, and the
  silent worker's late results are refused;
- presence lists the watchers of every node (one entry per user): a user who starts watching
  on one node joins the streams of the others, leaves when their stream ends, and leaves
  within the expiry bound when their node is killed;
- `cellhubd check --database … --blob-dir …` is clean at the end.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import threading
import time

import grpc
import pytest

import test_interop as interop
import test_interop_streaming as interop_streaming
from api_support import (
    API_OPTIONS,
    BINARY,
    Client,
    Code,
    common_pb2,
    expect_error,
    images_pb2,
    requires_cellhubd,
    segmentation_pb2 as S,
    sha256_hex,
    unique,
    upload_of,
)
from cluster_support import LocalCluster
from conftest import CHANNEL_OPTIONS
from grpc_testing import test_pb2_grpc
from pg_cluster import BINARIES
from stream_support import E, SS, check_envelopes, describe, kind_of, poll_until, Streams, user_names, wait_caught_up
from test_workers import Feed, complete, enqueue, job, square

pytestmark = [
    requires_cellhubd,
    pytest.mark.skipif(shutil.which("nginx") is None and not __import__("os").path.exists("/usr/sbin/nginx"),
                       reason="nginx is not installed (Tests/Scripts/setup.sh)"),
]

# Events whose (kind, revision, sequence) every subscriber must see alike: not the coalesced
# state (stats, presence) nor stream control.
STATE_OR_CONTROL = {"SNAPSHOT", "CAUGHT_UP", "PROGRESS", "PRESENCE", "PROJECT_STATS_UPDATE"}
WAIT = 10.0


def discrete(events) -> list[tuple[str, int, int]]:
    return [(kind_of(e), e.revision, e.sequence) for e in events if kind_of(e) not in STATE_OR_CONTROL]


class ClusterApi:
    def __init__(self, node_args: list[str] | None = None):
        self.cluster = LocalCluster(nodes=3, node_args=node_args or ["--workers", "0", "--interop"])
        token = self.cluster.add_user("alice")
        options = CHANNEL_OPTIONS + API_OPTIONS
        self.lb_channel = grpc.insecure_channel(self.cluster.endpoint, options=options)
        self.node_channels = [grpc.insecure_channel(n.address, options=options) for n in self.cluster.nodes]
        self.token = token
        self.alice = Client(self.lb_channel, "alice", token)

    def client_on(self, channel: grpc.Channel) -> Client:
        return Client(channel, "alice", self.token)

    def worker_on(self, channel: grpc.Channel, name: str) -> Client:
        return Client(channel, name, add_worker(self.cluster, name))

    def sql(self, statement: str) -> str:
        return self.cluster.postgres.sql(self.cluster.database_name, statement)

    def upstreams(self) -> list[str]:
        """The node address of every call nginx logged so far."""
        return re.findall(r"upstream=(\S+)", self.cluster.access_log.read_text())

    def close(self):
        self.lb_channel.close()
        for channel in self.node_channels:
            channel.close()
        self.cluster.stop()


def add_worker(cluster: LocalCluster, name: str) -> str:
    added = cluster.cellhubd("users", "add", name, "--worker")
    assert added.returncode == 0, f"users add {name} --worker: {added.stderr}"
    return added.stdout.strip()


def listener_pid(api: ClusterApi, node) -> str:
    """The backend pid of `node`'s LISTEN connection ("" while it has none): the listener
    names itself "cellhub listener (pid N)" in pg_stat_activity."""
    return api.sql(f"SELECT pid FROM pg_stat_activity WHERE application_name = 'cellhub listener (pid {node.pid})'")


@pytest.fixture(scope="module")
def api():
    api = ClusterApi()
    yield api
    api.close()


@pytest.fixture
def streams():
    opened: list[Streams] = []

    def on(channel: grpc.Channel) -> Streams:
        s = Streams(channel)
        opened.append(s)
        return s

    yield on
    for s in opened:
        s.close()


def test_writes_spread_over_the_nodes_reach_every_nodes_subscriber_in_one_gap_free_sequence(api, streams):
    alice = api.alice
    project = alice.create_project(unique("cluster"))
    watchers = [streams(channel).project(api.client_on(channel), project.id, label=f"node{i}", min_update_interval_ms=0)
                for i, channel in enumerate(api.node_channels)]
    snapshots = [wait_caught_up(w, WAIT)[0] for w in watchers]
    calls_before = len(api.upstreams())

    # Through nginx, one call at a time: 12 uploads and 4 deletes, each its own revision.
    uploaded = []
    for i in range(12):
        uploaded += alice.upload(project.id, upload_of("image/png", 1000 + i, name=f"n{i}.png")).images
    for image in uploaded[:4]:
        alice.images.DeleteImage(images_pb2.DeleteImageRequest(image_id=image.id))

    served_by = api.upstreams()[calls_before:]
    assert {n.address for n in api.cluster.nodes} <= set(served_by), f"nginx spread the calls over {sorted(set(served_by))}"

    for w in watchers:
        w.wait_for(lambda e: kind_of(e) == "IMAGE_DELETED" and e.image_deleted.image_id == uploaded[3].id, WAIT,
                   "the last delete (its last event)")
    sequences = [discrete(w.events) for w in watchers]
    assert sequences[0] == sequences[1] == sequences[2], "\n\n".join(w.dump() for w in watchers)
    revisions = sorted({revision for _, revision, _ in sequences[0]})
    first = revisions[0]
    assert revisions == list(range(first, first + 16)), f"16 writes, 16 consecutive revisions: {revisions}"
    assert first == max(s.revision for s in snapshots) + 1
    deleted = [r for kind, r, _ in sequences[0] if kind == "IMAGE_DELETED"]
    assert len(deleted) == 4 and len(set(deleted)) == 4
    for w in watchers:
        check_envelopes(w, project_id=project.id)
    assert len({s.epoch for s in snapshots}) == 1, "one epoch whichever node answers"


def test_project_stats_on_every_node_follow_another_nodes_upload_within_a_second(api):
    """Each node caches project stats; the counters of another node's commit reach the cache
    through the event hub (it used to be fed only by the node's own writes, so GetProjectStats
    on a node without its own write to the project answered the old count for ever)."""
    project = api.alice.create_project(unique("stats"))
    clients = [api.client_on(channel) for channel in api.node_channels]
    for i in range(3):
        for client in clients:
            client.project_stats(project.id)  # cached on every node
        clients[i].upload(project.id, upload_of("image/png", 3000 + i))
        for client in clients:
            poll_until(lambda: client.project_stats(project.id).image_count == i + 1, 1.0,
                       what=f"upload {i + 1} through node {i} in the stats of every node")


def test_identical_uploads_through_two_nodes_at_once_store_one_file(api):
    alice = api.alice
    project = alice.create_project(unique("dedupe"))
    content = upload_of("image/png", 4242).content
    digest = sha256_hex(content)
    barrier = threading.Barrier(2 * 4)
    errors: list[BaseException] = []
    done: list[images_pb2.UploadImagesResponse] = []

    def upload(channel, n):
        try:
            barrier.wait(WAIT)
            done.append(api.client_on(channel).upload(project.id, upload_of("image/png", 0, name=f"d{n}.png", content=content)))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=upload, args=(api.node_channels[n % 2], n)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert len(done) == 8 and all(r.images[0].sha256_hex == digest for r in done)
    shard = api.cluster.blob_dir / digest[:2]
    assert [p.name for p in shard.iterdir()] == [digest[2:]], "one file, no temporary file left"
    assert (shard / digest[2:]).read_bytes() == content
    # Not at once: the node nginx picks for this read may serve its cached stats until
    # LISTEN tells it of the other nodes' commits (milliseconds; no read-your-writes across nodes).
    poll_until(lambda: alice.project_stats(project.id).image_count == 8, WAIT, what="8 images in the stats")


def test_an_idle_stream_through_nginx_gets_its_heartbeats(api, streams):
    """A stream through nginx outlives heartbeat intervals: PROGRESS every second passes
    through (the nodes' heartbeat timer re-arms itself from its own action)."""
    project = api.alice.create_project(unique("idle"))
    w = streams(api.lb_channel).project(api.alice, project.id, heartbeat_interval_s=1)
    wait_caught_up(w, WAIT)
    w.wait_count("PROGRESS", 3, timeout=6, what="three heartbeats")
    assert not w.ended, w.dump()


INTEROP_CASES = {
    "empty_unary": lambda stub: interop.test_empty_unary(stub),
    "large_unary": lambda stub: interop.test_large_unary(stub),
    "server_streaming": lambda stub: interop.test_server_streaming(stub),
    "client_streaming": lambda stub: interop_streaming.test_client_streaming(stub),
    "ping_pong": lambda stub: interop_streaming.test_ping_pong(stub),
    "empty_stream": lambda stub: interop_streaming.test_empty_stream(stub, "FullDuplexCall"),
    "status_code_and_message_unary": lambda stub: interop.TestStatusCodeAndMessage().test_unary(stub),
    "status_code_and_message_streaming": lambda stub: interop.TestStatusCodeAndMessage().test_streaming(stub),
    "special_status_message": lambda stub: interop.TestSpecialStatusMessage().test_roundtrip(stub),
    "custom_metadata_unary": lambda stub: interop.TestCustomMetadata().test_unary(stub),
    "custom_metadata_streaming": lambda stub: interop.TestCustomMetadata().test_streaming(stub),
    "timeout_on_sleeping_server": lambda stub: interop_streaming.test_timeout_on_sleeping_server(stub),
    "cancel_after_first_response": lambda stub: interop.test_cancel_after_first_response(stub),
}


@pytest.mark.parametrize("case", sorted(INTEROP_CASES))
def test_interop_through_nginx(api, case):
    INTEROP_CASES[case](test_pb2_grpc.TestServiceStub(api.lb_channel))


@pytest.mark.parametrize("path", ["/grpc.testing.TestService/UnimplementedCall", "/grpc.testing.Nope/EmptyCall"])
def test_unimplemented_through_nginx(api, path):
    """A trailers-only response (HEADERS with END_STREAM and grpc-status, no DATA) through nginx."""
    interop.test_unimplemented_method(api.lb_channel, path)


def test_subscribers_of_a_killed_node_resume_through_nginx_without_gap_or_duplicate(api, streams):
    """One subscriber connected to the victim directly and six through nginx (two of them land
    on the victim: round robin over three nodes). After kill -9 of the victim the direct one
    ends UNAVAILABLE and nginx ends the two it carried with RST_STREAM INTERNAL_ERROR (grpcio:
    INTERNAL, 'Received RST_STREAM with error code 2'), not UNAVAILABLE. Each resumes through
    nginx from its last event; what it saw before and after equals what a subscriber on a
    live node saw."""
    alice = api.alice
    project = alice.create_project(unique("kill"))
    victim = 2
    on_victim = streams(api.node_channels[victim]).project(api.client_on(api.node_channels[victim]), project.id,
                                                           label="on-victim", min_update_interval_ms=0)
    reference = streams(api.node_channels[0]).project(api.client_on(api.node_channels[0]), project.id,
                                                      label="reference", min_update_interval_ms=0)
    through_nginx = [streams(api.lb_channel).project(alice, project.id, label=f"nginx{i}", min_update_interval_ms=0)
                     for i in range(6)]
    for w in [on_victim, reference, *through_nginx]:
        wait_caught_up(w, WAIT)

    def count_is(w, n):
        return w.wait_for(lambda e: kind_of(e) == "PROJECT_IMAGE_COUNT_CHANGE" and e.image_count_change.new_image_count == n,
                          WAIT, f"image count {n}")

    for i in range(4):
        alice.upload(project.id, upload_of("image/png", 2000 + i, name=f"k{i}.png"))
    for w in [on_victim, *through_nginx]:
        count_is(w, 4)
    api.cluster.nodes[victim].kill()
    code, _ = on_victim.wait_end(WAIT)
    assert code == grpc.StatusCode.UNAVAILABLE, on_victim.dump()
    poll_until(lambda: sum(w.ended for w in through_nginx) == 2, WAIT, what="the two nginx streams on the killed node ended")
    cut = [w for w in through_nginx if w.ended]
    assert {(w.code, w.details) for w in cut} == {(grpc.StatusCode.INTERNAL, "Received RST_STREAM with error code 2")}, (
        "\n".join(w.dump() for w in cut))

    # Writes go on through nginx while the node is dead (nginx retries a refused connect on
    # the next node), then every cut subscriber resumes through nginx from its last event.
    for i in range(4, 8):
        alice.upload(project.id, upload_of("image/png", 2000 + i, name=f"k{i}.png"))
    resumed = {}
    for w in [on_victim, *cut]:
        last = w.events[-1]
        request = SS.WatchProjectRequest(project_id=project.id, min_update_interval_ms=0)
        request.resume_from.epoch, request.resume_from.revision, request.resume_from.sequence = (
            last.epoch, last.revision, last.sequence)
        again = streams(api.lb_channel).open(alice, "WatchProject", request, label=f"{w.label}-resumed")
        caught_up = again.wait_for("CAUGHT_UP", WAIT, "CAUGHT_UP after resume")
        assert not caught_up.caught_up.position_lost, again.dump()
        assert not any(kind_of(e) == "SNAPSHOT" for e in again.events), "a resume replays, no snapshot\n" + again.dump()
        resumed[w] = again
    for i in range(8, 10):
        alice.upload(project.id, upload_of("image/png", 2000 + i, name=f"k{i}.png"))
    count_is(reference, 10)
    for w, again in resumed.items():
        count_is(again, 10)
        joined = discrete(w.events) + discrete(again.events)
        assert joined == discrete(reference.events), "\n\n".join(x.dump() for x in (w, again, reference))
        assert len(set(joined)) == len(joined)
    for w in through_nginx:
        if not w.ended:
            count_is(w, 10)

    api.cluster.restart_node(victim)
    for i in range(10, 13):  # nginx sends calls to it again (fail_timeout 2 s)
        alice.upload(project.id, upload_of("image/png", 2000 + i, name=f"k{i}.png"))
    count_is(reference, 13)


def test_a_rolled_back_write_leaves_no_hole_in_any_nodes_sequence(api, streams):
    """An upload through node 1 fails inside its transaction after it took its revision: a
    temporary trigger raises on the insert of its image row. The transaction rolls back as a
    whole, its revision with it; writes through every node follow, and every node's subscriber
    sees them as one sequence of consecutive revisions. The failed upload's file is removed."""
    alice = api.alice
    project = alice.create_project(unique("rollback"))
    clients = [api.client_on(channel) for channel in api.node_channels]
    watchers = [streams(channel).project(clients[i], project.id, label=f"node{i}", min_update_interval_ms=0)
                for i, channel in enumerate(api.node_channels)]
    snapshots = [wait_caught_up(w, WAIT)[0] for w in watchers]
    doomed = unique("doomed") + ".png"
    api.sql(f"""
        CREATE FUNCTION cellhub_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.name = '{doomed}' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER cellhub_test_refuse BEFORE INSERT ON images FOR EACH ROW EXECUTE FUNCTION cellhub_test_refuse();
        """)
    failed_contents = [upload_of("image/png", 5001).content, upload_of("image/png", 5002).content]
    try:
        kept = clients[1].upload(project.id, upload_of("image/png", 5000, name="r0.png")).images[0]
        head_before = int(api.sql("SELECT revision FROM log_head"))
        for uploads in ([upload_of("image/png", 5001, name="r1.png"), upload_of("image/png", 5002, name=doomed)],
                        [upload_of("image/png", 5002, name=doomed)]):
            with pytest.raises(grpc.RpcError) as failed:
                clients[1].upload(project.id, *uploads)
            assert failed.value.code() == grpc.StatusCode.INTERNAL, failed.value
        assert int(api.sql("SELECT revision FROM log_head")) == head_before, "the failed uploads returned their revisions"
        assert "refused by a test trigger" in api.cluster.nodes[1].log_text(), "the failure came from the transaction"
    finally:
        api.sql("DROP TRIGGER IF EXISTS cellhub_test_refuse ON images; DROP FUNCTION IF EXISTS cellhub_test_refuse()")
    clients[0].upload(project.id, upload_of("image/png", 5003, name="r3.png"))
    clients[2].upload(project.id, upload_of("image/png", 5004, name="r4.png"))
    clients[1].upload(project.id, upload_of("image/png", 5005, name="r5.png"))
    clients[2].images.DeleteImage(images_pb2.DeleteImageRequest(image_id=kept.id))

    for w in watchers:
        w.wait_for(lambda e: kind_of(e) == "IMAGE_DELETED" and e.image_deleted.image_id == kept.id, WAIT, "the delete")
    sequences = [discrete(w.events) for w in watchers]
    assert sequences[0] == sequences[1] == sequences[2], "\n\n".join(w.dump() for w in watchers)
    revisions = sorted({revision for _, revision, _ in sequences[0]})
    first = max(s.revision for s in snapshots) + 1
    assert revisions == list(range(first, first + 5)), f"5 writes, 5 consecutive revisions: {revisions}"
    assert int(api.sql("SELECT revision FROM log_head")) == revisions[-1]
    for w in watchers:
        check_envelopes(w, project_id=project.id)
    for content in failed_contents:
        digest = sha256_hex(content)
        assert not (api.cluster.blob_dir / digest[:2] / digest[2:]).exists(), "the failed upload's file was removed"
    assert alice.project_stats(project.id).image_count == 3


def test_a_node_whose_listen_connection_is_killed_gets_other_nodes_writes_in_order(api, streams):
    """Node 1's LISTEN connection is terminated by the server (pg_terminate_backend), and at
    once other nodes write: node 1 reconnects (and reads what was committed meanwhile) or its
    safety poll (1 s) finds them; its subscriber gets every write, in order, within 2.5 s of
    the call, and the same sequence as a subscriber on node 0. The node logs the break."""
    alice = api.alice
    project = alice.create_project(unique("listen"))
    victim = api.cluster.nodes[1]
    clients = [api.client_on(channel) for channel in api.node_channels]
    watcher = streams(api.node_channels[1]).project(clients[1], project.id, label="victim", min_update_interval_ms=0)
    reference = streams(api.node_channels[0]).project(clients[0], project.id, label="reference", min_update_interval_ms=0)
    wait_caught_up(watcher, WAIT)
    wait_caught_up(reference, WAIT)
    old = poll_until(lambda: listener_pid(api, victim), WAIT, what="node 1's LISTEN connection in pg_stat_activity")
    terminated = api.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
                         f"'cellhub listener (pid {victim.pid})'")
    assert terminated == "t", terminated

    delays = []
    for i in range(6):
        called = time.monotonic()
        clients[0 if i % 2 == 0 else 2].upload(project.id, upload_of("image/png", 5100 + i, name=f"l{i}.png"))
        event = watcher.wait_for(lambda e: kind_of(e) == "PROJECT_IMAGE_COUNT_CHANGE" and e.image_count_change.new_image_count == i + 1,
                                 WAIT, f"upload {i + 1} on the victim")
        delays.append(round(watcher.received_at(event) - called, 3))
    assert max(delays) < 2.5, f"seconds from each call to the victim's event: {delays}"
    new = poll_until(lambda: (pid := listener_pid(api, victim)) not in ("", old) and pid, WAIT, what="a new LISTEN connection")
    assert new != old
    broke = [line for line in victim.log_text().splitlines() if "PostgreSQL change listener:" in line]
    assert len(broke) == 1 and " warning " in broke[0] and "the LISTEN connection broke (reconnecting now): " in broke[0], (
        victim.log_text()[-1500:])
    assert broke[0].endswith("(failure 1; until it listens again other nodes' changes are seen by the safety poll, every 1000 ms)"), (
        "one line with its context")
    reference.wait_for(lambda e: kind_of(e) == "PROJECT_IMAGE_COUNT_CHANGE" and e.image_count_change.new_image_count == 6, WAIT)
    assert discrete(watcher.events) == discrete(reference.events), "\n\n".join(w.dump() for w in (watcher, reference))
    revisions = sorted({r for _, r, _ in discrete(watcher.events)})
    assert revisions == list(range(revisions[0], revisions[0] + 6))
    print(f"listener killed: call-to-event seconds on the victim {delays}")


def test_workers_on_two_nodes_never_hold_the_same_job(api):
    """One worker on node 0 and one on node 1, each claiming (ClaimJobs, two at a time) and
    completing through its own node: every job is leased once, to one of them, and completed
    once; both got work; every node's figures agree."""
    alice = api.alice
    project = alice.create_project(unique("workers"))
    count = 40
    images = list(alice.upload(project.id, *[upload_of("image/png", 5200 + i) for i in range(count)]).images)
    workers = [api.worker_on(api.node_channels[n], unique(f"w{n}")) for n in (0, 1)]
    feeds = [Feed(w, concurrency=2) for w in workers]
    enqueued = {j.job_id for j in enqueue(api, project.id, [i.id for i in images]).jobs}
    assert len(enqueued) == count
    assigned: list[list] = [[], []]
    completed = []
    errors = []
    lock = threading.Lock()

    def work(n: int):
        rng = random.Random(n)
        try:
            while True:
                with lock:
                    if len(completed) == count:
                        return
                try:
                    a = feeds[n].next(timeout=0.5)
                except AssertionError:
                    continue
                assigned[n].append(a)
                time.sleep(rng.random() * 0.01)
                complete(workers[n], a)
                with lock:
                    completed.append(a.job_id)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for f in feeds:
        f.close()
    assert not errors, errors
    ids = [{a.job_id for a in assigned[n]} for n in (0, 1)]
    assert not ids[0] & ids[1], f"leased to both: {ids[0] & ids[1]}"
    assert sorted(completed) == sorted(enqueued), "every job completed exactly once"
    assert all(a.attempt == 1 for n in (0, 1) for a in assigned[n]), "no job was leased twice"
    assert len(assigned[0]) + len(assigned[1]) == count and assigned[0] and assigned[1], (len(assigned[0]), len(assigned[1]))
    for client in (api.client_on(channel) for channel in api.node_channels):
        stats = poll_until(lambda: (s := client.project_stats(project.id)).segmented_count == count and s, WAIT,
                           what="every job segmented in every node's stats")
        assert (stats.queued_count, stats.processing_count, stats.image_count) == (0, 0, count)
    assert {job(alice, j).status for j in enqueued} == {S.JOB_STATUS_COMPLETED}
    print(f"two workers on two nodes: {len(assigned[0])} + {len(assigned[1])} jobs")


ORPHAN_SWEEP_LOCK_KEY = 0x4365_6C6C_4875_6253  # PostgresStore.orphanSweepLockKey


def test_a_node_starting_while_another_sweeps_skips_its_orphan_sweep(api):
    """While a session holds the orphan-sweep advisory lock (as a sweeping node does), a
    node that starts skips its sweep and says so, leaving an old orphan file; once the lock
    is free, the next start sweeps it."""
    orphan = api.cluster.blob_dir / "ee" / ("e" * 62)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a crash")
    an_hour_ago = time.time() - 3600
    os.utime(orphan, (an_hour_ago, an_hour_ago))  # older than the grace period (900 s)
    holder = subprocess.Popen(
        [str(BINARIES / "psql"), "-X", "-q", "-d", api.cluster.database, "-c",
         f"SELECT pg_advisory_lock({ORPHAN_SWEEP_LOCK_KEY})", "-c", "SELECT pg_sleep(120)"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PGAPPNAME": "cellhub test lock holder"})
    try:
        poll_until(lambda: api.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == "1", WAIT,
                   what="the lock held")
        logged = restart_and_read_log(api, 2)
        assert "another node is sweeping the image directory; skipped the orphan sweep" in logged, logged
        assert "swept orphan" not in logged and orphan.exists()
    finally:
        # Its backend sleeps in pg_sleep and would notice the client gone only afterwards.
        api.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cellhub test lock holder'")
        holder.wait(10)
    poll_until(lambda: api.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == "0", WAIT, what="the lock free")
    logged = restart_and_read_log(api, 2)
    assert re.search(r"count=1 .*swept orphan image files", logged) and "another node is sweeping" not in logged, logged
    assert not orphan.exists()


def restart_and_read_log(api: ClusterApi, index: int) -> str:
    """Restarts node `index` and returns what it logged while starting."""
    log = api.cluster.nodes[index].log_path
    offset = log.stat().st_size
    api.cluster.restart_node(index)
    with open(log, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


@pytest.fixture
def short_leases():
    """A cluster of its own whose nodes lease jobs for 1 s (`--lease-duration 1`)."""
    api = ClusterApi(node_args=["--workers", "0", "--lease-duration", "1"])
    yield api
    api.close()


def test_expired_leases_are_requeued_once_whichever_node_sweeps_and_finished_on_another(short_leases):
    """A worker on node 0 claims four jobs and goes silent (its stream drops; no renewal, no
    result). Every node's dispatcher looks for expired leases every 0.5 s and they race for
    these: the first re-queues them (an attempt each), the others, serialised behind it on
    `log_head`, find nothing — no fault logged, no job re-queued twice, the figures exact on
    every node. A worker on node 1 gets them again (attempt 2) and completes them; the silent
    worker's late results are refused, through its own node and another."""
    api = short_leases
    alice = api.alice
    project = alice.create_project(unique("leases"))
    images = list(alice.upload(project.id, *[upload_of("image/png", 5300 + i) for i in range(4)]).images)
    enqueued = [j.job_id for j in enqueue(api, project.id, [i.id for i in images]).jobs]
    silent = api.worker_on(api.node_channels[0], unique("silent"))
    feed = Feed(silent, concurrency=4)
    held = [feed.next() for _ in range(4)]
    feed.close()
    assert sorted(a.job_id for a in held) == sorted(enqueued) and {a.attempt for a in held} == {1}
    head = int(api.sql("SELECT revision FROM log_head"))

    for a in held:
        poll_until(lambda: job(alice, a.job_id).status == S.JOB_STATUS_QUEUED, WAIT, what=f"job {a.job_id} re-queued")
    for a in held:
        j = job(alice, a.job_id)
        assert (j.attempts, j.failure_reason) == (1, "lease expired"), j
    expiries = int(api.sql(f"SELECT count(*) FROM event_log WHERE kind = 15 AND revision > {head}"))
    assert 1 <= expiries <= 4, f"{expiries} leasesExpired events for 4 leases"
    for client in (api.client_on(channel) for channel in api.node_channels):
        stats = poll_until(lambda: (s := client.project_stats(project.id)).queued_count == 4 and s, WAIT,
                           what="4 queued in every node's stats")
        assert (stats.processing_count, stats.no_segmentation_count) == (0, 0), stats

    finisher = api.worker_on(api.node_channels[1], unique("finisher"))
    other = Feed(finisher, concurrency=4)
    again = [other.next() for _ in range(4)]
    assert sorted(b.job_id for b in again) == sorted(enqueued) and {b.attempt for b in again} == {2}
    assert not {b.lease_id for b in again} & {a.lease_id for a in held}
    for b in again:
        complete(finisher, b)
    other.close()
    late = S.CompleteJobRequest(job_id=held[0].job_id, lease_id=held[0].lease_id, result=square())
    for channel in (api.node_channels[0], api.node_channels[2]):
        expect_error(Code.FAILED_PRECONDITION, Client(channel, silent.name, silent.token).seg.CompleteJob, late)
    for client in (api.client_on(channel) for channel in api.node_channels):
        poll_until(lambda: client.project_stats(project.id).segmented_count == 4, WAIT, what="4 segmented in every node's stats")

    api.cluster.stop_nodes()
    logs = [node.log_text() for node in api.cluster.nodes]
    faults = [line for log in logs for line in log.splitlines() if " error " in line or "critical" in line or "failed" in line]
    assert not faults, "\n".join(faults)
    checked = api.cluster.cellhubd("check")
    assert checked.returncode == 0 and checked.stdout.startswith("ok: "), f"check: {checked.stdout}{checked.stderr}"
    print(f"short leases: {expiries} leasesExpired event(s) for 4 leases")


# A dead node's watchers leave the others' streams within the expiry (5 s) plus one heartbeat
# (1 s): PostgresStore.Options.presenceExpiryMs, presenceHeartbeatIntervalMs.
PRESENCE_BOUND = 6.0


def presence(change):
    return lambda e: kind_of(e) == "PRESENCE" and e.presence.change == change


def viewer_of(api, project) -> tuple[str, str]:
    """A new user (name, token) with the viewer role on `project`."""
    name = unique("viewer")
    token = api.cluster.add_user(name)
    api.alice.share(project.id, Client(api.lb_channel, name, token), role=common_pb2.ROLE_VIEWER)
    return name, token


def until_node_heard_alice(api, streams, node: int, name: str, token: str) -> list:
    """Returns once node `node` has read alice's presence rows written so far (a's board writes,
    NOTIFY, the node's board reads: asynchronous). Sentinel: alice then watches a project of
    her own on node 0, which `name` watches on `node`; node 0 writes its watchers in order, so
    once that stream lists alice, `node` has read every row written before. Returns the
    sentinel streams (to cancel)."""
    sentinel = api.alice.create_project(unique("sentinel"))
    api.alice.share(sentinel.id, Client(api.lb_channel, name, token), role=common_pb2.ROLE_VIEWER)
    alice = streams(api.node_channels[0]).project(api.client_on(api.node_channels[0]), sentinel.id, label="alice@node0 (sentinel)")
    wait_caught_up(alice, WAIT)
    probe = streams(api.node_channels[node]).project(Client(api.node_channels[node], name, token), sentinel.id,
                                                     label=f"{name}@node{node} (sentinel)")
    snapshot, _ = wait_caught_up(probe, WAIT)
    if "alice" not in user_names(snapshot.snapshot.watchers):
        probe.wait_for(presence(E.PRESENCE_CHANGE_JOINED), WAIT, f"PRESENCE joined for alice on node {node} (sentinel)")
    return [alice, probe]


def test_presence_lists_the_watchers_of_every_node(api, streams):
    """alice watches on node 0 and node 1 directly; another user starts watching on node 2: both of
    alice's streams get PRESENCE joined listing both users once, the newcomer's snapshot lists
    alice once; the newcomer's stream ends: PRESENCE left on both."""
    project = api.alice.create_project(unique("presence"))
    name, token = viewer_of(api, project)
    alices = [streams(api.node_channels[i]).project(api.client_on(api.node_channels[i]), project.id, label=f"alice@node{i}")
              for i in (0, 1)]
    for w in alices:
        wait_caught_up(w, WAIT)
    sentinels = until_node_heard_alice(api, streams, 2, name, token)
    newcomer = streams(api.node_channels[2]).project(Client(api.node_channels[2], name, token), project.id,
                                                     label=f"{name}@node2")
    snapshot, _ = wait_caught_up(newcomer, WAIT)
    assert user_names(snapshot.snapshot.watchers) == sorted(["alice", name]), describe(snapshot)
    for w in alices:
        joined = w.wait_for(presence(E.PRESENCE_CHANGE_JOINED), WAIT, f"PRESENCE joined for {name} (node 2)")
        assert joined.presence.user.user_name == name, describe(joined)
        assert user_names(joined.presence.watchers) == sorted(["alice", name]), describe(joined)
        assert len(w.events_of("PRESENCE")) == 1, f"alice on the other node is no newcomer\n{w.dump()}"
    newcomer.cancel()
    for w in alices:
        left = w.wait_for(presence(E.PRESENCE_CHANGE_LEFT), WAIT, f"PRESENCE left for {name} (stream on node 2 ended)")
        assert left.presence.user.user_name == name and user_names(left.presence.watchers) == ["alice"], describe(left)
        check_envelopes(w, project_id=project.id)
    for w in sentinels:
        w.cancel()


def test_watchers_of_a_killed_node_leave_the_other_nodes_within_the_expiry(api, streams):
    """kill -9 of node 2 while a user watches there: nothing withdraws their row, so the other
    nodes drop it once node 2's heartbeat is older than the expiry."""
    import time

    project = api.alice.create_project(unique("presence-kill"))
    name, token = viewer_of(api, project)
    victim = 2
    alices = [streams(api.node_channels[i]).project(api.client_on(api.node_channels[i]), project.id, label=f"alice@node{i}")
              for i in (0, 1)]
    for w in alices:
        wait_caught_up(w, WAIT)
    doomed = streams(api.node_channels[victim]).project(Client(api.node_channels[victim], name, token), project.id,
                                                        label=f"{name}@node{victim}")
    wait_caught_up(doomed, WAIT)
    for w in alices:
        w.wait_for(presence(E.PRESENCE_CHANGE_JOINED), WAIT, f"PRESENCE joined for {name} (node {victim})")
    api.cluster.nodes[victim].kill()
    killed_at = time.monotonic()
    try:
        for w in alices:
            left = w.wait_for(presence(E.PRESENCE_CHANGE_LEFT), PRESENCE_BOUND + WAIT,
                              f"PRESENCE left for {name} after node {victim} was killed")
            after = w.received_at(left) - killed_at
            assert left.presence.user.user_name == name and user_names(left.presence.watchers) == ["alice"], describe(left)
            assert after < PRESENCE_BOUND + 1.0, f"{w.label}: left {after:.2f} s after the kill (bound {PRESENCE_BOUND} s)"
    finally:
        api.cluster.restart_node(victim)


def test_check_is_clean_at_the_end(api):
    api.cluster.stop_nodes()
    checked = api.cluster.cellhubd("check")
    assert checked.returncode == 0, f"check: {checked.stdout}{checked.stderr}"
    assert checked.stdout.startswith("ok: "), checked.stdout
    files = api.cluster.blob_files()
    assert f", {len(files)} image files" in checked.stdout, (checked.stdout, files)
