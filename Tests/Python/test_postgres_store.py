"""`cellhubd serve --database postgres://…` end to end: the PostgreSQL store behind the real
server, driven by stock grpcio clients. A temporary PostgreSQL cluster (pg_cluster.py) is
started for the module; users are added and the store checked with `cellhubd users` and
`cellhubd check --database`, as an operator would."""
from __future__ import annotations

import subprocess
from pathlib import Path

import grpc
import pytest

from api_support import (
    API_OPTIONS,
    BINARY,
    TOKEN,
    Client,
    Code,
    common_pb2,
    expect_error,
    images_pb2,
    projects_pb2,
    requires_cellhubd,
    segmentation_pb2,
    unique,
    upload_of,
)
from conftest import CHANNEL_OPTIONS, Server
from pg_cluster import TemporaryCluster
from stream_support import E, Streams, check_envelopes, describe, poll_until, wait_caught_up

pytestmark = requires_cellhubd


def cellhubd(*args: str, data_dir: Path, database: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BINARY), *args, "--data-dir", str(data_dir), "--database", database],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


class PostgresApi:
    def __init__(self, tmp_path_factory):
        self.cluster = TemporaryCluster()
        self.name = self.cluster.create_database()
        self.database = self.cluster.url(self.name)
        self.data_dir = tmp_path_factory.mktemp("cellhub-pg")
        tokens = {}
        for user in ("alice", "bob"):
            added = cellhubd("users", "add", user, data_dir=self.data_dir, database=self.database)
            assert added.returncode == 0, f"users add {user}: {added.stderr}"
            tokens[user] = added.stdout.strip()
            assert TOKEN.fullmatch(tokens[user])
        self.server = Server(self.data_dir, ["--database", self.database, "--workers", "1"])
        self.channel = grpc.insecure_channel(self.server.address, options=CHANNEL_OPTIONS + API_OPTIONS)
        self.alice = Client(self.channel, "alice", tokens["alice"])
        self.bob = Client(self.channel, "bob", tokens["bob"])

    def sql(self, statement: str) -> str:
        return self.cluster.sql(self.name, statement)

    def close(self):
        self.channel.close()
        if self.server.alive():
            self.server.stop()
        self.cluster.stop()


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    api = PostgresApi(tmp_path_factory)
    yield api
    api.close()


@pytest.fixture
def streams(api):
    s = Streams(api.channel)
    yield s
    s.close()


def test_the_store_is_postgres_and_the_data_directory_has_no_sqlite_file(api):
    assert api.sql("SELECT count(*) FROM users") == "2"
    assert api.sql("SELECT string_agg(name, ',' ORDER BY name) FROM schema_migrations") == "v1-initial,v2-access-generations,v3-presence"
    assert not (api.data_dir / "cellhub.sqlite").exists()


def test_uploads_deletes_and_stats_reach_a_project_stream_in_revision_order(api, streams):
    alice, bob = api.alice, api.bob
    project = alice.create_project(unique("pg"))
    alice.share(project.id, bob, role=common_pb2.ROLE_EDITOR)
    w = streams.project(alice, project.id, min_update_interval_ms=0)
    snapshot, _ = wait_caught_up(w)

    images = bob.upload(project.id, *[upload_of("image/png", 100 + i, name=f"c{i}.png") for i in range(3)]).images
    first = w.wait_for(lambda e: e.WhichOneof("payload") == "image_count_change" and e.image_count_change.new_image_count == 3)
    assert first.revision > snapshot.revision and first.actor_user_name == "bob", describe(first)

    bob.images.DeleteImage(images_pb2.DeleteImageRequest(image_id=images[0].id))
    gone = w.wait_for(lambda e: e.WhichOneof("payload") == "image_deleted")
    assert gone.revision == first.revision + 1, "the next write is the next revision (gap-free)"
    count = w.wait_for(lambda e: e.WhichOneof("payload") == "image_count_change" and e.revision == gone.revision)
    assert (count.image_count_change.previous_image_count, count.image_count_change.new_image_count) == (3, 2)
    assert count.image_count_change.change_type == E.IMAGE_COUNT_CHANGE_TYPE_REMOVED

    stats = alice.project_stats(project.id)
    assert (stats.image_count, stats.no_segmentation_count, stats.total_bytes) == (2, 2, images[1].size_bytes + images[2].size_bytes)
    assert alice.dashboard().total_images >= 2
    revisions = [e.revision for e in w.events if e.revision]
    assert revisions == sorted(revisions), w.dump()
    check_envelopes(w, epoch=snapshot.epoch, project_id=project.id)


