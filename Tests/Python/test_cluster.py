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
- presence lists the watchers of every node (one entry per user): a user who starts watching
  on one node joins the streams of the others, leaves when their stream ends, and leaves
  within the expiry bound when their node is killed;
- `cellhubd check --database … --blob-dir …` is clean at the end.
"""
from __future__ import annotations

import re
import shutil
import threading

import grpc
import pytest

import test_interop as interop
import test_interop_streaming as interop_streaming
from api_support import (
    API_OPTIONS,
    BINARY,
    Client,
    common_pb2,
    images_pb2,
    requires_cellhubd,
    sha256_hex,
    unique,
    upload_of,
)
from cluster_support import LocalCluster
from conftest import CHANNEL_OPTIONS
from grpc_testing import test_pb2_grpc
from stream_support import E, SS, Streams, check_envelopes, describe, kind_of, poll_until, user_names, wait_caught_up

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
    def __init__(self):
        self.cluster = LocalCluster(nodes=3, node_args=["--workers", "0", "--interop"])
        token = self.cluster.add_user("alice")
        options = CHANNEL_OPTIONS + API_OPTIONS
        self.lb_channel = grpc.insecure_channel(self.cluster.endpoint, options=options)
        self.node_channels = [grpc.insecure_channel(n.address, options=options) for n in self.cluster.nodes]
        self.token = token
        self.alice = Client(self.lb_channel, "alice", token)

    def client_on(self, channel: grpc.Channel) -> Client:
        return Client(channel, "alice", self.token)

    def upstreams(self) -> list[str]:
        """The node address of every call nginx logged so far."""
        return re.findall(r"upstream=(\S+)", self.cluster.access_log.read_text())

    def close(self):
        self.lb_channel.close()
        for channel in self.node_channels:
            channel.close()
        self.cluster.stop()


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
