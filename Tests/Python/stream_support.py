"""Helpers for the end-to-end tests of CellHub's real-time streams (StatsService.Watch*).

A `Watcher` runs one server-streaming Watch* call (grpcio, the user's bearer token) in a
background thread. It records every event with its monotonic receive time and, when the
stream ends, its final status (code, details). Tests wait on it instead of sleeping:

    w = streams.project(alice, project.id, min_update_interval_ms=0)
    snapshot, caught_up = wait_caught_up(w)
    alice.upload(project.id, upload_of("image/png", 1))
    update = w.wait_for("PROJECT_STATS_UPDATE")
    count = w.wait_for(lambda e: kind_of(e) == "PROJECT_IMAGE_COUNT_CHANGE" and e.revision == update.revision)

Every wait is bounded; on timeout the failure shows everything the stream received (one line
per event: receive time since the call started, kind, revision, actor, payload) and its
status. `Streams` opens watchers on one channel and cancels whatever is still open at the end
of a test (used as a fixture).

Kinds are the EventKind names without the `EVENT_KIND_` prefix. The payload's oneof case is
the source of truth for an event's kind (events.proto); `kind_of` derives it from the case and
`check_envelopes` separately asserts that the envelope's `kind` mirrors it.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import grpc
from google.protobuf import text_format

from api_support import Client, stats_service_pb2, stats_service_pb2_grpc  # noqa: F401  (puts Clients/python on the path)

from cellhub.v1 import events_pb2  # noqa: E402

E = events_pb2
SS = stats_service_pb2

# Default bound of one wait, and the deadline every stream is opened with (a safety net: the
# streams of a test are cancelled when it ends).
WAIT = 5.0
STREAM_DEADLINE = 120.0

# payload oneof case -> kind (EventKind name without its prefix), for the three envelopes
PAYLOAD_KIND = {
    # shared
    "snapshot": "SNAPSHOT",
    "caught_up": "CAUGHT_UP",
    "progress": "PROGRESS",
    # ProjectEvent
    "stats_update": "PROJECT_STATS_UPDATE",
    "image_count_change": "PROJECT_IMAGE_COUNT_CHANGE",
    "image_deleted": "IMAGE_DELETED",
    "batch_images_deleted": "BATCH_IMAGES_DELETED",
    "segmentation_completed": "SEGMENTATION_COMPLETED",
    "segmentation_failed": "SEGMENTATION_FAILED",
    "project_updated": "PROJECT_UPDATED",
    "shares_changed": "SHARES_CHANGED",
    "presence": "PRESENCE",
    "access_revoked": "ACCESS_REVOKED",
    "project_deleted": "PROJECT_DELETED",
    # DashboardEvent
    "metrics_update": "DASHBOARD_METRICS_UPDATE",
    # ActivityEvent
    "user_activity": "USER_ACTIVITY_UPDATE",
    "shared_project_update": "SHARED_PROJECT_UPDATE",
    "project_shared_with_you": "PROJECT_SHARED_WITH_YOU",
    "share_revoked": "SHARE_REVOKED",
}
CONTROL_KINDS = {"SNAPSHOT", "CAUGHT_UP", "PROGRESS"}


def kind_of(event) -> str:
    """The event's kind from its payload case ('NONE' when no payload is set)."""
    case = event.WhichOneof("payload")
    return PAYLOAD_KIND.get(case, f"?{case}") if case else "NONE"


def envelope_kind(event) -> str:
    """The envelope's `kind` field as a name without prefix."""
    try:
        return E.EventKind.Name(event.kind).removeprefix("EVENT_KIND_")
    except ValueError:
        return f"?{event.kind}"


def describe(event, limit: int = 400) -> str:
    """One line: kind, revision, actor and the payload in text format (shortened)."""
    case = event.WhichOneof("payload")
    payload = text_format.MessageToString(getattr(event, case), as_one_line=True) if case else ""
    if len(payload) > limit:
        payload = payload[:limit] + "…"
    actor = f" actor={event.actor_user_name or '-'}" if event.actor_user_id or event.actor_user_name else ""
    mirrored = "" if envelope_kind(event) == kind_of(event) else f" (envelope kind {envelope_kind(event)})"
    project = ""
    if type(event).__name__ != "ProjectEvent" and event.project_id:
        project = f" project={event.project_id[:8]}…"
    return f"{kind_of(event)}{mirrored} rev={event.revision}{actor}{project} {{{payload}}}"


@dataclass
class Received:
    at: float  # time.monotonic() when the event was taken off the stream
    event: object


Predicate = Callable[[object], bool] | str


def _matcher(predicate: Predicate) -> Callable[[object], bool]:
    if isinstance(predicate, str):
        kind = predicate
        return lambda e: kind_of(e) == kind
    return predicate


