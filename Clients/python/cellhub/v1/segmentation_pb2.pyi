from cellhub.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    JOB_STATUS_QUEUED: _ClassVar[JobStatus]
    JOB_STATUS_PROCESSING: _ClassVar[JobStatus]
    JOB_STATUS_COMPLETED: _ClassVar[JobStatus]
    JOB_STATUS_FAILED: _ClassVar[JobStatus]
    JOB_STATUS_CANCELLED: _ClassVar[JobStatus]
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_QUEUED: JobStatus
JOB_STATUS_PROCESSING: JobStatus
JOB_STATUS_COMPLETED: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_CANCELLED: JobStatus

class SegmentationJob(_message.Message):
    __slots__ = ("id", "image_id", "project_id", "batch_id", "model", "priority", "status", "attempts", "max_attempts", "requested_by", "enqueued_at_unix_ms", "started_at_unix_ms", "finished_at_unix_ms", "worker_name", "failure_reason", "queue_position")
    ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    ENQUEUED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    WORKER_NAME_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    id: str
    image_id: str
    project_id: str
    batch_id: str
    model: str
    priority: int
    status: JobStatus
    attempts: int
    max_attempts: int
    requested_by: _common_pb2.UserRef
    enqueued_at_unix_ms: int
    started_at_unix_ms: int
    finished_at_unix_ms: int
    worker_name: str
    failure_reason: str
    queue_position: int
    def __init__(self, id: _Optional[str] = ..., image_id: _Optional[str] = ..., project_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., model: _Optional[str] = ..., priority: _Optional[int] = ..., status: _Optional[_Union[JobStatus, str]] = ..., attempts: _Optional[int] = ..., max_attempts: _Optional[int] = ..., requested_by: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ..., enqueued_at_unix_ms: _Optional[int] = ..., started_at_unix_ms: _Optional[int] = ..., finished_at_unix_ms: _Optional[int] = ..., worker_name: _Optional[str] = ..., failure_reason: _Optional[str] = ..., queue_position: _Optional[int] = ...) -> None: ...

class Point(_message.Message):
    __slots__ = ("x", "y")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ...) -> None: ...

class Polygon(_message.Message):
    __slots__ = ("points", "area_px")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    AREA_PX_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedCompositeFieldContainer[Point]
    area_px: float
    def __init__(self, points: _Optional[_Iterable[_Union[Point, _Mapping]]] = ..., area_px: _Optional[float] = ...) -> None: ...

class SegmentationResult(_message.Message):
    __slots__ = ("cell_count", "polygons", "total_area_px", "mean_area_px", "image_width_px", "image_height_px")
    CELL_COUNT_FIELD_NUMBER: _ClassVar[int]
    POLYGONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AREA_PX_FIELD_NUMBER: _ClassVar[int]
    MEAN_AREA_PX_FIELD_NUMBER: _ClassVar[int]
    IMAGE_WIDTH_PX_FIELD_NUMBER: _ClassVar[int]
    IMAGE_HEIGHT_PX_FIELD_NUMBER: _ClassVar[int]
    cell_count: int
    polygons: _containers.RepeatedCompositeFieldContainer[Polygon]
    total_area_px: float
    mean_area_px: float
    image_width_px: int
    image_height_px: int
    def __init__(self, cell_count: _Optional[int] = ..., polygons: _Optional[_Iterable[_Union[Polygon, _Mapping]]] = ..., total_area_px: _Optional[float] = ..., mean_area_px: _Optional[float] = ..., image_width_px: _Optional[int] = ..., image_height_px: _Optional[int] = ...) -> None: ...

