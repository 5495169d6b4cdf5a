"""The worker's side of segmentation: jobs pushed on a ClaimJobs stream, leases renewed in the
background while the caller's model runs, results and failures sent back."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterable, Sequence

from cellhub._errors import Error, FailedPrecondition, NotFound
from cellhub._services import AsyncSegmentationServiceBase, SegmentationServiceBase
from cellhub.v1 import segmentation_pb2

__all__ = ["Job", "AsyncJob", "result_from_polygons"]

log = logging.getLogger("cellhub")

Polygon = Sequence[tuple[float, float]]


def result_from_polygons(polygons: Iterable[Polygon]) -> segmentation_pb2.SegmentationResult:
    """A SegmentationResult with one polygon per cell and each polygon's area (shoelace)."""
    shapes = []
    for points in polygons:
        points = list(points)
        area = abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]))) / 2
        shapes.append(segmentation_pb2.Polygon(points=[segmentation_pb2.Point(x=x, y=y) for x, y in points], area_px=area))
    return segmentation_pb2.SegmentationResult(cell_count=len(shapes), polygons=shapes)


class _Lease:
    """A job's lease as the renewer sees it: when it expires, how long the server grants."""

    def __init__(self, assignment: segmentation_pb2.JobAssignment) -> None:
        self.received = time.monotonic()
        self.expires_at_ms = assignment.lease_expires_at_unix_ms
        # Renew at half the granted time: a renewal that is slow or retried still lands in time.
        self.term_s = max(1.0, assignment.lease_expires_at_unix_ms / 1000 - time.time())
        self.ended = False
        self.revoked_reason: str | None = None

    def due(self) -> bool:
        return not self.ended and self.expires_at_ms / 1000 - time.time() < self.term_s / 2


class _JobBase:
    def __init__(self, assignment: segmentation_pb2.JobAssignment) -> None:
        self.assignment = assignment
        self._lease = _Lease(assignment)

    @property
    def job_id(self) -> str:
        return self.assignment.job_id

    @property
    def lease_id(self) -> str:
        return self.assignment.lease_id

    @property
    def image_id(self) -> str:
        return self.assignment.image_id

    @property
    def project_id(self) -> str:
        return self.assignment.project_id

    @property
    def model(self) -> str:
        return self.assignment.model

    @property
    def content(self) -> bytes:
        return self.assignment.image_content

    @property
    def content_type(self) -> str:
        return self.assignment.content_type

    @property
    def revoked(self) -> str | None:
        """Why the server took the lease back (job cancelled, image deleted), or None."""
        return self._lease.revoked_reason

    def _result(self, result: segmentation_pb2.SegmentationResult | None, polygons: Iterable[Polygon] | None,
                processing_time_ms: int | None) -> tuple[segmentation_pb2.SegmentationResult, int]:
        """The result to send, and the processing time (since the push, unless given)."""
        if (result is None) == (polygons is None):
            raise TypeError("pass exactly one of result= and polygons=")
        if result is None:
            assert polygons is not None
            result = result_from_polygons(polygons)
        if processing_time_ms is None:
            processing_time_ms = int((time.monotonic() - self._lease.received) * 1000)
        return result, processing_time_ms

    def __repr__(self) -> str:
        return f"<Job {self.job_id} image {self.image_id} model {self.model} attempt {self.assignment.attempt}>"


class Job(_JobBase):
    """One job under lease. Call `complete` or `fail` exactly once; until then the lease is
    renewed in the background."""

    def __init__(self, assignment: segmentation_pb2.JobAssignment, service: SegmentationServiceBase,
                 leases: Leases) -> None:
        super().__init__(assignment)
        self._service, self._leases = service, leases

    def complete(self, result: segmentation_pb2.SegmentationResult | None = None, *,
                 polygons: Iterable[Polygon] | None = None, processing_time_ms: int | None = None) -> None:
        """Stores the result (a SegmentationResult, or the cells' polygons as (x, y) points).
        Raises FailedPrecondition when the lease is no longer this worker's."""
        result, processing_time_ms = self._result(result, polygons, processing_time_ms)
        try:
            self._service.complete_job(job_id=self.job_id, lease_id=self.lease_id, result=result,
                                       processing_time_ms=processing_time_ms)
        finally:
            self._leases.end(self)

    def fail(self, reason: str, *, retryable: bool = False) -> bool:
        """Reports a failure; True when the server queued the job again."""
        try:
            return self._service.fail_job(job_id=self.job_id, lease_id=self.lease_id,
                                          reason=reason[:1000] or "failed", retryable=retryable).requeued
        finally:
            self._leases.end(self)