class Watcher:
    """One Watch* call read in a background thread (see the module docstring)."""

    def __init__(self, channel: grpc.Channel, client: Client, method: str, request, *, label: str | None = None,
                 deadline: float = STREAM_DEADLINE):
        self.method = method
        self.request = request
        self.label = label or f"{client.name}:{method}"
        self._cond = threading.Condition()
        self._received: list[Received] = []
        self.code: grpc.StatusCode | None = None
        self.details: str | None = None
        self.ended_at: float | None = None
        self.started_at = time.monotonic()
        kwargs = {"timeout": deadline}
        if client.metadata is not None:
            kwargs["metadata"] = client.metadata
        self._call = getattr(stats_service_pb2_grpc.StatsServiceStub(channel), method)(request, **kwargs)
        self._thread = threading.Thread(target=self._pump, name=f"watch-{self.label}", daemon=True)
        self._thread.start()

    def __repr__(self):
        return f"Watcher({self.label})"

    # -- the reader thread
    def _pump(self):
        try:
            for event in self._call:
                now = time.monotonic()
                with self._cond:
                    self._received.append(Received(now, event))
                    self._cond.notify_all()
            code, details = self._call.code(), self._call.details()
        except grpc.RpcError as err:
            code, details = err.code(), err.details()
        except Exception as err:  # noqa: BLE001 - the tests report it
            code, details = None, f"reader failed: {err!r}"
        with self._cond:
            self.code, self.details, self.ended_at = code, details, time.monotonic()
            self._cond.notify_all()

    # -- what arrived
    @property
    def received(self) -> list[Received]:
        with self._cond:
            return list(self._received)

    @property
    def events(self) -> list:
        return [r.event for r in self.received]

    def events_of(self, kind: str) -> list:
        return [e for e in self.events if kind_of(e) == kind]

    def kinds(self) -> list[str]:
        return [kind_of(e) for e in self.events]

    def received_at(self, event) -> float:
        """Monotonic receive time of an event previously returned by this watcher."""
        for r in self.received:
            if r.event is event:
                return r.at
        raise AssertionError(f"{self.label}: event not received on this stream: {describe(event)}")

    def index_of(self, event) -> int:
        for i, r in enumerate(self.received):
            if r.event is event:
                return i
        raise AssertionError(f"{self.label}: event not received on this stream: {describe(event)}")

    @property
    def ended(self) -> bool:
        with self._cond:
            return self.ended_at is not None

    def dump(self) -> str:
        with self._cond:
            received = list(self._received)
            ended = (self.code, self.details, self.ended_at)
        lines = [f"{self.label} ({self.method} {text_format.MessageToString(self.request, as_one_line=True)}): "
                 f"{len(received)} event(s)"]
        for i, r in enumerate(received):
            lines.append(f"  #{i} +{r.at - self.started_at:7.3f}s {describe(r.event)}")
        if ended[2] is None:
            lines.append("  (stream still open)")
        else:
            code = ended[0].name if ended[0] is not None else None
            lines.append(f"  ended +{ended[2] - self.started_at:.3f}s: {code} {ended[1]!r}")
        return "\n".join(lines)

    # -- waiting
    def wait_for(self, predicate: Predicate, timeout: float = WAIT, what: str = "", start: int = 0):
        """The first event (from index `start` on) matching `predicate` (a kind name or a callable),
        waiting up to `timeout` seconds; fails with a dump of the stream otherwise."""
        match = _matcher(predicate)
        deadline = time.monotonic() + timeout
        checked = start
        with self._cond:
            while True:
                while checked < len(self._received):
                    event = self._received[checked].event
                    checked += 1
                    if match(event):
                        return event
                if self.ended_at is not None:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        state = "the stream ended" if self.ended else f"nothing within {timeout}s"
        label = what or (predicate if isinstance(predicate, str) else getattr(predicate, "__name__", "event"))
        raise AssertionError(f"{self.label}: waiting for {label}: {state}\n{self.dump()}")

    def wait_count(self, predicate: Predicate, count: int, timeout: float = WAIT, what: str = "") -> list:
        """Waits until `count` events match; returns them (all matches so far)."""
        match = _matcher(predicate)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r.event for r in self._received if match(r.event)]
                if len(found) >= count or self.ended_at is not None:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        if len(found) < count:
            label = what or (predicate if isinstance(predicate, str) else "events")
            raise AssertionError(f"{self.label}: waiting for {count} × {label}, got {len(found)}\n{self.dump()}")
        return found

    def wait_end(self, timeout: float = WAIT) -> tuple[grpc.StatusCode | None, str | None]:
        """The final status (code, details) once the stream ended; fails if it is still open."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.ended_at is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.label}: still open after {timeout}s\n{self.dump()}")
                self._cond.wait(left)
            return self.code, self.details

    def expect_end(self, code: grpc.StatusCode, timeout: float = WAIT, what: str = "") -> str:
        """Waits for the end and asserts its status code and a non-empty message; returns the message."""
        got, details = self.wait_end(timeout)
        assert got == code, f"{self.label}{' ' + what if what else ''}: ended {got.name if got else got} {details!r}, want {code.name}\n{self.dump()}"
        assert (details or "").strip(), f"{self.label}: {code.name} without a grpc-message"
        return details

    def cancel(self, timeout: float = WAIT) -> None:
        """Cancels the call (client side) and waits for the reader thread."""
        self._call.cancel()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"{self.label}: reader thread did not stop after cancel"


class Streams:
    """Opens watchers on one channel; `close()` cancels every one still open (test teardown)."""

    def __init__(self, channel: grpc.Channel):
        self.channel = channel
        self.watchers: list[Watcher] = []

    def open(self, client: Client, method: str, request, label: str | None = None) -> Watcher:
        w = Watcher(self.channel, client, method, request, label=label)
        self.watchers.append(w)
        return w

    def project(self, client: Client, project_id: str, label: str | None = None, **fields) -> Watcher:
        return self.open(client, "WatchProject", SS.WatchProjectRequest(project_id=project_id, **fields),
                         label or f"{client.name}:project")

    def dashboard(self, client: Client, label: str | None = None, **fields) -> Watcher:
        return self.open(client, "WatchDashboard", SS.WatchDashboardRequest(**fields), label or f"{client.name}:dashboard")

    def activity(self, client: Client, label: str | None = None, **fields) -> Watcher:
        return self.open(client, "WatchActivity", SS.WatchActivityRequest(**fields), label or f"{client.name}:activity")

    def close(self) -> None:
        for w in self.watchers:
            if not w.ended:
                try:
                    w.cancel()
                except AssertionError:
                    pass


# ---------------------------------------------------------------------------------------------
# stream-level checks


def wait_caught_up(w: Watcher, timeout: float = WAIT):
    """A fresh project stream's opening: SNAPSHOT then CAUGHT_UP (replayed_count 0, position kept)
    at the snapshot's revision, as its first two events. Returns (snapshot_event, caught_up_event)."""
    caught_up = w.wait_for("CAUGHT_UP", timeout, "SNAPSHOT + CAUGHT_UP")
    events = w.events
    assert [kind_of(e) for e in events[:2]] == ["SNAPSHOT", "CAUGHT_UP"], (
        f"{w.label}: the stream must open with SNAPSHOT, CAUGHT_UP\n{w.dump()}")
    snapshot = events[0]
    assert events[1] is caught_up
    assert not snapshot.snapshot.resync, f"{w.label}: fresh stream's SNAPSHOT has resync=true\n{w.dump()}"
    assert caught_up.caught_up.replayed_count == 0 and not caught_up.caught_up.position_lost, (
        f"{w.label}: CAUGHT_UP after a snapshot: replayed_count 0, position_lost false\n{w.dump()}")
    assert caught_up.revision == snapshot.revision, (
        f"{w.label}: SNAPSHOT rev {snapshot.revision} and CAUGHT_UP rev {caught_up.revision} differ\n{w.dump()}")
    return snapshot, caught_up


