"""The blocking client: `cellhub.Client(target, token=...)`, one attribute per service."""
from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any

import grpc

from cellhub._errors import Error, error_from
from cellhub._jobs import Job, Leases
from cellhub._services import ImageServiceBase, ProjectServiceBase, SegmentationServiceBase, StatsServiceBase
from cellhub._streams import RESUMABLE, Backoff, resuming
from cellhub._transport import CHANNEL_OPTIONS, Transport, resolve_token
from cellhub.v1 import common_pb2, events_pb2, segmentation_pb2

__all__ = ["Client", "ProjectService", "ImageService", "SegmentationService", "StatsService"]


class ProjectService(ProjectServiceBase):
    """Projects and who may access them (`client.projects`)."""


class ImageService(ImageServiceBase):
    """Images of a project (`client.images`)."""


class StatsService(StatsServiceBase):
    """Statistics, dashboards and activity, polled or streamed (`client.stats`). The watch_*
    methods iterate forever: they reconnect and resume without a gap or a repeat."""

    def watch_project(self, project_id: str, *, resume_from: common_pb2.StreamPosition | None = None,
                      min_update_interval_ms: int | None = None, heartbeat_interval_s: int | None = None,
                      backoff: Backoff = Backoff()) -> Iterator[events_pb2.ProjectEvent]:
        """Events of one project: SNAPSHOT, CAUGHT_UP, then every change. Ends with NotFound
        (deleted or not visible), PermissionDenied (access revoked) or Unauthenticated."""
        def open_stream(position: common_pb2.StreamPosition | None) -> Iterator[events_pb2.ProjectEvent]:
            return self._open_watch_project(project_id=project_id, resume_from=position,
                                            min_update_interval_ms=min_update_interval_ms,
                                            heartbeat_interval_s=heartbeat_interval_s)
        return resuming(open_stream, resume_from, backoff, self._transport.closed)

    def watch_dashboard(self, *, time_zone: str | None = None, resume_from: common_pb2.StreamPosition | None = None,
                        min_update_interval_ms: int | None = None, heartbeat_interval_s: int | None = None,
                        backoff: Backoff = Backoff()) -> Iterator[events_pb2.DashboardEvent]:
        """The caller's dashboard metrics: a SNAPSHOT on every (re)connection, then updates."""
        def open_stream(position: common_pb2.StreamPosition | None) -> Iterator[events_pb2.DashboardEvent]:
            return self._open_watch_dashboard(time_zone=time_zone, resume_from=position,
                                              min_update_interval_ms=min_update_interval_ms,
                                              heartbeat_interval_s=heartbeat_interval_s)
        return resuming(open_stream, resume_from, backoff, self._transport.closed)

    def watch_activity(self, *, resume_from: common_pb2.StreamPosition | None = None, backlog_size: int | None = None,
                       project_id: str | None = None, heartbeat_interval_s: int | None = None,
                       backoff: Backoff = Backoff()) -> Iterator[events_pb2.ActivityEvent]:
        """The caller's activity feed: the backlog, CAUGHT_UP, then live entries."""
        def open_stream(position: common_pb2.StreamPosition | None) -> Iterator[events_pb2.ActivityEvent]:
            return self._open_watch_activity(resume_from=position, backlog_size=backlog_size, project_id=project_id,
                                             heartbeat_interval_s=heartbeat_interval_s)
        return resuming(open_stream, resume_from, backoff, self._transport.closed)


class SegmentationService(SegmentationServiceBase):
    """The segmentation queue (`client.segmentation`); `jobs()` is the worker's loop."""

    def jobs(self, *, concurrency: int = 1, worker_name: str = "python-worker", models: Sequence[str] = (),
             backoff: Backoff = Backoff()) -> Iterator[Job]:
        """Jobs pushed to this worker (a worker token), at most `concurrency` under lease at
        once. A thread reads the ClaimJobs stream as it arrives, so a lease is renewed from the
        moment its job is pushed (not only once the loop takes it) and a revocation is seen
        while the model runs; each lease is renewed until the job's `complete` or `fail`, and a
        lease the server revokes sets `job.revoked`. Reconnects forever on UNAVAILABLE /
        RESOURCE_EXHAUSTED; other statuses end the loop with the error."""
        transport = self._transport
        leases = Leases(self, transport.closed)

        request = segmentation_pb2.ClaimJobsRequest(worker_name=worker_name, max_concurrent_jobs=concurrency, models=models)
        arrived: queue.Queue[Job | Error | None] = queue.Queue()
        stop = threading.Event()
        current: list[Any] = []

        def pump() -> None:
            failures = 0
            while not stop.is_set() and not transport.closed.is_set():
                stream = transport.open_stream("/cellhub.v1.SegmentationService/ClaimJobs", request,
                                               segmentation_pb2.ClaimJobsResponse, None, ())
                current[:] = [stream]
                try:
                    for item in stream:
                        failures = 0
                        kind = item.WhichOneof("item")
                        if kind == "assignment":
                            job = Job(item.assignment, self, leases)
                            leases.add(job)
                            arrived.put(job)
                        elif kind == "lease_revoked":
                            leases.revoke(item.lease_revoked.lease_id, item.lease_revoked.reason)
                except grpc.RpcError as raw:
                    error = error_from(raw)
                    if stop.is_set() or transport.closed.is_set():
                        break
                    if not isinstance(error, RESUMABLE):
                        arrived.put(error)
                        return
                delay = backoff.delay(failures)
                failures += 1
                if stop.wait(delay):
                    break
            arrived.put(None)

        threading.Thread(target=pump, name="cellhub-claim-jobs", daemon=True).start()
        try:
            while (item := arrived.get()) is not None:
                if isinstance(item, Error):
                    raise item
                yield item
        finally:
            stop.set()
            for stream in current:
                stream.cancel()
            leases.stop()


class Client:
    """A connection to a CellHub server.

        with cellhub.Client("127.0.0.1:50051", token_file="admin.token") as client:
            project = client.projects.create_project(name="demo").project
            for event in client.stats.watch_project(project.id):
                ...

    The token comes from `token`, else `token_file`, else the environment (CELLHUB_TOKEN,
    CELLHUB_TOKEN_FILE). Unary calls get a deadline of `timeout` seconds unless a call says
    otherwise (`timeout=None`: none); streams have none. Failed calls raise `cellhub.Error`
    subclasses by status. `credentials` selects TLS; `options` are extra grpcio channel options.
    """

    def __init__(self, target: str = "127.0.0.1:50051", *, token: str | None = None,
                 token_file: str | os.PathLike[str] | None = None, timeout: float | None = 30.0,
                 credentials: grpc.ChannelCredentials | None = None,
                 options: Iterable[tuple[str, Any]] = ()) -> None:
        channel_options = CHANNEL_OPTIONS + list(options)
        if credentials is None:
            self.channel = grpc.insecure_channel(target, options=channel_options)
        else:
            self.channel = grpc.secure_channel(target, credentials, options=channel_options)
        self._transport = Transport(self.channel, resolve_token(token, token_file), timeout)
        self.projects = ProjectService(self._transport)
        self.images = ImageService(self._transport)
        self.segmentation = SegmentationService(self._transport)
        self.stats = StatsService(self._transport)

    def close(self) -> None:
        """Ends every call in flight; resuming streams stop instead of reconnecting."""
        self._transport.closed.set()
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