def test_an_idempotent_retry_replays_and_a_reused_key_is_refused(api):
    alice = api.alice
    project = alice.create_project(unique("pg-key"))
    upload = upload_of("image/png", 7, name="k.png")
    first = alice.upload(project.id, upload, key="key-1")
    again = alice.upload(project.id, upload, key="key-1")
    assert again.replayed and [i.id for i in again.images] == [i.id for i in first.images]
    expect_error(Code.FAILED_PRECONDITION, alice.images.UploadImages, images_pb2.UploadImagesRequest(
        project_id=project.id, images=[upload_of("image/png", 8)], idempotency_key="key-1"))
    assert alice.project_stats(project.id).image_count == 1


def test_the_built_in_worker_claims_and_completes_jobs_in_postgres(api):
    """The in-process worker's claims (FOR UPDATE SKIP LOCKED) and batched results (one
    transaction, a savepoint each) run on PostgreSQL."""
    alice = api.alice
    project = alice.create_project(unique("pg-seg"))
    alice.upload(project.id, *[upload_of("image/png", 300 + i, name=f"s{i}.png") for i in range(3)])
    reply = alice.seg.EnqueueSegmentation(segmentation_pb2.EnqueueSegmentationRequest(
        project_id=project.id, unsegmented=segmentation_pb2.UnsegmentedImages()))
    assert len(reply.jobs) == 3

    def finished():
        stats = alice.project_stats(project.id)
        return stats.segmented_count + stats.failed_count == 3 and stats.queued_count + stats.processing_count == 0

    poll_until(finished, timeout=30, what="three jobs finished by the built-in worker")
    assert api.sql(f"SELECT count(*) FROM segmentation_jobs WHERE project_id = '{project.id}' AND status IN (3, 4)") == "3"
    assert api.sql("SELECT queued, processing FROM queue_counters") == "0|0"


def test_a_second_node_sees_the_first_nodes_commits_and_revocations(api, streams, tmp_path):
    """Two servers on one database: a change through node B reaches a stream on node A (B's
    NOTIFY wakes A's listener, which reads the log), and a share revoked through B refuses the
    ex-member's next call on A at once (A's role cache follows the shared generation). Node B
    has a data directory of its own (image files are not shared between nodes yet), so it
    makes no upload."""
    node_b = Server(tmp_path / "node-b", ["--database", api.database])
    channel_b = grpc.insecure_channel(node_b.address, options=CHANNEL_OPTIONS + API_OPTIONS)
    try:
        alice_b = Client(channel_b, "alice", api.alice.token)
        project = api.alice.create_project(unique("pg-nodes"))
        api.alice.share(project.id, api.bob, role=common_pb2.ROLE_VIEWER)
        assert api.bob.project_stats(project.id).image_count == 0  # bob's role is cached on A now
        w = streams.project(api.alice, project.id, min_update_interval_ms=0)
        snapshot, _ = wait_caught_up(w)

        alice_b.projects.UpdateProject(projects_pb2.UpdateProjectRequest(project_id=project.id, project_description="from B"))
        updated = w.wait_for(lambda e: e.WhichOneof("payload") == "project_updated", timeout=2)
        assert updated.revision > snapshot.revision, describe(updated)

        alice_b.projects.RevokeShare(projects_pb2.RevokeShareRequest(project_id=project.id, user_name="bob"))
        shares = w.wait_for(lambda e: e.WhichOneof("payload") == "shares_changed", timeout=2)
        assert shares.revision == updated.revision + 1, describe(shares)

        def refused():
            try:
                api.bob.project_stats(project.id)
                return False
            except grpc.RpcError as error:
                return error.code() in (Code.NOT_FOUND, Code.PERMISSION_DENIED)

        poll_until(refused, timeout=1, what="bob refused on node A after node B revoked his share")
    finally:
        channel_b.close()
        node_b.stop()


def test_revisions_are_gap_free_and_check_is_clean(api):
    """Every committed change has one event-log row; log_head holds the last revision; `check`
    recounts every counter from the rows after the server stopped."""
    head = int(api.sql("SELECT revision FROM log_head"))
    assert head > 0
    assert api.sql("SELECT count(*), min(revision), max(revision) FROM event_log") == f"{head}|1|{head}"
    api.server.stop()
    checked = cellhubd("check", data_dir=api.data_dir, database=api.database)
    assert checked.returncode == 0, f"check: {checked.stdout}{checked.stderr}"
    assert checked.stdout.startswith("ok: ") and "counters consistent" in checked.stdout, checked.stdout
