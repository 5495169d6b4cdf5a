"""Delivery guarantees of CellHub's real-time streams, end to end over the wire (events.proto,
stats_service.proto): no discrete event is lost, duplicated or reordered when a client cancels
and resumes with `resume_from` (also across a SIGTERM and a SIGKILL restart on the same data
directory), stats updates are coalesced as documented, a client that never reads costs bounded
memory and ends RESOURCE_EXHAUSTED without slowing the others, a drain ends every stream
UNAVAILABLE and a resume on the restarted server continues without a gap, and positions older
than the retention window (or of another epoch) are answered with an explicit resync.

The random choices (operations, cancel points, pauses) come from one seed, printed in every
failure message; CELLHUB_STREAM_SEED=N replays a run's choices (not its timing).

Vocabulary: a *connection* is one WatchProject call; a *watcher* is a client that reconnects with
the (epoch, revision, sequence) of the last event it applied. The *discrete* events are all but
SNAPSHOT, CAUGHT_UP, PROGRESS, PRESENCE and PROJECT_STATS_UPDATE; they are never coalesced nor
dropped, so every watcher's sequence of (kind, revision, sequence) over all its connections must
equal the sequence of a watcher that never disconnected (and the server's own replay from the
start).

Positions (events.proto, common.proto): one change can cause several discrete events, which share
its revision and are numbered 1, 2, ... on the stream by `sequence`; coalesced state and stream
control carry sequence 0 ("the whole revision") and are only sent after every discrete event of
their revision. So along a stream the position (revision, sequence, with 0 read as "after every
numbered event of the revision") never decreases, discrete positions strictly increase, and after
a resume from (R, S) the events due are those with revision > R, or revision == R and sequence > S
when S > 0.
"""
from __future__ import annotations

import math
import os
import random
import signal
import statistics
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import h2.settings

from api_support import (
    API_OPTIONS,
    Client,
    add_user,
    common_pb2,
    images_pb2,
    png,
    projects_pb2,
    requires_cellhubd,
    stats_service_pb2,
    stats_service_pb2_grpc,
)
from conftest import CHANNEL_OPTIONS, HOST, MiB, H2Client, Server, grpc_frame

from cellhub.v1 import events_pb2  # noqa: E402  (path set up by api_support)

pytestmark = requires_cellhubd

E, SS, P, I, C = events_pb2, stats_service_pb2, projects_pb2, images_pb2, common_pb2
K = events_pb2.EventKind
SNAPSHOT, CAUGHT_UP, PROGRESS, PRESENCE = K.EVENT_KIND_SNAPSHOT, K.EVENT_KIND_CAUGHT_UP, K.EVENT_KIND_PROGRESS, K.EVENT_KIND_PRESENCE
STATS = K.EVENT_KIND_PROJECT_STATS_UPDATE
COUNT_CHANGE, IMAGE_DELETED = K.EVENT_KIND_PROJECT_IMAGE_COUNT_CHANGE, K.EVENT_KIND_IMAGE_DELETED
BATCH_DELETED, PROJECT_UPDATED, SHARES_CHANGED = (
    K.EVENT_KIND_BATCH_IMAGES_DELETED, K.EVENT_KIND_PROJECT_UPDATED, K.EVENT_KIND_SHARES_CHANGED)
NOT_DISCRETE = {SNAPSHOT, CAUGHT_UP, PROGRESS, PRESENCE, STATS}
# Events that carry sequence 0: state (coalesced) and stream control. (These tests run no
# segmentation, so SEGMENTATION_COMPLETED/FAILED never occur; they are listed for the sequence rule.)
UNNUMBERED = NOT_DISCRETE | {K.EVENT_KIND_SEGMENTATION_COMPLETED, K.EVENT_KIND_SEGMENTATION_FAILED}
# Sequence 0 names the whole revision: it orders after every numbered event of that revision.
WHOLE_REVISION = 1 << 32
ADDED, REMOVED = E.IMAGE_COUNT_CHANGE_TYPE_ADDED, E.IMAGE_COUNT_CHANGE_TYPE_REMOVED
EDITOR, VIEWER = C.ROLE_EDITOR, C.ROLE_VIEWER
Code = grpc.StatusCode

SEED = int(os.environ.get("CELLHUB_STREAM_SEED", random.SystemRandom().randrange(1 << 32)))
DEFAULT_INTERVAL_S = 0.100
KiB = 1024
# The server's per-stream budget of unsent bytes (256 KiB, events.proto: "never dropped: a
# subscriber too slow to take them ends with RESOURCE_EXHAUSTED").
STREAM_BUDGET = 256 * KiB


def rng_for(test: str) -> random.Random:
    return random.Random(f"{SEED}:{test}")


def ctx_of(test: str) -> str:
    return f"[seed {SEED}, {test}]"


def kind_name(kind: int) -> str:
    return K.Name(kind).removeprefix("EVENT_KIND_")


def label(ev) -> str:
    """kind@revision.sequence (sequence left out when 0)."""
    seq = getattr(ev, "sequence", 0)
    return f"{kind_name(ev.kind)}@{ev.revision}" + (f".{seq}" if seq else "")


def brief(ev) -> str:
    """One line per event: kind@revision.sequence and the payload's gist."""
    case = ev.WhichOneof("payload")
    text = str(getattr(ev, case)).replace("\n", " ") if case else ""
    return f"{label(ev)} {text[:120]}"


def position(ev) -> tuple[str, int, int]:
    """The resume position of an event: (epoch, revision, sequence); dashboard events have no
    sequence (0)."""
    return ev.epoch, ev.revision, getattr(ev, "sequence", 0)


def pos_key(revision: int, sequence: int) -> tuple[int, int]:
    """Orders positions along a stream: sequence 0 (the whole revision) after every numbered
    event of the revision."""
    return revision, (sequence or WHOLE_REVISION)


def ev_key(ev) -> tuple[int, int]:
    return pos_key(ev.revision, getattr(ev, "sequence", 0))


def follows(ev, pos) -> bool:
    """Whether `ev` is due after a client applied the event at `pos` ((epoch, revision, sequence)):
    revision > R, or revision == R and sequence > S when S > 0."""
    return ev_key(ev) > pos_key(pos[1], pos[2])


def full_position(resume) -> tuple[str, int, int]:
    """(epoch, revision) or (epoch, revision, sequence) -> (epoch, revision, sequence)."""
    return (resume[0], resume[1], resume[2] if len(resume) > 2 else 0)


def set_resume(req, resume):
    req.resume_from.epoch, req.resume_from.revision, req.resume_from.sequence = full_position(resume)


def is_discrete(ev) -> bool:
    return ev.kind not in NOT_DISCRETE


def stats_of(ev):
    """The ProjectStats an event carries (PROJECT_STATS_UPDATE or SNAPSHOT), else None."""
    if ev.kind == STATS:
        return ev.stats_update.stats
    if ev.kind == SNAPSHOT:
        return ev.snapshot.project.stats
    return None


def stats_numbers(stats) -> dict:
    """Every ProjectStats field but revision (a rename or share moves a pending update's
    revision, not GetProjectStats's)."""
    return {f.name: getattr(stats, f.name) for f in stats.DESCRIPTOR.fields if f.name != "revision"}


def metadata(token: str):
    return (("authorization", f"Bearer {token}"),)


def project_request(project_id: str, resume: tuple | None = None, interval: int | None = None):
    req = SS.WatchProjectRequest(project_id=project_id)
    if interval is not None:
        req.min_update_interval_ms = interval
    if resume is not None:
        set_resume(req, resume)
    return req


def tiny_png(seed: int) -> bytes:
    return png(seed % 8)  # a few distinct contents: most uploads reuse a stored file


def upload_request(project_id: str, count: int, tag: str) -> I.UploadImagesRequest:
    return I.UploadImagesRequest(project_id=project_id, images=[
        I.ImageUpload(name=f"{tag}-{i:03d}.png", content_type="image/png", content=tiny_png(i)) for i in range(count)])


def list_all(client: Client, project_id: str) -> list:
    images, token = [], ""
    for _ in range(10_000):
        reply = client.images.ListImages(I.ListImagesRequest(project_id=project_id, page_size=500, page_token=token))
        images.extend(reply.images)
        token = reply.next_page_token
        if not token:
            return images
    raise AssertionError("ListImages never ends")


def wait_until(predicate, timeout: float, what: str, every: float = 0.01):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


# ---------------------------------------------------------------------------------------------
# the server under test, restartable on the same data directory


class Target:
    """The server the clients talk to. A restart starts a new process on the same data
    directory (a new port); clients ask `current()` for the channel of the running one."""

    def __init__(self, data_dir: Path, args: list[str]):
        self.data_dir = data_dir
        self.args = args
        self.up = threading.Event()
        self.lock = threading.Lock()
        self.generation = 0
        self.channels: list[grpc.Channel] = []
        self.restarts: list[tuple[float, float]] = []  # (signal sent, new server up), monotonic
        self._start()

    def _start(self):
        self.server = Server(self.data_dir, self.args)
        self.channel = grpc.insecure_channel(self.server.address, options=CHANNEL_OPTIONS + API_OPTIONS)
        self.channels.append(self.channel)
        self.up.set()

    def current(self, timeout: float = 60.0) -> tuple[int, grpc.Channel]:
        assert self.up.wait(timeout), "the server did not come back"
        with self.lock:
            return self.generation, self.channel

    def client(self, name: str, token: str) -> Client:
        return Client(self.current()[1], name, token)

    def restart(self, sig: int, between=None) -> tuple[int | None, float]:
        """Stops the server with `sig` (SIGTERM: drain; SIGKILL), runs `between()` while it is
        down, starts it again. Returns (exit status, seconds from the signal to the exit)."""
        sent = time.monotonic()
        with self.lock:
            self.up.clear()
            if sig == signal.SIGKILL:
                self.server.kill()
                rc = self.server.proc.returncode
            else:
                rc = self.server.stop(sig, timeout=30)
            stopped = time.monotonic() - sent
            if between is not None:
                between()
            self.generation += 1
            self._start()
        self.restarts.append((sent, time.monotonic()))
        return rc, stopped

    def during_restart(self, moment: float, slack: float = 1.0) -> bool:
        return any(sent <= moment <= up + slack for sent, up in self.restarts)

    def close(self):
        self.server.kill()
        for ch in self.channels:
            ch.close()


# ---------------------------------------------------------------------------------------------
# stream readers