class ImageIdList(_message.Message):
    __slots__ = ("image_ids",)
    IMAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    image_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, image_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class JobIdList(_message.Message):
    __slots__ = ("job_ids",)
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class UnsegmentedImages(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EnqueueSegmentationRequest(_message.Message):
    __slots__ = ("project_id", "images", "unsegmented", "model", "priority", "force")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    UNSEGMENTED_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    images: ImageIdList
    unsegmented: UnsegmentedImages
    model: str
    priority: int
    force: bool
    def __init__(self, project_id: _Optional[str] = ..., images: _Optional[_Union[ImageIdList, _Mapping]] = ..., unsegmented: _Optional[_Union[UnsegmentedImages, _Mapping]] = ..., model: _Optional[str] = ..., priority: _Optional[int] = ..., force: bool = ...) -> None: ...

class EnqueuedJob(_message.Message):
    __slots__ = ("job_id", "image_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    image_id: str
    def __init__(self, job_id: _Optional[str] = ..., image_id: _Optional[str] = ...) -> None: ...

class EnqueueSegmentationResponse(_message.Message):
    __slots__ = ("batch_id", "jobs", "enqueued_count", "skipped_count", "model", "first_queue_position")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    ENQUEUED_COUNT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_COUNT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    FIRST_QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    jobs: _containers.RepeatedCompositeFieldContainer[EnqueuedJob]
    enqueued_count: int
    skipped_count: int
    model: str
    first_queue_position: int
    def __init__(self, batch_id: _Optional[str] = ..., jobs: _Optional[_Iterable[_Union[EnqueuedJob, _Mapping]]] = ..., enqueued_count: _Optional[int] = ..., skipped_count: _Optional[int] = ..., model: _Optional[str] = ..., first_queue_position: _Optional[int] = ...) -> None: ...

class CancelSegmentationRequest(_message.Message):
    __slots__ = ("jobs", "project_id", "batch_id")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    jobs: JobIdList
    project_id: str
    batch_id: str
    def __init__(self, jobs: _Optional[_Union[JobIdList, _Mapping]] = ..., project_id: _Optional[str] = ..., batch_id: _Optional[str] = ...) -> None: ...

class CancelSegmentationResponse(_message.Message):
    __slots__ = ("cancelled_count", "cancelled_processing_count", "images")
    CANCELLED_COUNT_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_PROCESSING_COUNT_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    cancelled_count: int
    cancelled_processing_count: int
    images: _common_pb2.AffectedImages
    def __init__(self, cancelled_count: _Optional[int] = ..., cancelled_processing_count: _Optional[int] = ..., images: _Optional[_Union[_common_pb2.AffectedImages, _Mapping]] = ...) -> None: ...

class GetSegmentationRequest(_message.Message):
    __slots__ = ("image_id",)
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    def __init__(self, image_id: _Optional[str] = ...) -> None: ...

class GetSegmentationResponse(_message.Message):
    __slots__ = ("image_id", "job_id", "model", "result", "completed_at_unix_ms", "processing_time_ms")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    job_id: str
    model: str
    result: SegmentationResult
    completed_at_unix_ms: int
    processing_time_ms: int
    def __init__(self, image_id: _Optional[str] = ..., job_id: _Optional[str] = ..., model: _Optional[str] = ..., result: _Optional[_Union[SegmentationResult, _Mapping]] = ..., completed_at_unix_ms: _Optional[int] = ..., processing_time_ms: _Optional[int] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: SegmentationJob
    def __init__(self, job: _Optional[_Union[SegmentationJob, _Mapping]] = ...) -> None: ...

class GetQueueStatsRequest(_message.Message):
    __slots__ = ("project_id",)
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    def __init__(self, project_id: _Optional[str] = ...) -> None: ...

class GetQueueStatsResponse(_message.Message):
    __slots__ = ("queued_count", "processing_count", "scope_queued_count", "scope_processing_count", "position", "estimated_wait_ms", "estimate_available", "connected_workers", "throughput_per_minute")
    QUEUED_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_QUEUED_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_PROCESSING_COUNT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_WORKERS_FIELD_NUMBER: _ClassVar[int]
    THROUGHPUT_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    queued_count: int
    processing_count: int
    scope_queued_count: int
    scope_processing_count: int
    position: int
    estimated_wait_ms: int
    estimate_available: bool
    connected_workers: int
    throughput_per_minute: float
    def __init__(self, queued_count: _Optional[int] = ..., processing_count: _Optional[int] = ..., scope_queued_count: _Optional[int] = ..., scope_processing_count: _Optional[int] = ..., position: _Optional[int] = ..., estimated_wait_ms: _Optional[int] = ..., estimate_available: bool = ..., connected_workers: _Optional[int] = ..., throughput_per_minute: _Optional[float] = ...) -> None: ...

class ClaimJobsRequest(_message.Message):
    __slots__ = ("worker_name", "max_concurrent_jobs", "models")
    WORKER_NAME_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_JOBS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    worker_name: str
    max_concurrent_jobs: int
    models: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, worker_name: _Optional[str] = ..., max_concurrent_jobs: _Optional[int] = ..., models: _Optional[_Iterable[str]] = ...) -> None: ...

class ClaimJobsResponse(_message.Message):
    __slots__ = ("assignment", "lease_revoked", "heartbeat")
    ASSIGNMENT_FIELD_NUMBER: _ClassVar[int]
    LEASE_REVOKED_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    assignment: JobAssignment
    lease_revoked: LeaseRevoked
    heartbeat: WorkerHeartbeat
    def __init__(self, assignment: _Optional[_Union[JobAssignment, _Mapping]] = ..., lease_revoked: _Optional[_Union[LeaseRevoked, _Mapping]] = ..., heartbeat: _Optional[_Union[WorkerHeartbeat, _Mapping]] = ...) -> None: ...

class JobAssignment(_message.Message):
    __slots__ = ("job_id", "lease_id", "lease_expires_at_unix_ms", "image_id", "project_id", "model", "attempt", "max_attempts", "priority", "image_content", "content_type", "sha256_hex", "image_name")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRES_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    IMAGE_CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHA256_HEX_FIELD_NUMBER: _ClassVar[int]
    IMAGE_NAME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    lease_id: str
    lease_expires_at_unix_ms: int
    image_id: str
    project_id: str
    model: str
    attempt: int
    max_attempts: int
    priority: int
    image_content: bytes
    content_type: str
    sha256_hex: str
    image_name: str
    def __init__(self, job_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., lease_expires_at_unix_ms: _Optional[int] = ..., image_id: _Optional[str] = ..., project_id: _Optional[str] = ..., model: _Optional[str] = ..., attempt: _Optional[int] = ..., max_attempts: _Optional[int] = ..., priority: _Optional[int] = ..., image_content: _Optional[bytes] = ..., content_type: _Optional[str] = ..., sha256_hex: _Optional[str] = ..., image_name: _Optional[str] = ...) -> None: ...

class LeaseRevoked(_message.Message):
    __slots__ = ("job_id", "lease_id", "reason")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    lease_id: str
    reason: str
    def __init__(self, job_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class WorkerHeartbeat(_message.Message):
    __slots__ = ("server_time_unix_ms",)
    SERVER_TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    server_time_unix_ms: int
    def __init__(self, server_time_unix_ms: _Optional[int] = ...) -> None: ...

class RenewJobLeaseRequest(_message.Message):
    __slots__ = ("job_id", "lease_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    lease_id: str
    def __init__(self, job_id: _Optional[str] = ..., lease_id: _Optional[str] = ...) -> None: ...

class RenewJobLeaseResponse(_message.Message):
    __slots__ = ("lease_expires_at_unix_ms",)
    LEASE_EXPIRES_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    lease_expires_at_unix_ms: int
    def __init__(self, lease_expires_at_unix_ms: _Optional[int] = ...) -> None: ...

class CompleteJobRequest(_message.Message):
    __slots__ = ("job_id", "lease_id", "result", "processing_time_ms")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    lease_id: str
    result: SegmentationResult
    processing_time_ms: int
    def __init__(self, job_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., result: _Optional[_Union[SegmentationResult, _Mapping]] = ..., processing_time_ms: _Optional[int] = ...) -> None: ...

class CompleteJobResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FailJobRequest(_message.Message):
    __slots__ = ("job_id", "lease_id", "reason", "retryable")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    lease_id: str
    reason: str
    retryable: bool
    def __init__(self, job_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., reason: _Optional[str] = ..., retryable: bool = ...) -> None: ...

class FailJobResponse(_message.Message):
    __slots__ = ("requeued",)
    REQUEUED_FIELD_NUMBER: _ClassVar[int]
    requeued: bool
    def __init__(self, requeued: bool = ...) -> None: ...