class _LeaseBook:
    """The open leases of one `jobs()` loop: which are due for renewal, which ended."""

    def __init__(self) -> None:
        self._jobs: dict[str, _JobBase] = {}
        # The blocking client's renewer is a thread; the asyncio one never contends for it.
        self._lock = threading.Lock()

    def _add(self, job: _JobBase) -> None:
        with self._lock:
            self._jobs[job.lease_id] = job

    def end(self, job: _JobBase) -> None:
        with self._lock:
            job._lease.ended = True
            self._jobs.pop(job.lease_id, None)

    def revoke(self, lease_id: str, reason: str) -> None:
        with self._lock:
            job = self._jobs.pop(lease_id, None)
        if job is not None:
            job._lease.ended = True
            job._lease.revoked_reason = reason or "revoked"

    def _due(self) -> list[_JobBase]:
        with self._lock:
            return [job for job in self._jobs.values() if job._lease.due()]

    def _renewal_failed(self, job: _JobBase, error: Error) -> None:
        if isinstance(error, (FailedPrecondition, NotFound)):  # the lease is gone: stop renewing it
            log.warning("lease of job %s lost: %s", job.job_id, error)
            self.revoke(job.lease_id, str(error))
        else:  # transient: the next pass retries while time remains
            log.info("renewing the lease of job %s failed: %s", job.job_id, error)


class Leases(_LeaseBook):
    """Renews every open lease of one `jobs()` loop from one daemon thread."""

    def __init__(self, service: SegmentationServiceBase, closed: threading.Event) -> None:
        super().__init__()
        self._service, self._closed = service, closed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, job: _JobBase) -> None:
        self._add(job)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cellhub-lease-renewer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(0.25) and not self._closed.is_set():
            for job in self._due():
                try:
                    job._lease.expires_at_ms = self._service.renew_job_lease(
                        job_id=job.job_id, lease_id=job.lease_id).lease_expires_at_unix_ms
                except Error as error:
                    self._renewal_failed(job, error)


class AsyncJob(_JobBase):
    """`Job` for the asyncio client."""

    def __init__(self, assignment: segmentation_pb2.JobAssignment, service: AsyncSegmentationServiceBase,
                 leases: AsyncLeases) -> None:
        super().__init__(assignment)
        self._service, self._leases = service, leases

    async def complete(self, result: segmentation_pb2.SegmentationResult | None = None, *,
                       polygons: Iterable[Polygon] | None = None, processing_time_ms: int | None = None) -> None:
        result, processing_time_ms = self._result(result, polygons, processing_time_ms)
        try:
            await self._service.complete_job(job_id=self.job_id, lease_id=self.lease_id, result=result,
                                             processing_time_ms=processing_time_ms)
        finally:
            self._leases.end(self)

    async def fail(self, reason: str, *, retryable: bool = False) -> bool:
        try:
            reply = await self._service.fail_job(job_id=self.job_id, lease_id=self.lease_id,
                                                 reason=reason[:1000] or "failed", retryable=retryable)
        finally:
            self._leases.end(self)
        return reply.requeued


class AsyncLeases(_LeaseBook):
    """`Leases` as a task on the caller's event loop."""

    def __init__(self, service: AsyncSegmentationServiceBase) -> None:
        super().__init__()
        self._service = service
        self._task: asyncio.Task[None] | None = None

    def add(self, job: _JobBase) -> None:
        self._add(job)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            for job in self._due():
                try:
                    job._lease.expires_at_ms = (await self._service.renew_job_lease(
                        job_id=job.job_id, lease_id=job.lease_id)).lease_expires_at_unix_ms
                except Error as error:
                    self._renewal_failed(job, error)