def wait_activity_caught_up(w: Watcher, timeout: float = WAIT):
    """An activity stream's opening: backlog entries then CAUGHT_UP. Returns (backlog, caught_up)."""
    caught_up = w.wait_for("CAUGHT_UP", timeout, "the activity backlog + CAUGHT_UP")
    events = w.events
    i = w.index_of(caught_up)
    return events[:i], caught_up


def check_envelopes(w: Watcher, *, epoch: str | None = None, project_id: str | None = None) -> None:
    """Invariants of every event received so far: kind mirrors the payload, one epoch, revisions
    never decrease, a commit/send time, the project id (project streams), no actor on stream
    control events and an actor name exactly when there is an actor id."""
    events = w.events
    problems = []
    last = 0
    epochs = {e.epoch for e in events}
    if len(epochs) > 1 or (epoch is not None and epochs and epochs != {epoch}):
        problems.append(f"epochs {sorted(epochs)} (want {epoch!r})")
    for i, e in enumerate(events):
        k = kind_of(e)
        if envelope_kind(e) != k:
            problems.append(f"#{i}: envelope kind {envelope_kind(e)} does not mirror payload {k}")
        if not e.epoch:
            problems.append(f"#{i}: empty epoch")
        if e.revision < last:
            problems.append(f"#{i}: revision {e.revision} after {last}")
        last = max(last, e.revision)
        if e.timestamp_unix_ms <= 0:
            problems.append(f"#{i}: timestamp_unix_ms {e.timestamp_unix_ms}")
        if project_id is not None and e.project_id != project_id:
            problems.append(f"#{i}: project_id {e.project_id!r}, want {project_id!r}")
        if k in CONTROL_KINDS and (e.actor_user_id or e.actor_user_name):
            problems.append(f"#{i}: {k} names an actor ({e.actor_user_name!r})")
        if bool(e.actor_user_id) != bool(e.actor_user_name):
            problems.append(f"#{i}: actor id {e.actor_user_id!r} / name {e.actor_user_name!r}")
    assert not problems, f"{w.label}: envelope problems:\n  " + "\n  ".join(problems) + "\n" + w.dump()


def user_names(refs: Iterable) -> list[str]:
    return [r.user_name for r in refs]


def member_names(members: Iterable) -> list[tuple[str, int]]:
    return [(m.user.user_name, m.role) for m in members]


def poll_until(fn: Callable[[], object], timeout: float = WAIT, every: float = 0.02, what: str = "condition"):
    """Calls fn until it returns a truthy value (returned), at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not true within {timeout}s (last value {value!r})")
        time.sleep(every)