class Reader:
    """Reads one server-streaming call in a thread: the events with their receive times, then
    the status it ended with."""

    def __init__(self, call, what: str = "stream"):
        self.call = call
        self.what = what
        self.events: list = []
        self.times: list[float] = []
        self.code: grpc.StatusCode | None = None
        self.details = ""
        self.ended_at: float | None = None
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, name=f"reader-{what}", daemon=True)
        self.thread.start()

    def _run(self):
        code, details = Code.OK, ""
        try:
            for ev in self.call:
                now = time.monotonic()
                with self.cond:
                    self.events.append(ev)
                    self.times.append(now)
                    self.cond.notify_all()
        except grpc.RpcError as err:
            code, details = err.code(), err.details() or ""
        with self.cond:
            self.code, self.details, self.ended_at = code, details, time.monotonic()
            self.cond.notify_all()

    def wait(self, predicate, timeout: float, what: str):
        """Waits until predicate(events) holds; fails with the events seen if it never does."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.events):
                left = deadline - time.monotonic()
                if left <= 0 or (self.code is not None and not predicate(self.events)):
                    tail = "\n  ".join(brief(e) for e in self.events[-12:])
                    raise AssertionError(
                        f"{self.what}: {what} not seen within {timeout}s (stream status {self.code} {self.details!r}); "
                        f"{len(self.events)} events, last:\n  {tail}")
                self.cond.wait(min(left, 0.05))
            return list(self.events)

    def wait_caught_up(self, timeout: float = 10.0):
        return self.wait(lambda evs: any(e.kind == CAUGHT_UP for e in evs), timeout, "CAUGHT_UP")

    def wait_end(self, timeout: float) -> tuple[grpc.StatusCode, str]:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"{self.what}: still open {timeout}s later ({len(self.events)} events)"
        return self.code, self.details

    def cancel(self):
        self.call.cancel()
        self.thread.join(10)

    def snapshot_events(self) -> list:
        with self.cond:
            return list(self.events)


def watch_project(channel, token: str, project_id: str, *, resume=None, interval=None, what="project stream") -> Reader:
    stub = stats_service_pb2_grpc.StatsServiceStub(channel)
    return Reader(stub.WatchProject(project_request(project_id, resume, interval), metadata=metadata(token)), what)


def watch_activity(channel, token: str, *, resume=None, backlog=None, what="activity stream") -> Reader:
    req = SS.WatchActivityRequest()
    if backlog is not None:
        req.backlog_size = backlog
    if resume is not None:
        set_resume(req, resume)
    stub = stats_service_pb2_grpc.StatsServiceStub(channel)
    return Reader(stub.WatchActivity(req, metadata=metadata(token)), what)


def watch_dashboard(channel, token: str, *, resume=None, what="dashboard stream") -> Reader:
    req = SS.WatchDashboardRequest()
    if resume is not None:  # the dashboard is pure state: its positions name whole revisions
        req.resume_from.epoch, req.resume_from.revision = resume[0], resume[1]
    stub = stats_service_pb2_grpc.StatsServiceStub(channel)
    return Reader(stub.WatchDashboard(req, metadata=metadata(token)), what)


@dataclass
class Conn:
    """One WatchProject call of a watcher."""
    index: int
    resume_from: tuple[str, int, int] | None
    generation: int
    started: float
    events: list = field(default_factory=list)
    code: grpc.StatusCode | None = None
    details: str = ""
    ended: float | None = None
    cancelled_by_us: bool = False
    plan: str = "steady"


class Watcher:
    """A WatchProject client that reconnects forever with the position (epoch, revision,
    sequence) of the last event it applied. While `churn` is set it cancels each connection at a random point (after a random
    number of events, which lands mid-replay or mid-burst, or after a random time) and pauses a
    random moment before resuming. UNAVAILABLE (a restart) is retried with a short backoff, and
    RESOURCE_EXHAUSTED (it fell behind the server's budget) resumed at once."""

    def __init__(self, name: str, target: Target, user: tuple[str, str], project_id: str, interval: int | None,
                 rng: random.Random, churn: bool):
        self.name = name
        self.target = target
        self.user_name, self.token = user
        self.project_id = project_id
        self.interval = interval
        self.rng = rng
        self.churn = threading.Event()
        if churn:
            self.churn.set()
        self.stopping = threading.Event()
        self.conns: list[Conn] = []
        self.position: tuple[str, int, int] | None = None
        self.lock = threading.Lock()
        self.call = None
        self.current: Conn | None = None
        self.caught_up = threading.Event()  # the current connection has passed CAUGHT_UP
        self.failure: str | None = None
        # Connections the server ended RESOURCE_EXHAUSTED: a burst of discrete events outran
        # this Python reader past the 256 KiB budget; documented to end the stream, and the
        # client resumes from its position like after any other end.
        self.fell_behind = 0
        self.thread = threading.Thread(target=self._run, name=f"watcher-{name}", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def __repr__(self):
        return f"Watcher({self.name}, {self.user_name}, interval={self.interval})"

    def _cancel(self, conn: Conn, call):
        with self.lock:
            if self.current is conn and conn.ended is None:
                conn.cancelled_by_us = True
                call.cancel()

    def _run(self):
        backoff = 0.05
        down_since = None
        try:
            while not self.stopping.is_set():
                generation, channel = self.target.current()
                stub = stats_service_pb2_grpc.StatsServiceStub(channel)
                conn = Conn(len(self.conns), self.position, generation, time.monotonic())
                call = stub.WatchProject(project_request(self.project_id, self.position, self.interval),
                                         metadata=metadata(self.token))
                with self.lock:
                    self.conns.append(conn)
                    self.current, self.call = conn, call
                    if self.stopping.is_set():
                        conn.cancelled_by_us = True
                        call.cancel()
                cancel_after, timer = None, None
                if self.churn.is_set():
                    if self.rng.random() < 0.5:
                        cancel_after = self.rng.randint(1, 8)
                        conn.plan = f"cancel after {cancel_after} events"
                    else:
                        delay = self.rng.uniform(0.02, 0.4)
                        conn.plan = f"cancel after {delay * 1000:.0f} ms"
                        timer = threading.Timer(delay, self._cancel, (conn, call))
                        timer.daemon = True
                        timer.start()
                try:
                    for ev in call:
                        conn.events.append(ev)
                        self.position = position(ev)  # applied
                        if ev.kind == CAUGHT_UP:
                            self.caught_up.set()
                        if cancel_after is not None and len(conn.events) >= cancel_after:
                            self._cancel(conn, call)
                            break
                    else:
                        conn.code = Code.OK
                except grpc.RpcError as err:
                    conn.code, conn.details = err.code(), err.details() or ""
                finally:
                    if timer is not None:
                        timer.cancel()
                    with self.lock:
                        conn.ended = time.monotonic()
                        if conn.code is None:
                            conn.code = Code.CANCELLED
                        self.current = None
                    self.caught_up.clear()
                if conn.cancelled_by_us:
                    backoff, down_since = 0.05, None
                    if not self.stopping.is_set():
                        time.sleep(self.rng.uniform(0.0, 0.25))
                    continue
                if conn.code == Code.RESOURCE_EXHAUSTED and "fell too far behind" in conn.details:
                    self.fell_behind += 1
                    backoff, down_since = 0.05, None
                    continue
                if conn.code == Code.UNAVAILABLE:  # draining / killed / not up yet: resume
                    down_since = down_since or time.monotonic()
                    if time.monotonic() - down_since > 30:
                        self.failure = f"{self.name}: UNAVAILABLE for 30 s: {conn.details!r}"
                        return
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 0.4)
                    continue
                self.failure = (f"{self.name}: connection {conn.index} ended {conn.code.name if conn.code else None} "
                                f"{conn.details!r} ({conn.plan}, {len(conn.events)} events)")
                return
        except Exception as err:  # noqa: BLE001 - reported by the test
            self.failure = f"{self.name}: {type(err).__name__}: {err}"

    # -- control from the test
    def settle(self, timeout: float = 15.0):
        """Stops cancelling: the current connection is replaced by one that stays open; returns
        once that one is caught up."""
        self.churn.clear()
        with self.lock:
            first = len(self.conns)
            if self.current is not None and self.call is not None:
                self.current.cancelled_by_us = True
                self.call.cancel()
                first = len(self.conns)

        def steady():
            with self.lock:
                conn = self.current
                return (conn is not None and conn.index >= first and conn.ended is None
                        and any(e.kind == CAUGHT_UP for e in list(conn.events)))
        wait_until(lambda: steady() or self.failure, timeout, f"{self.name} settled and caught up")
        assert not self.failure, self.failure

    def resume_churn(self):
        self.churn.set()

    def stop(self):
        self.stopping.set()
        with self.lock:
            if self.current is not None and self.call is not None:
                self.current.cancelled_by_us = True
                self.call.cancel()
        self.thread.join(15)
        assert not self.thread.is_alive(), f"{self.name} did not stop"

    # -- what it saw
    def all_events(self) -> list:
        return [ev for conn in self.conns for ev in conn.events]

    def discrete(self) -> list:
        return [ev for ev in self.all_events() if is_discrete(ev)]

    def last_stats(self):
        for ev in reversed(self.all_events()):
            stats = stats_of(ev)
            if stats is not None:
                return ev, stats
        return None, None


def sequence_problems(evs: list, resumed_at: tuple | None = None, mid_revision_start: bool = False) -> list[str]:
    """The numbering rules along one stream (ProjectEvent or ActivityEvent): state and control
    events carry sequence 0, discrete events 1, 2, ... contiguously per revision (from S + 1 for
    the revision R of a resume from (R, S > 0), else from 1; a cancel may cut a revision short);
    positions never go back and no discrete position repeats, so nothing of a revision follows its
    state (sequence 0). `mid_revision_start`: the stream's first revision may start at any
    sequence (an activity backlog, whose cut is by entry count). Returns the violations."""
    problems, nxt, prev = [], {}, None
    first_rev = evs[0].revision if evs else None
    for i, e in enumerate(evs):
        numbered = e.kind not in UNNUMBERED
        if numbered and e.sequence == 0:
            problems.append(f"#{i} discrete event without a sequence: {brief(e)}")
        if not numbered and e.sequence != 0:
            problems.append(f"#{i} state/control event with sequence {e.sequence} (want 0): {brief(e)}")
        if prev is not None:
            if ev_key(e) < ev_key(prev):
                problems.append(f"#{i} position goes back: {label(prev)} -> {label(e)}")
            elif numbered and ev_key(e) == ev_key(prev):
                problems.append(f"#{i} position repeated: {label(prev)} -> {label(e)}")
        if numbered and e.sequence:
            if e.revision in nxt:
                want = nxt[e.revision]
            elif resumed_at is not None and resumed_at[2] and e.revision == resumed_at[1]:
                want = resumed_at[2] + 1
            elif mid_revision_start and e.revision == first_rev:
                want = e.sequence
            else:
                want = 1
            if e.sequence != want:
                problems.append(f"#{i} {label(e)}: sequence {e.sequence}, want {want} (contiguous from "
                                f"{'the resume position' if resumed_at and e.revision == resumed_at[1] else 1})")
            nxt[e.revision] = e.sequence + 1
        prev = e
    return problems


def check_sequences(evs: list, where: str, resumed_at: tuple | None = None, mid_revision_start: bool = False):
    problems = sequence_problems(evs, resumed_at, mid_revision_start)
    assert not problems, (f"{where}: sequence numbering broken ({len(problems)}):\n  " + "\n  ".join(problems[:10])
                          + "\n events:\n  " + "\n  ".join(label(e) for e in evs[:60]))


def check_connections(w: Watcher, epoch: str, ctx: str, allow_unavailable=lambda conn: False) -> dict:
    """The per-connection contract: one epoch, revisions never decrease, sequence numbering as
    events.proto says (sequence_problems), a fresh connection starts SNAPSHOT + CAUGHT_UP, a
    resumed one (never a resync here) replays the discrete events after its (revision, sequence)
    position, then one refresh PROJECT_STATS_UPDATE, then CAUGHT_UP with the replay's count; every
    connection ended as the test ended it. Returns figures for the report."""
    replays = replayed = 0
    assert w.fell_behind <= 3, f"{ctx} {w.name}: ended RESOURCE_EXHAUSTED {w.fell_behind} times: not a reader that keeps up"
    for conn in w.conns:
        evs = conn.events
        where = f"{ctx} {w.name} connection {conn.index} (resume_from={conn.resume_from}, {conn.plan})"
        listing = "\n  ".join(brief(e) for e in evs[:40])
        # RESOURCE_EXHAUSTED: a burst outran this Python reader past the server's 256 KiB
        # budget (documented; the watcher resumed, and the sequence checks below still hold).
        fell_behind = conn.code == Code.RESOURCE_EXHAUSTED and "fell too far behind" in conn.details
        ended_ok = conn.cancelled_by_us or fell_behind or (conn.code == Code.UNAVAILABLE and allow_unavailable(conn))
        assert ended_ok, f"{where} ended {conn.code.name if conn.code else None} {conn.details!r}"
        if not evs:
            continue
        epochs = {e.epoch for e in evs}
        assert epochs == {epoch}, f"{where}: epochs {epochs}, want only {epoch!r}"
        drops = [(a, b) for a, b in zip(evs, evs[1:]) if b.revision < a.revision]
        assert not drops, (f"{where}: revision decreases: " + "; ".join(f"{brief(a)} -> {brief(b)}" for a, b in drops[:3]))
        check_sequences(evs, where, conn.resume_from)
        for e in evs:
            s = stats_of(e)
            if e.kind == STATS:
                assert s.revision == e.revision, f"{where}: stats.revision {s.revision} != envelope {brief(e)}"
            assert bool(e.actor_user_id) == bool(e.actor_user_name), (
                f"{where}: actor_user_id {e.actor_user_id!r} with actor_user_name {e.actor_user_name!r}: {brief(e)}")
        snapshots = [i for i, e in enumerate(evs) if e.kind == SNAPSHOT]
        caught = [i for i, e in enumerate(evs) if e.kind == CAUGHT_UP]
        assert len(caught) <= 1, f"{where}: {len(caught)} CAUGHT_UP:\n  {listing}"
        if conn.resume_from is None:
            assert evs[0].kind == SNAPSHOT and not evs[0].snapshot.resync, f"{where}: fresh stream starts {brief(evs[0])}"
            assert snapshots == [0], f"{where}: SNAPSHOT at {snapshots}"
            if len(evs) > 1:
                assert evs[1].kind == CAUGHT_UP, f"{where}: after the SNAPSHOT: {brief(evs[1])}"
                cu = evs[1].caught_up
                assert (cu.replayed_count, cu.position_lost) == (0, False), f"{where}: {brief(evs[1])}"
            continue
        assert not snapshots, f"{where}: a resume the server must honour got a SNAPSHOT (RESYNC):\n  {listing}"
        start = conn.resume_from
        head = evs[:caught[0]] if caught else evs
        refresh = [i for i, e in enumerate(head) if e.kind == STATS]
        others = [e for e in head if not is_discrete(e) and e.kind != STATS]
        assert not others, f"{where}: before CAUGHT_UP only the replay and one stats refresh may come:\n  {listing}"
        assert len(refresh) <= 1, f"{where}: {len(refresh)} stats updates before CAUGHT_UP:\n  {listing}"
        replay = head[:refresh[0]] if refresh else head
        assert all(is_discrete(e) for e in replay), f"{where}: replay not all discrete:\n  {listing}"
        assert all(follows(e, start) for e in replay), (
            f"{where}: replayed an event at or before position {start[1]}.{start[2]}:\n  {listing}")
        if refresh:
            assert refresh[0] == len(head) - 1, f"{where}: discrete events after the stats refresh:\n  {listing}"
            upd = head[refresh[0]].stats_update
            assert upd.change_count == 0 and not upd.operations, f"{where}: refresh is not a plain state: {brief(head[refresh[0]])}"
        if caught:
            assert refresh, f"{where}: no stats refresh before CAUGHT_UP:\n  {listing}"
            cu = evs[caught[0]].caught_up
            assert (cu.replayed_count, cu.position_lost) == (len(replay), False), (
                f"{where}: CAUGHT_UP {cu} after {len(replay)} replayed events:\n  {listing}")
            replays += 1
            replayed += len(replay)
        assert all(follows(e, start) for e in evs if is_discrete(e)), (
            f"{where}: discrete event at or before position {start[1]}.{start[2]}")
    return {"connections": len(w.conns), "replays": replays, "replayed": replayed, "fell_behind": w.fell_behind}


def field_diff(a, b) -> str:
    """The top-level fields (and payload) in which two events differ."""
    out = []
    for f in a.DESCRIPTOR.fields:
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if va != vb:
            out.append(f"{f.name}: {str(va).strip()[:80]!r} vs {str(vb).strip()[:80]!r}")
    return "; ".join(out)


def compare_discrete(w_name: str, got: list, want: list, ctx: str, payloads: bool = True):
    """got and want: discrete events. Equal (kind, revision, sequence) sequences (and payloads)."""
    g = [(e.kind, e.revision, e.sequence) for e in got]
    x = [(e.kind, e.revision, e.sequence) for e in want]
    if g != x:
        i = next((k for k, (a, b) in enumerate(zip(g, x)) if a != b), min(len(g), len(x)))
        got_s = "\n  ".join(brief(e) for e in got[max(0, i - 3):i + 4])
        want_s = "\n  ".join(brief(e) for e in want[max(0, i - 3):i + 4])
        missing = Counter(x) - Counter(g)
        extra = Counter(g) - Counter(x)
        order = "same events, other order; " if not missing and not extra else ""
        raise AssertionError(
            f"{ctx} {w_name}: discrete sequence differs from the reference at index {i} "
            f"({len(g)} events vs {len(x)}): {order}missing {key_names(missing)}, duplicated/extra {key_names(extra)}\n"
            f" got:\n  {got_s}\n want:\n  {want_s}")
    if payloads:
        differ = [(a, b) for a, b in zip(got, want)
                  if a.SerializeToString(deterministic=True) != b.SerializeToString(deterministic=True)]
        assert not differ, (
            f"{ctx} {w_name}: {len(differ)} of {len(got)} events have the reference's (kind, revision, sequence) but "
            f"other contents (got vs reference), e.g.:\n  " + "\n  ".join(
                f"{label(a)}: {field_diff(a, b)}" for a, b in differ[:5]))


def key_names(counter: Counter) -> list[str]:
    """(kind, revision, sequence) counts as labels, by position."""
    return [f"{kind_name(k)}@{r}.{q}" + (f" x{n}" if n > 1 else "")
            for (k, r, q), n in sorted(counter.items(), key=lambda kv: pos_key(kv[0][1], kv[0][2]))[:12]]


def check_against_reference(w: "Watcher", ref: list, start_rev: int, ctx: str):
    """Two properties. Per connection (the server's delivery): the connection's discrete events
    are exactly the reference's events after its starting position (the SNAPSHOT's revision, or
    resume_from's (revision, sequence)) up to the position of its last event of any kind (a state
    or control event at revision R says every discrete event up to R was sent), contiguous, in
    order, with equal payloads: no loss, duplicate or reordering within a stream, replay
    included. Over all connections (the contract): the concatenation equals the reference."""
    keys = [(e.kind, e.revision, e.sequence) for e in ref]
    floor = pos_key(start_rev, 0)
    for conn in w.conns:
        if not conn.events:
            continue
        d = [e for e in conn.events if is_discrete(e) and e.revision > start_rev]
        begin = pos_key(conn.resume_from[1], conn.resume_from[2]) if conn.resume_from else ev_key(conn.events[0])
        begin = max(begin, floor)
        end = ev_key(conn.events[-1])
        want = [e for e in ref if begin < ev_key(e) <= end]
        try:
            compare_discrete(f"{w.name} connection {conn.index} (after position {begin[0]}.{begin[1] % WHOLE_REVISION}, "
                             f"up to its last event {label(conn.events[-1])}, {conn.plan})", d, want, ctx)
        except AssertionError as err:
            raise AssertionError(f"{err}\n{w.name}'s connections (last 25):\n{conn_summary(w)}") from None
    got = [e for e in w.discrete() if e.revision > start_rev]
    if [(e.kind, e.revision, e.sequence) for e in got] == keys:
        compare_discrete(w.name, got, ref, ctx)
        return
    # Every connection was exact from its starting point to its last event: the difference is at
    # the seams (a resume position other than the last event applied, or a reference problem).
    seams = []
    for prev, conn in zip(w.conns, w.conns[1:]):
        if conn.resume_from is None or not prev.events:
            continue
        last = prev.events[-1]
        if position(last) != conn.resume_from:
            seams.append(f"connection {conn.index} resumed from {conn.resume_from}, but connection {prev.index}'s last "
                         f"event was {label(last)}")
    missing = Counter(keys) - Counter((e.kind, e.revision, e.sequence) for e in got)
    twice = Counter((e.kind, e.revision, e.sequence) for e in got) - Counter(keys)
    raise AssertionError(
        f"{ctx} {w.name}: over {len(w.conns)} connections the discrete events differ from the reference (each "
        f"connection on its own was exact): missing {key_names(missing)}, received again/extra {key_names(twice)}"
        + (f"\nseams: " + "\n  ".join(seams[:5]) if seams else "")
        + f"\n{w.name}'s connections (last 25):\n{conn_summary(w)}")


def conn_summary(w: Watcher) -> str:
    return "\n".join(
        f"  conn {c.index} resume={c.resume_from} {c.plan} -> {c.code.name if c.code else None} "
        f"[{', '.join(label(e) for e in c.events[:14])}{' …' if len(c.events) > 14 else ''}]"
        for c in w.conns[-25:])


# ---------------------------------------------------------------------------------------------
# writers: random operations on one project, with a ledger of what was acknowledged


UNKNOWN_ROLE = -1  # Ledger.bob_role after an interrupted share call: read it back from the server


@dataclass
class Ledger:
    acked: dict = field(default_factory=lambda: {"upload": 0, "delete": 0, "batch_delete": 0, "update": 0, "share": 0})
    uncertain: dict = field(default_factory=lambda: {"upload": 0, "delete": 0, "batch_delete": 0, "update": 0, "share": 0})
    images: dict = field(default_factory=dict)  # id -> size, acknowledged and not (tentatively) deleted
    lock: threading.Lock = field(default_factory=threading.Lock)
    share_lock: threading.Lock = field(default_factory=threading.Lock)
    bob_role: int | None = None  # UNKNOWN_ROLE after a share call a restart interrupted
    errors: list = field(default_factory=list)
    names: int = 0

    def expected_counts(self, which: str) -> dict:
        n = getattr(self, which)
        return {
            (COUNT_CHANGE, ADDED): n["upload"], (COUNT_CHANGE, REMOVED): n["delete"] + n["batch_delete"],
            IMAGE_DELETED: n["delete"], BATCH_DELETED: n["batch_delete"], PROJECT_UPDATED: n["update"],
            SHARES_CHANGED: n["share"],
        }


def discrete_counts(evs: list) -> dict:
    out = {(COUNT_CHANGE, ADDED): 0, (COUNT_CHANGE, REMOVED): 0, IMAGE_DELETED: 0, BATCH_DELETED: 0,
           PROJECT_UPDATED: 0, SHARES_CHANGED: 0}
    for e in evs:
        key = (COUNT_CHANGE, e.image_count_change.change_type) if e.kind == COUNT_CHANGE else e.kind
        out[key] = out.get(key, 0) + 1
    return out


def counts_text(counts: dict) -> dict:
    return {(f"{kind_name(k[0])}/{E.ImageCountChangeType.Name(k[1])[24:]}" if isinstance(k, tuple) else kind_name(k)): v
            for k, v in counts.items()}


class Writer:
    """A thread doing random UploadImages (1-10 tiny PNGs), DeleteImage, DeleteImages,
    UpdateProject and ShareProject/RevokeShare of bob. Failures are server bugs, except calls a
    restart interrupted (uncertain: committed wholly or not at all)."""

    def __init__(self, index: int, target: Target, owner: tuple[str, str], project_id: str, ledger: Ledger,
                 rng: random.Random, stop: threading.Event, tag: str):
        self.index, self.target, self.owner, self.project_id = index, target, owner, project_id
        self.ledger, self.rng, self.stop, self.tag = ledger, rng, stop, tag
        self.thread = threading.Thread(target=self._run, name=f"writer-{index}", daemon=True)
        self.calls = 0
        self._kind = "upload"

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        seq = 0
        while not self.stop.is_set():
            seq += 1
            generation, channel = self.target.current()
            client = Client(channel, *self.owner)
            op = self.rng.choices(["upload", "delete", "batch_delete", "update", "share"], [5, 2, 2, 1, 1])[0]
            try:
                self._do(client, op, f"{self.tag}w{self.index}n{seq}")
                self.calls += 1
            except grpc.RpcError as err:
                if generation != self.target.generation or not self.target.up.is_set():
                    with self.ledger.lock:
                        self.ledger.uncertain[self._kind] += 1
                    if self._kind == "share":  # it may or may not have committed
                        with self.ledger.share_lock:
                            self.ledger.bob_role = UNKNOWN_ROLE
                    continue
                self.ledger.errors.append(f"writer {self.index} {op}: {err.code().name}: {err.details()!r}")
                return
            except Exception as err:  # noqa: BLE001
                self.ledger.errors.append(f"writer {self.index} {op}: {type(err).__name__}: {err}")
                return

    def _do(self, client: Client, op: str, tag: str):
        led = self.ledger
        with led.lock:
            if op in ("delete", "batch_delete") and len(led.images) < 12:
                op = "upload"
            ids = []
            if op == "delete":
                ids = [self.rng.choice(sorted(led.images))]
            elif op == "batch_delete":
                ids = self.rng.sample(sorted(led.images), self.rng.randint(1, 6))
            for i in ids:
                del led.images[i]  # tentatively: nobody else picks them
        self._kind = op
        if op == "upload":
            reply = client.images.UploadImages(upload_request(self.project_id, self.rng.randint(1, 10), tag))
            with led.lock:
                led.images.update((im.id, im.size_bytes) for im in reply.images)
        elif op == "delete":
            client.images.DeleteImage(I.DeleteImageRequest(image_id=ids[0]))
        elif op == "batch_delete":
            reply = client.images.DeleteImages(I.DeleteImagesRequest(project_id=self.project_id, image_ids=ids))
            assert reply.deleted_count == len(ids), f"DeleteImages of {len(ids)}: {reply}"
        elif op == "update":
            with led.lock:
                led.names += 1
                n = led.names
            if self.rng.random() < 0.5:
                req = P.UpdateProjectRequest(project_id=self.project_id, name=f"{self.tag}-name-{n}")
            else:
                req = P.UpdateProjectRequest(project_id=self.project_id, project_description=f"description {n}")
            client.projects.UpdateProject(req)
        else:
            with led.share_lock:  # one share change at a time, each a real change
                if led.bob_role == UNKNOWN_ROLE:
                    members = client.projects.ListShares(P.ListSharesRequest(project_id=self.project_id)).members
                    led.bob_role = next((m.role for m in members if m.user.user_name == "bob"), None)
                if led.bob_role is None:
                    role = self.rng.choice([EDITOR, VIEWER])
                    client.projects.ShareProject(P.ShareProjectRequest(project_id=self.project_id, user_name="bob", role=role))
                    led.bob_role = role
                elif self.rng.random() < 0.5:
                    client.projects.RevokeShare(P.RevokeShareRequest(project_id=self.project_id, user_name="bob"))
                    led.bob_role = None
                else:
                    role = VIEWER if led.bob_role == EDITOR else EDITOR
                    client.projects.ShareProject(P.ShareProjectRequest(project_id=self.project_id, user_name="bob", role=role))
                    led.bob_role = role
        with led.lock:
            led.acked[op] += 1


def run_writers(target, owner, project_id, ledger, rng, count: int, tag: str) -> tuple[threading.Event, list[Writer]]:
    stop = threading.Event()
    writers = [Writer(i, target, owner, project_id, ledger, random.Random(rng.getrandbits(64)), stop, tag).start()
               for i in range(count)]
    return stop, writers


def stop_writers(stop: threading.Event, writers: list[Writer], ctx: str):
    stop.set()
    for w in writers:
        w.thread.join(60)
        assert not w.thread.is_alive(), f"{ctx} writer {w.index} still runs"


def fence_and_settle(target: Target, owner, project_id: str, watchers: list[Watcher], ctx: str):
    """A last upload (moves the stats), then waits until every watcher's final connection has a
    stats event exact at it. Returns GetProjectStats after it."""
    client = target.client(*owner)
    client.images.UploadImages(upload_request(project_id, 1, f"fence-{uuid.uuid4().hex[:8]}"))
    reply = client.stats.GetProjectStats(SS.GetProjectStatsRequest(project_id=project_id))
    fence = reply.stats.revision

    def done(w):
        ev, _ = w.last_stats()
        return ev is not None and ev.revision >= fence and w.position is not None and w.position[1] >= fence
    for w in watchers:
        wait_until(lambda: done(w) or w.failure, 10, f"{w.name} to receive the stats at the fence revision {fence}")
        assert not w.failure, f"{ctx} {w.failure}"
    time.sleep(0.3)  # anything still in flight (nothing should be) lands before the checks
    return reply


def check_final_stats(w: Watcher, want, images: list, ctx: str):
    ev, got = w.last_stats()
    assert got is not None, f"{ctx} {w.name}: no stats received"
    assert stats_numbers(got) == stats_numbers(want), (
        f"{ctx} {w.name}: last stats ({brief(ev)}) differ from GetProjectStats:\n got  {stats_numbers(got)}\n want {stats_numbers(want)}")
    assert got.revision >= want.revision, f"{ctx} {w.name}: last stats at revision {got.revision} < GetProjectStats {want.revision}"
    recount = (len(images), sum(im.size_bytes for im in images))
    assert (got.image_count, got.total_bytes) == recount, (
        f"{ctx} {w.name}: stats (image_count, total_bytes) = {(got.image_count, got.total_bytes)}, ListImages recount {recount}")


class Checks:
    """Runs independent checks and reports every failure at the end, not just the first; on a
    failure every watcher's connections are written to `dump` (one event a line)."""

    def __init__(self, dump: Path | None = None, watchers: list | None = None):
        self.failures: list[str] = []
        self.dump = dump
        self.watchers = watchers or []

    @contextmanager
    def check(self):
        try:
            yield
        except AssertionError as err:
            self.failures.append(str(err))

    def done(self):
        if not self.failures:
            return
        where = ""
        if self.dump is not None:
            with open(self.dump, "w") as out:
                for w in self.watchers:
                    for c in w.conns:
                        out.write(f"== {w.name} connection {c.index} resume_from={c.resume_from} generation={c.generation} "
                                  f"{c.plan} -> {c.code.name if c.code else None} {c.details!r}\n")
                        out.writelines(f"  {brief(e)}\n" for e in c.events)
            where = f" (every connection's events: {self.dump})"
        raise AssertionError(f"{len(self.failures)} failed checks{where}:\n\n" + "\n\n".join(self.failures))


def make_users(data_dir: Path, *names: str) -> dict[str, tuple[str, str]]:
    return {n: (n, add_user(data_dir, n)) for n in names}


def replay_from(target: Target, user, project_id: str, start: tuple, ctx: str) -> list:
    """The server's own replay of the project's discrete events after `start` ((epoch, revision,
    sequence); the reference when no client stayed connected throughout)."""
    start = full_position(start)
    _, channel = target.current()
    r = watch_project(channel, user[1], project_id, resume=start, what="replay from the start")
    evs = r.wait_caught_up(20)
    r.cancel()
    assert not any(e.kind == SNAPSHOT for e in evs), f"{ctx} replay from {start} was not honoured: {brief(evs[0])}"
    cu = next(e for e in evs if e.kind == CAUGHT_UP)
    head = evs[:evs.index(cu)]
    replay = [e for e in head if is_discrete(e)]
    assert cu.caught_up.replayed_count == len(replay) and not cu.caught_up.position_lost, f"{ctx} replay: {brief(cu)}"
    assert all(follows(e, start) for e in replay), f"{ctx} replay from {start}: " + ", ".join(label(e) for e in replay[:20])
    check_sequences(evs[:evs.index(cu) + 1], f"{ctx} replay from {start}", start)
    return replay


# ---------------------------------------------------------------------------------------------
# 1. no lost, duplicated or reordered event while clients cancel and resume


RESUMING_WATCHERS = 6
WRITERS = 3
WRITE_SECONDS = 3.0


def test_resume_loses_nothing_property(tmp_path):
    """Property over the wire: 3 writers do random uploads, deletes, batch deletes, renames and
    share changes for 3 s; a reference watcher never disconnects; 6 watchers (alice and carol,
    default interval and 0 ms) cancel at random points (mid-replay, mid-burst and between two
    events of one revision included) and resume from the (epoch, revision, sequence) of the last
    event applied. Every watcher's discrete (kind, revision, sequence) sequence equals the
    reference's (which matches the acknowledged operations and the server's replay from the
    start); revisions never decrease and sequences are numbered as documented within a
    connection; final stats equal GetProjectStats and a ListImages recount."""
    ctx = ctx_of("resume property")
    rng = rng_for("resume property")
    data = tmp_path / "data"
    users = make_users(data, "alice", "bob", "carol")
    target = Target(data, ["--fast-commits"])
    watchers: list[Watcher] = []
    try:
        alice = target.client(*users["alice"])
        project = alice.create_project(f"resume-{SEED}")
        alice.share(project.id, target.client(*users["carol"]), VIEWER)  # carol watches too (PRESENCE churn)
        epoch = alice.stats.GetProjectStats(SS.GetProjectStatsRequest(project_id=project.id)).epoch
        reference = Watcher("reference", target, users["alice"], project.id, None, random.Random(0), churn=False).start()
        reference.caught_up.wait(10)
        for i in range(RESUMING_WATCHERS):
            user = users["alice" if i % 2 == 0 else "carol"]
            interval = None if i < RESUMING_WATCHERS // 2 else 0
            watchers.append(Watcher(f"w{i}({user[0]}, {'default' if interval is None else 0} ms)", target, user,
                                    project.id, interval, random.Random(rng.getrandbits(64)), churn=True).start())
        for w in watchers:
            wait_until(lambda: w.conns and w.conns[0].events, 10, f"{w.name}'s first snapshot")
        start_rev = max(w.conns[0].events[0].revision for w in watchers + [reference])
        assert reference.conns[0].events[0].revision <= min(w.conns[0].events[0].revision for w in watchers)

        ledger = Ledger()
        began = time.monotonic()
        stop, writers = run_writers(target, users["alice"], project.id, ledger, rng, WRITERS, "p")
        time.sleep(WRITE_SECONDS)
        stop_writers(stop, writers, ctx)
        wrote = time.monotonic() - began
        assert not ledger.errors, f"{ctx} writer calls failed:\n" + "\n".join(ledger.errors)
        for w in watchers:
            assert not w.failure, f"{ctx} {w.failure}\n{conn_summary(w)}"
            w.settle()
        final = fence_and_settle(target, users["alice"], project.id, [reference] + watchers, ctx)
        images = list_all(alice, project.id)
        for w in [reference] + watchers:
            w.stop()
            assert not w.failure, f"{ctx} {w.failure}"

        # The reference stayed on one connection and saw every operation exactly once.
        figures, checks = [], Checks(tmp_path / "streams.txt", [reference] + watchers)
        assert len(reference.conns) == 1, f"{ctx} the reference reconnected: {conn_summary(reference)}"
        ref = [e for e in reference.discrete() if e.revision > start_rev]
        with checks.check():
            check_connections(reference, epoch, ctx)
        with checks.check():
            want_counts = ledger.expected_counts("acked")
            want_counts[(COUNT_CHANGE, ADDED)] += 1  # the fence
            assert discrete_counts(ref) == want_counts, (
                f"{ctx} the reference's discrete events {counts_text(discrete_counts(ref))} do not match the "
                f"acknowledged operations {counts_text(want_counts)}")
        with checks.check():  # the server's replay from the start is the same sequence
            compare_discrete("replay from the start",
                             replay_from(target, users["alice"], project.id, (epoch, start_rev, 0), ctx), ref, ctx)
        for w in watchers:
            with checks.check():
                info = check_connections(w, epoch, ctx)
                figures.append(f"{w.name}: {info['connections']} connections, {info['replays']} honoured resumes, "
                               f"{info['replayed']} events replayed, {info['fell_behind']} fell behind")
            with checks.check():
                check_against_reference(w, ref, start_rev, ctx)
            with checks.check():
                check_final_stats(w, final.stats, images, ctx)
        with checks.check():
            check_final_stats(reference, final.stats, images, ctx)
        ref_keys = {(e.revision, e.sequence) for e in ref}
        resumes = [c.resume_from for w in watchers for c in w.conns if c.resume_from]
        numbered = sum(1 for r in resumes if r[2])
        inside = sum(1 for r in resumes if r[2] and (r[1], r[2] + 1) in ref_keys)
        print(f"{ctx} {sum(w.calls for w in writers)} writer calls in {wrote:.1f}s "
              f"({counts_text(ledger.expected_counts('acked'))}); reference saw {len(ref)} discrete events "
              f"({sum(1 for e in ref if e.sequence > 1)} of them second or later in their revision); "
              f"{len(resumes)} resumes, {numbered} from a discrete event's position, {inside} of them between two "
              f"events of one revision")
        for line in figures:
            print(f"{ctx}   {line}")
        checks.done()
    finally:
        for w in watchers:
            w.stopping.set()
        target.close()


# ---------------------------------------------------------------------------------------------
# 2. the same across a SIGTERM and a SIGKILL restart


def test_resume_across_restarts(tmp_path):
    """As the property test, across a SIGTERM restart (every open stream ends UNAVAILABLE within
    the drain) and a SIGKILL restart of a durable server on the same data directory (new port):
    the epoch never changes, no resume is answered with a RESYNC, nothing is lost; a rename
    acknowledged just before the SIGKILL reaches a watcher that was disconnected before it and
    resumes on the restarted server. The reference is the server's replay from the start,
    checked against the writers' ledger."""
    ctx = ctx_of("resume across restarts")
    rng = rng_for("resume across restarts")
    data = tmp_path / "data"
    users = make_users(data, "alice", "bob", "carol")
    drain = 3.0
    target = Target(data, ["--drain-timeout", str(drain)])  # durable commits: a SIGKILL loses nothing acknowledged
    watchers: list[Watcher] = []
    try:
        alice = target.client(*users["alice"])
        project = alice.create_project(f"restarts-{SEED}")
        alice.share(project.id, target.client(*users["carol"]), VIEWER)
        epoch = alice.stats.GetProjectStats(SS.GetProjectStatsRequest(project_id=project.id)).epoch
        for i in range(4):
            user = users["alice" if i % 2 == 0 else "carol"]
            interval = None if i < 2 else 0
            watchers.append(Watcher(f"w{i}({user[0]}, {'default' if interval is None else 0} ms)", target, user,
                                    project.id, interval, random.Random(rng.getrandbits(64)), churn=True).start())
        lagger = Watcher("lagger", target, users["alice"], project.id, 0, random.Random(1), churn=False).start()
        everyone = watchers + [lagger]
        for w in everyone:
            wait_until(lambda: w.conns and w.conns[0].events, 10, f"{w.name}'s first snapshot")
        start = (epoch, min(w.conns[0].events[0].revision for w in everyone), 0)
        ledger = Ledger()

        def phase(seconds: float, tag: str):
            stop, writers = run_writers(target, users["alice"], project.id, ledger, rng, 2, tag)
            time.sleep(seconds)
            return stop, writers

        # -- SIGTERM while writers run: every open stream ends UNAVAILABLE, then resumes on the new server.
        stop, writers = phase(1.2, "a")
        for w in everyone:
            w.settle()
        open_before = {w.name: w.current for w in everyone}
        rc, took = target.restart(signal.SIGTERM)
        assert rc == 0, f"{ctx} SIGTERM: exit {rc}"
        for w in everyone:
            conn = open_before[w.name]
            wait_until(lambda: conn.ended is not None, 10, f"{w.name}'s stream to end after SIGTERM")
            assert conn.code == Code.UNAVAILABLE and not conn.cancelled_by_us, (
                f"{ctx} {w.name}: stream open at SIGTERM ended {conn.code} {conn.details!r}, want UNAVAILABLE")
            assert conn.ended - target.restarts[-1][0] <= drain + 1.0, f"{ctx} {w.name}: ended {conn.ended - target.restarts[-1][0]:.2f}s after SIGTERM"
        sigterm_took = took
        for w in watchers:
            w.resume_churn()
        time.sleep(1.2)

        # -- SIGKILL right after a committed rename; the lagger was disconnected before it.
        for w in everyone:
            w.settle()
        lagger.churn.clear()
        with lagger.lock:
            lagger.current.cancelled_by_us = True
            lagger.call.cancel()
        lagger.stopping.set()  # park it: it resumes after the restart from its position before the rename
        lagger.thread.join(10)
        lag_position = lagger.position
        marker = f"marker-{uuid.uuid4().hex[:8]}"
        target.client(*users["alice"]).projects.UpdateProject(P.UpdateProjectRequest(project_id=project.id, name=marker))
        open_before = {w.name: w.current for w in watchers}
        target.restart(signal.SIGKILL)
        for w in watchers:
            conn = open_before[w.name]
            wait_until(lambda: conn.ended is not None, 10, f"{w.name}'s stream to break after SIGKILL")
            assert conn.code == Code.UNAVAILABLE, f"{ctx} {w.name}: stream broken by SIGKILL ended {conn.code} {conn.details!r}"
        # the lagger resumes on the restarted server from before the rename
        lagger.stopping.clear()
        lagger.thread = threading.Thread(target=lagger._run, name="watcher-lagger", daemon=True)
        lagger.start()
        wait_until(lambda: lagger.caught_up.is_set() or lagger.failure, 15, "the lagger caught up after the SIGKILL restart")
        assert not lagger.failure, f"{ctx} {lagger.failure}"
        resumed = lagger.conns[-1]
        assert resumed.resume_from == lag_position
        renamed = [e for e in resumed.events if e.kind == PROJECT_UPDATED and e.project_updated.name == marker]
        assert renamed, (f"{ctx} the rename to {marker!r}, acknowledged just before the SIGKILL, is missing from the resume "
                         f"from {lag_position} after the restart:\n  " + "\n  ".join(brief(e) for e in resumed.events))
        for w in watchers:
            w.resume_churn()
        time.sleep(1.2)
        stop_writers(stop, writers, ctx)
        assert not ledger.errors, f"{ctx} writer calls failed:\n" + "\n".join(ledger.errors)

        for w in everyone:
            assert not w.failure, f"{ctx} {w.failure}\n{conn_summary(w)}"
            w.settle()
        final = fence_and_settle(target, users["alice"], project.id, everyone, ctx)
        images = list_all(target.client(*users["alice"]), project.id)
        for w in everyone:
            w.stop()
        reference = replay_from(target, users["alice"], project.id, start, ctx)
        counts = discrete_counts(reference)
        low, extra = ledger.expected_counts("acked"), ledger.expected_counts("uncertain")
        low[(COUNT_CHANGE, ADDED)] += 1  # the fence
        low[PROJECT_UPDATED] += 1  # the marker
        assert all(low[k] <= counts[k] <= low[k] + extra[k] for k in low), (
            f"{ctx} replayed discrete events {counts_text(counts)} vs acknowledged {counts_text(low)} "
            f"(+ up to {counts_text(extra)} interrupted by the restarts)")
        assert [e for e in reference if e.kind == PROJECT_UPDATED and e.project_updated.name == marker], f"{ctx} marker not in the log"

        def restart_end(conn: Conn) -> bool:
            return conn.ended is not None and target.during_restart(conn.ended)
        figures, checks = [], Checks(tmp_path / "streams.txt", everyone)
        for w in everyone:
            with checks.check():
                info = check_connections(w, epoch, ctx, allow_unavailable=restart_end)
                figures.append(f"{w.name}: {info['connections']} connections, {info['replays']} honoured resumes")
            with checks.check():
                check_against_reference(w, reference, start[1], ctx)
            with checks.check():
                check_final_stats(w, final.stats, images, ctx)
            with checks.check():
                after = [c for c in w.conns if c.generation > 0 and c.events]
                assert after, f"{ctx} {w.name} never resumed on a restarted server"
        print(f"{ctx} SIGTERM drain took {sigterm_took:.2f}s; acknowledged {counts_text(ledger.expected_counts('acked'))}, "
              f"interrupted by restarts {counts_text(ledger.expected_counts('uncertain'))}; {len(reference)} discrete events")
        for line in figures:
            print(f"{ctx}   {line}")
        checks.done()
    finally:
        for w in watchers:
            w.stopping.set()
        target.close()


# ---------------------------------------------------------------------------------------------
# 3. coalescing


def test_coalescing_of_stats_updates(tmp_path):
    """10 uploads of 100 images then 100 of 10 from one client: the default-interval watcher gets
    at most 20 coalesced updates (and no more than one per 100 ms), the last equal to
    GetProjectStats; the 0 ms watcher gets exactly one update per upload, in order, change_count
    1, image_count stepping by each upload, each after the upload's PROJECT_IMAGE_COUNT_CHANGE
    (sequence 1 of that revision; the update carries 0)."""
    ctx = ctx_of("coalescing")
    data = tmp_path / "data"
    users = make_users(data, "alice")
    mode = os.environ.get("CELLHUB_COALESCE_MODE", "")  # durable commits (fast enough); "--fast-commits" to compare
    target = Target(data, [mode] if mode else [])
    try:
        alice = target.client(*users["alice"])
        project = alice.create_project("coalesce")
        _, channel = target.current()
        default = watch_project(channel, users["alice"][1], project.id, what="default-interval watcher")
        every = watch_project(channel, users["alice"][1], project.id, interval=0, what="0 ms watcher")
        default.wait_caught_up()
        every.wait_caught_up()
        sizes = [100] * 10 + [10] * 100
        began = time.monotonic()
        for n, size in enumerate(sizes):
            alice.images.UploadImages(upload_request(project.id, size, f"c{n}"))
        took = time.monotonic() - began
        final = alice.stats.GetProjectStats(SS.GetProjectStatsRequest(project_id=project.id)).stats
        assert final.image_count == sum(sizes)

        def live_stats(evs):
            i = next(k for k, e in enumerate(evs) if e.kind == CAUGHT_UP)
            return [e for e in evs[i + 1:] if e.kind == STATS]
        every.wait(lambda evs: len(live_stats(evs)) >= len(sizes), 15, f"{len(sizes)} stats updates")
        default.wait(lambda evs: live_stats(evs) and live_stats(evs)[-1].revision >= final.revision, 15,
                     f"the stats at revision {final.revision}")
        time.sleep(0.4)  # nothing more may come
        d_events, z_events = default.snapshot_events(), every.snapshot_events()
        d_updates, z_updates = live_stats(d_events), live_stats(z_events)
        default.cancel()
        every.cancel()
        check_sequences(d_events, f"{ctx} default-interval watcher")
        check_sequences(z_events, f"{ctx} 0 ms watcher")
        z_live = z_events[next(k for k, e in enumerate(z_events) if e.kind == CAUGHT_UP) + 1:]
        bad_pairs = [f"{label(a)} -> {label(b)}" for a, b in zip(z_live, z_live[1:])
                     if b.kind == STATS and not (a.kind == COUNT_CHANGE and a.revision == b.revision and a.sequence == 1)]
        assert not bad_pairs, (f"{ctx} 0 ms watcher: an update not right after its upload's PROJECT_IMAGE_COUNT_CHANGE "
                               f"(sequence 1, same revision): {bad_pairs[:5]}")
        bound = math.ceil(took / DEFAULT_INTERVAL_S) + 2  # leading edge, one per interval, the trailing one
        print(f"{ctx} {len(sizes)} uploads ({sum(sizes)} images, server {mode or 'durable'}) took {took:.2f}s; "
              f"default-interval watcher: {len(d_updates)} PROJECT_STATS_UPDATE (rate bound {bound}), "
              f"change_counts {[u.stats_update.change_count for u in d_updates]}; 0 ms watcher: {len(z_updates)}")

        # Default interval: coalesced, the last one exact.
        assert len(d_updates) <= 20, f"{ctx} default interval: {len(d_updates)} updates for {len(sizes)} uploads in {took:.2f}s"
        assert len(d_updates) <= bound, f"{ctx} default interval: {len(d_updates)} updates in {took:.2f}s (> 1 per 100 ms)"
        assert sum(u.stats_update.change_count for u in d_updates) == len(sizes), (
            f"{ctx} default interval: change_counts sum to {sum(u.stats_update.change_count for u in d_updates)}, want {len(sizes)}")
        assert d_updates[-1].stats_update.stats == final, (
            f"{ctx} default interval: last update {d_updates[-1].stats_update.stats} != GetProjectStats {final}")
        revs = [u.revision for u in d_updates]
        assert revs == sorted(set(revs)), f"{ctx} default interval: revisions {revs}"
        for a, b in zip(d_updates, d_updates[1:]):
            assert b.stats_update.first_revision > a.revision, f"{ctx} overlapping updates: {brief(a)} / {brief(b)}"

        # 0 ms: one update per upload, in order, stepping exactly.
        assert len(z_updates) == len(sizes), f"{ctx} 0 ms watcher: {len(z_updates)} updates for {len(sizes)} uploads"
        expected_count = 0
        for n, (u, size) in enumerate(zip(z_updates, sizes)):
            expected_count += size
            su = u.stats_update
            ops = [(o.operation, o.operation_count, o.image_count) for o in su.operations]
            assert (su.change_count, su.first_revision, su.stats.image_count, ops) == (
                1, u.revision, expected_count, [(E.STATS_OPERATION_IMAGES_UPLOADED, 1, size)]), (
                f"{ctx} 0 ms watcher update {n}: {brief(u)}; want image_count {expected_count} after an upload of {size}")
        zrevs = [u.revision for u in z_updates]
        assert zrevs == sorted(set(zrevs)), f"{ctx} 0 ms watcher: revisions not increasing: {zrevs}"
        assert z_updates[-1].stats_update.stats == final
    finally:
        target.close()


# ---------------------------------------------------------------------------------------------
# 4. a client that never reads


def test_slow_consumer_is_bounded_and_ends_resource_exhausted(tmp_path):
    """bob's WatchProject and WatchActivity on a raw HTTP/2 connection with a 64-byte window that
    is never reopened, while alice commits 5,000 changes (4,800 renames, 200 uploads): server RSS
    stays under baseline + 100 MiB, a normal watcher's delivery latency (upload return -> its
    PROJECT_STATS_UPDATE) has p99 < 200 ms, and both stuck streams end RESOURCE_EXHAUSTED after at
    most the 256 KiB per-stream budget (the status trails the unsent bytes, so it is read by
    finally opening the window)."""
    ctx = ctx_of("slow consumer")
    data = tmp_path / "data"
    users = make_users(data, "alice", "bob")
    target = Target(data, ["--fast-commits"])
    stuck = None
    try:
        alice = target.client(*users["alice"])
        project = alice.create_project("slow")
        alice.share(project.id, target.client(*users["bob"]), VIEWER)
        _, channel = target.current()
        # The watcher has a connection of its own, as a dashboard would (sharing the writers'
        # grpcio channel adds client-side stalls of 100-400 ms now and then, unrelated to the
        # slow consumer: a watcher on its own connection, in this process or another, sees none).
        own = grpc.insecure_channel(target.server.address, options=CHANNEL_OPTIONS + API_OPTIONS)
        target.channels.append(own)
        watcher = watch_project(own, users["alice"][1], project.id, interval=0, what="normal watcher")
        watcher.wait_caught_up()
        time.sleep(0.3)
        baseline = target.server.rss_bytes()

        # bob's streams on a raw HTTP/2 connection with a 64-byte window that is never reopened.
        stuck = H2Client((HOST, target.server.port), auto_ack=False,
                         settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 64})
        auth = [("authorization", f"Bearer {users['bob'][1]}")]
        s_project = stuck.send_request("/cellhub.v1.StatsService/WatchProject",
                                       grpc_frame(SS.WatchProjectRequest(project_id=project.id).SerializeToString()), extra=auth)
        s_activity = stuck.send_request("/cellhub.v1.StatsService/WatchActivity",
                                        grpc_frame(SS.WatchActivityRequest().SerializeToString()), extra=auth)
        stuck.wait_until(lambda: stuck.streams[s_project].headers and stuck.streams[s_activity].headers, 5)

        uploads, renames = 200, 4800
        samples: list[int] = []
        sampling = threading.Event()

        def sample_rss():
            while not sampling.is_set():
                samples.append(target.server.rss_bytes())
                time.sleep(0.05)
        errors: list[str] = []

        def renamer(t: int, count: int):
            client = Client(channel, *users["alice"])
            try:
                for i in range(count):
                    client.projects.UpdateProject(P.UpdateProjectRequest(project_id=project.id, name=f"slow-{t}-{i}"))
            except grpc.RpcError as err:
                errors.append(f"rename: {err.code().name} {err.details()!r}")
        returned: dict[int, float] = {}
        called: dict[int, float] = {}

        def uploader():
            client = Client(channel, *users["alice"])
            try:
                for i in range(uploads):
                    called[i + 1] = time.monotonic()
                    client.images.UploadImages(upload_request(project.id, 1, f"u{i}"))
                    returned[i + 1] = time.monotonic()  # image_count after this upload
                    time.sleep(0.02)
            except grpc.RpcError as err:
                errors.append(f"upload: {err.code().name} {err.details()!r}")
        threads = [threading.Thread(target=sample_rss, daemon=True),
                   threading.Thread(target=uploader, daemon=True)] + [
                   threading.Thread(target=renamer, args=(t, renames // 2), daemon=True) for t in range(2)]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads[1:]:
            t.join(120)
        took = time.monotonic() - began
        assert not errors, f"{ctx} calls failed: {errors[:5]}"
        watcher.wait(lambda evs: any(e.kind == STATS and e.stats_update.stats.image_count == uploads for e in evs), 10,
                     f"the update of the last upload")
        time.sleep(0.3)
        sampling.set()
        threads[0].join(5)
        peak = max(samples)
        after = target.server.rss_bytes()

        # Delivery latency of the normal watcher: upload return -> its PROJECT_STATS_UPDATE.
        seen: dict[int, float] = {}
        evs = watcher.snapshot_events()
        for ev, at in zip(evs, watcher.times):
            if ev.kind == STATS:
                seen.setdefault(ev.stats_update.stats.image_count, at)
        missing = [n for n in returned if n not in seen]
        assert not missing, f"{ctx} the normal watcher got no update for image counts {missing[:10]}"
        latency = {n: max(0.0, seen[n] - returned[n]) * 1000 for n in returned}
        latencies = sorted(latency.values())
        slowest = sorted(returned, key=latency.get)[-3:]
        slow_text = ", ".join(f"upload {n} at +{returned[n] - began:.2f}s: {latency[n]:.0f} ms (call {1000 * (returned[n] - called[n]):.0f} ms)"
                              for n in reversed(slowest))
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, math.ceil(0.99 * len(latencies)) - 1)]
        discrete = sum(1 for e in evs if is_discrete(e))
        check_sequences(evs, f"{ctx} normal watcher")

        # The stuck streams received at most their 64-byte window. Their status is queued behind
        # the unsent bytes (trailers follow DATA), so open the windows now and read everything.
        before_open = {sid: len(stuck.streams[sid].data) for sid in (s_project, s_activity)}
        stuck.auto_ack = True
        for sid in (s_project, s_activity):
            stuck.conn.increment_flow_control_window(1 << 30, stream_id=sid)
        stuck.conn.increment_flow_control_window(1 << 30)
        stuck.flush()
        results = {}
        for sid, name, msg in ((s_activity, "activity", E.ActivityEvent), (s_project, "project", E.ProjectEvent)):
            resp = stuck.response(sid, timeout=15)
            events = [msg.FromString(body) for _, body in resp.messages]
            results[name] = (resp, events)
        print(f"{ctx} {uploads} uploads + {renames} renames in {took:.1f}s; server RSS baseline {baseline / MiB:.1f} MiB, "
              f"peak {peak / MiB:.1f} MiB (+{(peak - baseline) / MiB:.1f}), after {after / MiB:.1f} MiB; "
              f"normal watcher: {discrete} discrete events, latency p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
              f"max {latencies[-1]:.1f} ms (slowest: {slow_text}); stuck streams before reading: {before_open} bytes; then "
              + "; ".join(f"{n}: grpc-status {r.grpc_status} after {len(r.data)} bytes, {len(ev)} events"
                          for n, (r, ev) in results.items()))
        assert all(v <= 64 for v in before_open.values()), f"{ctx} the server overran a 64-byte window: {before_open}"
        assert peak < baseline + 100 * MiB, f"{ctx} RSS peak {peak / MiB:.1f} MiB >= baseline {baseline / MiB:.1f} + 100 MiB"
        assert p99 < 200, f"{ctx} normal watcher's p99 latency {p99:.1f} ms under a stuck consumer (p50 {p50:.1f} ms; slowest: {slow_text})"
        assert discrete == uploads + renames, f"{ctx} the normal watcher got {discrete} discrete events for {uploads + renames} changes"
        for name, (resp, events) in results.items():
            assert resp.grpc_status == Code.RESOURCE_EXHAUSTED.value[0], (
                f"{ctx} stuck {name} stream: want RESOURCE_EXHAUSTED, got {resp.describe()} ({len(events)} events)")
            assert len(resp.data) <= STREAM_BUDGET + 4 * KiB, f"{ctx} stuck {name} stream held {len(resp.data)} bytes unsent"
            revs = [e.revision for e in events]
            assert revs == sorted(revs), f"{ctx} stuck {name} stream: revisions decrease"
            check_sequences(events, f"{ctx} stuck {name} stream", mid_revision_start=(name == "activity"))
            assert len(events) < renames, f"{ctx} stuck {name} stream delivered {len(events)} events: nothing was bounded"
    finally:
        if stuck is not None:
            stuck.close()
        target.close()


# ---------------------------------------------------------------------------------------------
# 5. graceful drain


def test_drain_ends_streams_unavailable_and_resume_continues(tmp_path):
    """SIGTERM with a project, a dashboard and an activity stream open: each ends UNAVAILABLE
    within the drain; on the restarted server (same epoch) a client that disconnected before four
    changes resumes and gets exactly those events (same as the live stream saw), the stats
    refresh and CAUGHT_UP position_lost=false; the live streams resume with nothing missed."""
    ctx = ctx_of("drain")
    data = tmp_path / "data"
    users = make_users(data, "alice")
    drain = 3.0
    target = Target(data, ["--fast-commits", "--drain-timeout", str(drain)])
    try:
        alice = target.client(*users["alice"])
        token = users["alice"][1]
        project = alice.create_project("drain")
        seeded = alice.images.UploadImages(upload_request(project.id, 3, "seed"))
        epoch = alice.stats.GetProjectStats(SS.GetProjectStatsRequest(project_id=project.id)).epoch
        _, channel = target.current()
        checks = Checks()
        # a client that saw the project up to here and disconnected
        early = watch_project(channel, token, project.id, what="early watcher")
        early_events = early.wait_caught_up()
        early.cancel()
        early_position = position(early_events[-1])

        streams = {
            "project": watch_project(channel, token, project.id, what="project stream"),
            "dashboard": watch_dashboard(channel, token),
            "activity": watch_activity(channel, token, backlog=0),
        }
        streams["project"].wait_caught_up()
        streams["activity"].wait_caught_up()
        streams["dashboard"].wait(lambda evs: evs and evs[0].kind == SNAPSHOT, 10, "SNAPSHOT")
        # changes the early client has not seen, all delivered to the live project stream
        alice.images.UploadImages(upload_request(project.id, 2, "more"))
        alice.projects.UpdateProject(P.UpdateProjectRequest(project_id=project.id, name="drain-renamed"))
        alice.images.DeleteImage(I.DeleteImageRequest(image_id=seeded.images[0].id))
        alice.images.DeleteImages(I.DeleteImagesRequest(project_id=project.id, image_ids=[seeded.images[1].id]))
        last = alice.stats.GetProjectStats(SS.GetProjectStatsRequest(project_id=project.id)).stats
        streams["project"].wait(lambda evs: any(e.kind == BATCH_DELETED for e in evs), 10, "the last change")
        streams["activity"].wait(lambda evs: sum(e.kind == K.EVENT_KIND_USER_ACTIVITY_UPDATE for e in evs) >= 3, 10,
                                 "the activity entries")
        live = streams["project"].snapshot_events()
        live_position = position(live[-1])
        activity_position = position(streams["activity"].snapshot_events()[-1])
        dashboard_position = position(streams["dashboard"].snapshot_events()[-1])

        rc, took = target.restart(signal.SIGTERM)
        sent = target.restarts[-1][0]
        assert rc == 0, f"{ctx} SIGTERM: exit {rc}\n{target.server.log_text()}"
        ends = {}
        for name, r in streams.items():
            code, details = r.wait_end(5)
            ends[name] = r.ended_at - sent
            assert code == Code.UNAVAILABLE, f"{ctx} {name} stream ended {code} {details!r} on SIGTERM, want UNAVAILABLE"
            assert ends[name] <= drain + 0.5, f"{ctx} {name} stream ended {ends[name]:.2f}s after SIGTERM (drain {drain}s)"
        print(f"{ctx} SIGTERM -> exit in {took:.2f}s; streams ended UNAVAILABLE after "
              + ", ".join(f"{n} {t * 1000:.0f} ms" for n, t in ends.items()))

        _, channel = target.current()
        after = Client(channel, *users["alice"]).stats.GetProjectStats(SS.GetProjectStatsRequest(project_id=project.id))
        assert after.epoch == epoch, f"{ctx} the epoch changed across the restart: {epoch!r} -> {after.epoch!r}"
        # the early client resumes on the restarted server: the four changes, no resync
        resumed = watch_project(channel, token, project.id, resume=early_position, what="resumed early watcher")
        evs = resumed.wait_caught_up()
        resumed.cancel()
        missed = [e for e in live if is_discrete(e) and follows(e, early_position)]
        assert [(e.kind, e.sequence) for e in missed] == [
            (COUNT_CHANGE, 1), (PROJECT_UPDATED, 1), (COUNT_CHANGE, 1), (IMAGE_DELETED, 2), (COUNT_CHANGE, 1),
            (BATCH_DELETED, 2)], f"{ctx} live stream: {[brief(e) for e in missed]}"
        with checks.check():
            check_sequences(live, f"{ctx} live project stream")
        replay = [e for e in evs if is_discrete(e)]
        with checks.check():
            check_sequences(evs, f"{ctx} resumed early watcher", early_position)
        with checks.check():
            unnamed = [brief(e) for e in live + evs if e.actor_user_id and not e.actor_user_name]
            assert not unnamed, (f"{ctx} events with an actor_user_id but an empty actor_user_name (events.proto: "
                                 f"empty only when actor_user_id is): {len(unnamed)}, e.g. {unnamed[:3]}")
        with checks.check():
            compare_discrete("resumed early watcher (replay after the restart vs the live stream before it)",
                             replay, missed, ctx, payloads=False)
        with checks.check():
            assert [e.kind for e in evs[-2:]] == [STATS, CAUGHT_UP], f"{ctx} resume after the drain: {[brief(e) for e in evs]}"
            assert stats_numbers(evs[-2].stats_update.stats) == stats_numbers(last), (
                f"{ctx} resume refresh: {brief(evs[-2])}, want {last}")
            cu = evs[-1].caught_up
            assert (cu.replayed_count, cu.position_lost) == (len(missed), False), f"{ctx} resume after the drain: {brief(evs[-1])}"
        with checks.check():
            compare_discrete("resumed early watcher (replay after the restart vs the live stream before it)",
                             replay, missed, ctx, payloads=True)
        # the live project stream resumes with nothing missed
        with checks.check():
            again = watch_project(channel, token, project.id, resume=live_position, what="resumed live watcher")
            evs = again.wait_caught_up()
            again.cancel()
            assert [(e.kind, e.sequence) for e in evs] == [(STATS, 0), (CAUGHT_UP, 0)] and evs[-1].caught_up.replayed_count == 0 and not evs[-1].caught_up.position_lost, (
                f"{ctx} resume of the live stream: {[brief(e) for e in evs]}")
        with checks.check():
            act = watch_activity(channel, token, resume=activity_position, what="resumed activity stream")
            evs = act.wait_caught_up()
            act.cancel()
            assert [(e.kind, e.sequence) for e in evs] == [(CAUGHT_UP, 0)] and not evs[0].caught_up.position_lost and evs[0].epoch == epoch, (
                f"{ctx} resume of the activity stream: {[brief(e) for e in evs]}")
        with checks.check():
            dash = watch_dashboard(channel, token, resume=dashboard_position, what="resumed dashboard")
            evs = dash.wait(lambda evs: evs, 10, "SNAPSHOT")
            dash.cancel()
            assert evs[0].kind == SNAPSHOT and not evs[0].snapshot.resync and evs[0].epoch == epoch, (
                f"{ctx} resume of the dashboard: {brief(evs[0])}")
        checks.done()
    finally:
        target.close()


# ---------------------------------------------------------------------------------------------
# 6. retention window and epochs


def test_resume_outside_retention_or_epoch_resyncs(tmp_path):
    """--event-retention 1s: a position older than the window, or of an unknown epoch, is answered
    with SNAPSHOT resync=true + CAUGHT_UP position_lost=true (activity: the backlog + CAUGHT_UP
    position_lost=true); the current position (also idle past the window) and a position one
    change back inside the window are honoured."""
    ctx = ctx_of("retention")
    data = tmp_path / "data"
    users = make_users(data, "alice")
    target = Target(data, ["--fast-commits", "--event-retention", "1s", "--maintenance-interval", "0.2"])
    try:
        alice = target.client(*users["alice"])
        token = users["alice"][1]
        _, channel = target.current()
        project = alice.create_project("retention")
        alice.images.UploadImages(upload_request(project.id, 2, "a"))
        old = watch_project(channel, token, project.id, what="first watcher")
        old_events = old.wait_caught_up()
        old.cancel()
        old_position = position(old_events[-1])
        act = watch_activity(channel, token, what="first activity stream")
        act_events = act.wait_caught_up()
        act.cancel()
        act_old = position(act_events[0])  # an entry's position (the project's creation)
        epoch = old_position[0]

        alice.images.UploadImages(upload_request(project.id, 3, "b"))
        alice.projects.UpdateProject(P.UpdateProjectRequest(project_id=project.id, name="retention-2"))
        time.sleep(2.0)  # past the 1 s window, several maintenance runs

        def resume_project(resume, what):
            r = watch_project(channel, token, project.id, resume=resume, what=what)
            evs = r.wait_caught_up()
            r.cancel()
            return evs

        def resync(evs, what):
            assert evs[0].kind == SNAPSHOT and evs[0].snapshot.resync, f"{ctx} {what}: want SNAPSHOT resync=true, got {[brief(e) for e in evs]}"
            assert [(e.kind, e.sequence) for e in evs] == [(SNAPSHOT, 0), (CAUGHT_UP, 0)] and evs[1].caught_up.position_lost, (
                f"{ctx} {what}: want SNAPSHOT, CAUGHT_UP position_lost=true, got {[brief(e) for e in evs]}")
            assert evs[1].caught_up.replayed_count == 0 and evs[0].epoch == epoch
            assert evs[0].snapshot.project.stats.image_count == 5 and evs[0].snapshot.project.name == "retention-2"

        resync(resume_project(old_position, "resume from a pruned position"), "resume from a pruned position")
        evs = resume_project((str(uuid.uuid4()), old_position[1], 0), "resume with an unknown epoch")
        resync(evs, "unknown epoch")
        # The newest position stays valid while nothing happens, even once its row is older than the window.
        idle = position(evs[-1])
        evs = resume_project(idle, "resume from the current position, idle past the window")
        assert [e.kind for e in evs] == [STATS, CAUGHT_UP] and (evs[1].caught_up.replayed_count, evs[1].caught_up.position_lost) == (0, False), (
            f"{ctx} resume from the current position {idle} after 2 s without changes: {[brief(e) for e in evs]}")

        # Inside the window: honoured.
        alice.images.UploadImages(upload_request(project.id, 1, "c"))
        current = alice.stats.GetProjectStats(SS.GetProjectStatsRequest(project_id=project.id))
        evs = resume_project((current.epoch, current.stats.revision, 0), "resume from the current position")
        assert [e.kind for e in evs] == [STATS, CAUGHT_UP] and (evs[1].caught_up.replayed_count, evs[1].caught_up.position_lost) == (0, False), (
            f"{ctx} resume from the current position: {[brief(e) for e in evs]}")
        alice.projects.UpdateProject(P.UpdateProjectRequest(project_id=project.id, name="retention-3"))
        evs = resume_project((current.epoch, current.stats.revision, 0), "resume one change back")
        assert [(e.kind, e.sequence) for e in evs] == [(PROJECT_UPDATED, 1), (STATS, 0), (CAUGHT_UP, 0)] and (
            evs[-1].caught_up.replayed_count, evs[-1].caught_up.position_lost) == (1, False), (
            f"{ctx} resume one change back (inside the window): {[brief(e) for e in evs]}")

        # WatchActivity: backlog then CAUGHT_UP position_lost=true.
        def resume_activity(resume, what, backlog=None):
            r = watch_activity(channel, token, resume=resume, backlog=backlog, what=what)
            evs = r.wait_caught_up()
            r.cancel()
            return evs
        listed = alice.stats.ListActivity(SS.ListActivityRequest(page_size=100)).entries
        for what, resume in (("pruned position", act_old), ("unknown epoch", (str(uuid.uuid4()), act_old[1], act_old[2]))):
            evs = resume_activity(resume, f"activity resume from a {what}", backlog=3)
            want = [(e.kind, e.revision, e.sequence) for e in reversed(listed[:3])]
            assert [(e.kind, e.revision, e.sequence) for e in evs[:-1]] == want and evs[-1].kind == CAUGHT_UP, (
                f"{ctx} activity resume from a {what}: want the backlog {want} then CAUGHT_UP, got {[brief(e) for e in evs]}")
            cu = evs[-1].caught_up
            assert (cu.position_lost, cu.replayed_count) == (True, 3), f"{ctx} activity resume from a {what}: {brief(evs[-1])}"
        fresh = resume_activity(None, "fresh activity stream", backlog=0)
        evs = resume_activity(position(fresh[-1]), "activity resume from the current position")
        assert [e.kind for e in evs] == [CAUGHT_UP] and (evs[0].caught_up.replayed_count, evs[0].caught_up.position_lost) == (0, False), (
            f"{ctx} activity resume from the current position: {[brief(e) for e in evs]}")
        alice.images.UploadImages(upload_request(project.id, 1, "d"))
        evs = resume_activity(position(fresh[-1]), "activity resume one entry back")
        assert [(e.kind, e.sequence) for e in evs] == [(K.EVENT_KIND_USER_ACTIVITY_UPDATE, 1), (CAUGHT_UP, 0)] and (
            evs[-1].caught_up.replayed_count, evs[-1].caught_up.position_lost) == (1, False), (
            f"{ctx} activity resume one entry back: {[brief(e) for e in evs]}")
    finally:
        target.close()
