from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ProjectStats(_message.Message):
    __slots__ = ("project_id", "image_count", "no_segmentation_count", "queued_count", "processing_count", "segmented_count", "failed_count", "total_bytes", "progress", "last_image_added_at_unix_ms", "last_segmentation_completed_at_unix_ms", "updated_at_unix_ms", "revision")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    NO_SEGMENTATION_COUNT_FIELD_NUMBER: _ClassVar[int]
    QUEUED_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_COUNT_FIELD_NUMBER: _ClassVar[int]
    SEGMENTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    LAST_IMAGE_ADDED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEGMENTATION_COMPLETED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    image_count: int
    no_segmentation_count: int
    queued_count: int
    processing_count: int
    segmented_count: int
    failed_count: int
    total_bytes: int
    progress: float
    last_image_added_at_unix_ms: int
    last_segmentation_completed_at_unix_ms: int
    updated_at_unix_ms: int
    revision: int
    def __init__(self, project_id: _Optional[str] = ..., image_count: _Optional[int] = ..., no_segmentation_count: _Optional[int] = ..., queued_count: _Optional[int] = ..., processing_count: _Optional[int] = ..., segmented_count: _Optional[int] = ..., failed_count: _Optional[int] = ..., total_bytes: _Optional[int] = ..., progress: _Optional[float] = ..., last_image_added_at_unix_ms: _Optional[int] = ..., last_segmentation_completed_at_unix_ms: _Optional[int] = ..., updated_at_unix_ms: _Optional[int] = ..., revision: _Optional[int] = ...) -> None: ...

class DashboardMetrics(_message.Message):
    __slots__ = ("projects_owned", "projects_shared_with_me", "total_projects", "total_images", "segmented_images", "queued_images", "processing_images", "failed_images", "storage_bytes", "average_image_bytes", "efficiency_percent", "images_uploaded_today", "segmentations_completed_today", "projects_created_this_week", "queue_length", "queue_position", "average_processing_time_ms", "throughput_per_minute", "revision", "time_zone")
    PROJECTS_OWNED_FIELD_NUMBER: _ClassVar[int]
    PROJECTS_SHARED_WITH_ME_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PROJECTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_IMAGES_FIELD_NUMBER: _ClassVar[int]
    SEGMENTED_IMAGES_FIELD_NUMBER: _ClassVar[int]
    QUEUED_IMAGES_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_IMAGES_FIELD_NUMBER: _ClassVar[int]
    FAILED_IMAGES_FIELD_NUMBER: _ClassVar[int]
    STORAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_IMAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    EFFICIENCY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    IMAGES_UPLOADED_TODAY_FIELD_NUMBER: _ClassVar[int]
    SEGMENTATIONS_COMPLETED_TODAY_FIELD_NUMBER: _ClassVar[int]
    PROJECTS_CREATED_THIS_WEEK_FIELD_NUMBER: _ClassVar[int]
    QUEUE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_PROCESSING_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    THROUGHPUT_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    projects_owned: int
    projects_shared_with_me: int
    total_projects: int
    total_images: int
    segmented_images: int
    queued_images: int
    processing_images: int
    failed_images: int
    storage_bytes: int
    average_image_bytes: float
    efficiency_percent: float
    images_uploaded_today: int
    segmentations_completed_today: int
    projects_created_this_week: int
    queue_length: int
    queue_position: int
    average_processing_time_ms: float
    throughput_per_minute: float
    revision: int
    time_zone: str
    def __init__(self, projects_owned: _Optional[int] = ..., projects_shared_with_me: _Optional[int] = ..., total_projects: _Optional[int] = ..., total_images: _Optional[int] = ..., segmented_images: _Optional[int] = ..., queued_images: _Optional[int] = ..., processing_images: _Optional[int] = ..., failed_images: _Optional[int] = ..., storage_bytes: _Optional[int] = ..., average_image_bytes: _Optional[float] = ..., efficiency_percent: _Optional[float] = ..., images_uploaded_today: _Optional[int] = ..., segmentations_completed_today: _Optional[int] = ..., projects_created_this_week: _Optional[int] = ..., queue_length: _Optional[int] = ..., queue_position: _Optional[int] = ..., average_processing_time_ms: _Optional[float] = ..., throughput_per_minute: _Optional[float] = ..., revision: _Optional[int] = ..., time_zone: _Optional[str] = ...) -> None: ...
