"""The asyncio client: `cellhub.aio.Client`, the same services with `await` and `async for`.

    async with cellhub.aio.Client("127.0.0.1:50051", token_file="admin.token") as client:
        async for event in client.stats.watch_dashboard():
            ...
"""
from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterable, Sequence
from types import TracebackType
from typing import Any

import grpc
import grpc.aio

from cellhub._errors import Error, error_from
from cellhub._jobs import AsyncJob, AsyncLeases
from cellhub._services import (
    AsyncImageServiceBase,
    AsyncProjectServiceBase,
    AsyncSegmentationServiceBase,
    AsyncStatsServiceBase,
)
from cellhub._streams import RESUMABLE, Backoff, resuming_async
from cellhub._transport import CHANNEL_OPTIONS, AsyncTransport, resolve_token
from cellhub.v1 import common_pb2, events_pb2, segmentation_pb2

__all__ = ["Client", "ProjectService", "ImageService", "SegmentationService", "StatsService", "AsyncJob"]


class ProjectService(AsyncProjectServiceBase):
    """Projects and who may access them (`client.projects`)."""


class ImageService(AsyncImageServiceBase):
    """Images of a project (`client.images`)."""


class StatsService(AsyncStatsServiceBase):
    """Statistics, dashboards and activity (`client.stats`); watch_* resume without a gap."""

    def watch_project(self, project_id: str, *, resume_from: common_pb2.StreamPosition | None = None,
                      min_update_interval_ms: int | None = None, heartbeat_interval_s: int | None = None,
                      backoff: Backoff = Backoff()) -> AsyncIterator[events_pb2.ProjectEvent]:
        """See `cellhub.Client.stats.watch_project`."""
        def open_stream(position: common_pb2.StreamPosition | None) -> AsyncIterator[events_pb2.ProjectEvent]:
            return self._open_watch_project(project_id=project_id, resume_from=position,
                                            min_update_interval_ms=min_update_interval_ms,
                                            heartbeat_interval_s=heartbeat_interval_s)
        return resuming_async(open_stream, resume_from, backoff, self._transport.closed)

    def watch_dashboard(self, *, time_zone: str | None = None, resume_from: common_pb2.StreamPosition | None = None,
                        min_update_interval_ms: int | None = None, heartbeat_interval_s: int | None = None,
                        backoff: Backoff = Backoff()) -> AsyncIterator[events_pb2.DashboardEvent]:
        """See `cellhub.Client.stats.watch_dashboard`."""
        def open_stream(position: common_pb2.StreamPosition | None) -> AsyncIterator[events_pb2.DashboardEvent]:
            return self._open_watch_dashboard(time_zone=time_zone, resume_from=position,
                                              min_update_interval_ms=min_update_interval_ms,
                                              heartbeat_interval_s=heartbeat_interval_s)
        return resuming_async(open_stream, resume_from, backoff, self._transport.closed)

    def watch_activity(self, *, resume_from: common_pb2.StreamPosition | None = None, backlog_size: int | None = None,
                       project_id: str | None = None, heartbeat_interval_s: int | None = None,
                       backoff: Backoff = Backoff()) -> AsyncIterator[events_pb2.ActivityEvent]:
        """See `cellhub.Client.stats.watch_activity`."""
        def open_stream(position: common_pb2.StreamPosition | None) -> AsyncIterator[events_pb2.ActivityEvent]:
            return self._open_watch_activity(resume_from=position, backlog_size=backlog_size, project_id=project_id,
                                             heartbeat_interval_s=heartbeat_interval_s)
        return resuming_async(open_stream, resume_from, backoff, self._transport.closed)


class SegmentationService(AsyncSegmentationServiceBase):
    """The segmentation queue (`client.segmentation`); `jobs()` is the worker's loop."""

    async def jobs(self, *, concurrency: int = 1, worker_name: str = "python-worker", models: Sequence[str] = (),
                   backoff: Backoff = Backoff()) -> AsyncIterator[AsyncJob]:
        """See `cellhub.Client.segmentation.jobs`: `await job.complete(...)` or `await job.fail(...)`.
        A task reads the stream as it arrives, so leases are renewed from the moment of the push."""
        transport = self._transport

        leases = AsyncLeases(self)
        request = segmentation_pb2.ClaimJobsRequest(worker_name=worker_name, max_concurrent_jobs=concurrency, models=models)
        arrived: asyncio.Queue[AsyncJob | Error | None] = asyncio.Queue()

        async def pump() -> None:
            failures = 0
            while not transport.closed.is_set():
                stream = transport.open_stream("/cellhub.v1.SegmentationService/ClaimJobs", request,
                                               segmentation_pb2.ClaimJobsResponse, None, ())
                try:
                    async for item in stream:
                        failures = 0
                        kind = item.WhichOneof("item")
                        if kind == "assignment":
                            job = AsyncJob(item.assignment, self, leases)
                            leases.add(job)
                            arrived.put_nowait(job)
                        elif kind == "lease_revoked":
                            leases.revoke(item.lease_revoked.lease_id, item.lease_revoked.reason)
                except grpc.RpcError as raw:
                    error = error_from(raw)
                    if transport.closed.is_set():
                        break
                    if not isinstance(error, RESUMABLE):
                        arrived.put_nowait(error)
                        return
                finally:
                    stream.cancel()
                await asyncio.sleep(backoff.delay(failures))
                failures += 1
            arrived.put_nowait(None)

        reader = asyncio.get_running_loop().create_task(pump())
        try:
            while (item := await arrived.get()) is not None:
                if isinstance(item, Error):
                    raise item
                yield item
        finally:
            reader.cancel()
            leases.stop()


class Client:
    """`cellhub.Client` for asyncio (grpc.aio). Create it inside the running event loop."""

    def __init__(self, target: str = "127.0.0.1:50051", *, token: str | None = None,
                 token_file: str | os.PathLike[str] | None = None, timeout: float | None = 30.0,
                 credentials: grpc.ChannelCredentials | None = None,
                 options: Iterable[tuple[str, Any]] = ()) -> None:
        channel_options = CHANNEL_OPTIONS + list(options)
        if credentials is None:
            self.channel = grpc.aio.insecure_channel(target, options=channel_options)
        else:
            self.channel = grpc.aio.secure_channel(target, credentials, options=channel_options)
        self._transport = AsyncTransport(self.channel, resolve_token(token, token_file), timeout)
        self.projects = ProjectService(self._transport)
        self.images = ImageService(self._transport)
        self.segmentation = SegmentationService(self._transport)
        self.stats = StatsService(self._transport)

    async def close(self) -> None:
        """Ends every call in flight; resuming streams stop instead of reconnecting."""
        self._transport.closed.set()
        await self.channel.close(None)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, value: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()
