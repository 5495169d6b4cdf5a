from cellhub.v1 import common_pb2 as _common_pb2
from cellhub.v1 import projects_pb2 as _projects_pb2
from cellhub.v1 import stats_pb2 as _stats_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_SNAPSHOT: _ClassVar[EventKind]
    EVENT_KIND_CAUGHT_UP: _ClassVar[EventKind]
    EVENT_KIND_PROGRESS: _ClassVar[EventKind]
    EVENT_KIND_PROJECT_STATS_UPDATE: _ClassVar[EventKind]
    EVENT_KIND_PROJECT_IMAGE_COUNT_CHANGE: _ClassVar[EventKind]
    EVENT_KIND_IMAGE_DELETED: _ClassVar[EventKind]
    EVENT_KIND_BATCH_IMAGES_DELETED: _ClassVar[EventKind]
    EVENT_KIND_SEGMENTATION_COMPLETED: _ClassVar[EventKind]
    EVENT_KIND_SEGMENTATION_FAILED: _ClassVar[EventKind]
    EVENT_KIND_PROJECT_UPDATED: _ClassVar[EventKind]
    EVENT_KIND_SHARES_CHANGED: _ClassVar[EventKind]
    EVENT_KIND_PRESENCE: _ClassVar[EventKind]
    EVENT_KIND_ACCESS_REVOKED: _ClassVar[EventKind]
    EVENT_KIND_PROJECT_DELETED: _ClassVar[EventKind]
    EVENT_KIND_DASHBOARD_METRICS_UPDATE: _ClassVar[EventKind]
    EVENT_KIND_USER_ACTIVITY_UPDATE: _ClassVar[EventKind]
    EVENT_KIND_SHARED_PROJECT_UPDATE: _ClassVar[EventKind]
    EVENT_KIND_PROJECT_SHARED_WITH_YOU: _ClassVar[EventKind]
    EVENT_KIND_SHARE_REVOKED: _ClassVar[EventKind]

class StatsOperation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATS_OPERATION_UNSPECIFIED: _ClassVar[StatsOperation]
    STATS_OPERATION_IMAGES_UPLOADED: _ClassVar[StatsOperation]
    STATS_OPERATION_IMAGES_DELETED: _ClassVar[StatsOperation]
    STATS_OPERATION_SEGMENTATION_QUEUED: _ClassVar[StatsOperation]
    STATS_OPERATION_SEGMENTATION_STARTED: _ClassVar[StatsOperation]
    STATS_OPERATION_SEGMENTATION_COMPLETED: _ClassVar[StatsOperation]
    STATS_OPERATION_SEGMENTATION_FAILED: _ClassVar[StatsOperation]
    STATS_OPERATION_SEGMENTATION_REQUEUED: _ClassVar[StatsOperation]
    STATS_OPERATION_SEGMENTATION_CANCELLED: _ClassVar[StatsOperation]

class ImageCountChangeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMAGE_COUNT_CHANGE_TYPE_UNSPECIFIED: _ClassVar[ImageCountChangeType]
    IMAGE_COUNT_CHANGE_TYPE_ADDED: _ClassVar[ImageCountChangeType]
    IMAGE_COUNT_CHANGE_TYPE_REMOVED: _ClassVar[ImageCountChangeType]

class ShareChangeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SHARE_CHANGE_TYPE_UNSPECIFIED: _ClassVar[ShareChangeType]
    SHARE_CHANGE_TYPE_ADDED: _ClassVar[ShareChangeType]
    SHARE_CHANGE_TYPE_ROLE_CHANGED: _ClassVar[ShareChangeType]
    SHARE_CHANGE_TYPE_REVOKED: _ClassVar[ShareChangeType]
    SHARE_CHANGE_TYPE_LEFT: _ClassVar[ShareChangeType]

class PresenceChange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRESENCE_CHANGE_UNSPECIFIED: _ClassVar[PresenceChange]
    PRESENCE_CHANGE_JOINED: _ClassVar[PresenceChange]
    PRESENCE_CHANGE_LEFT: _ClassVar[PresenceChange]

class ActivityType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTIVITY_TYPE_UNSPECIFIED: _ClassVar[ActivityType]
    ACTIVITY_TYPE_PROJECT_CREATED: _ClassVar[ActivityType]
    ACTIVITY_TYPE_IMAGES_UPLOADED: _ClassVar[ActivityType]
    ACTIVITY_TYPE_IMAGES_DELETED: _ClassVar[ActivityType]
    ACTIVITY_TYPE_SEGMENTATION_COMPLETED: _ClassVar[ActivityType]
    ACTIVITY_TYPE_PROJECT_SHARED: _ClassVar[ActivityType]
    ACTIVITY_TYPE_PROJECT_UPDATED: _ClassVar[ActivityType]
    ACTIVITY_TYPE_PROJECT_DELETED: _ClassVar[ActivityType]

class JobOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_OUTCOME_UNSPECIFIED: _ClassVar[JobOutcome]
    JOB_OUTCOME_STARTED: _ClassVar[JobOutcome]
    JOB_OUTCOME_COMPLETED: _ClassVar[JobOutcome]
    JOB_OUTCOME_FAILED: _ClassVar[JobOutcome]
    JOB_OUTCOME_REQUEUED: _ClassVar[JobOutcome]
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_SNAPSHOT: EventKind
EVENT_KIND_CAUGHT_UP: EventKind
EVENT_KIND_PROGRESS: EventKind
EVENT_KIND_PROJECT_STATS_UPDATE: EventKind
EVENT_KIND_PROJECT_IMAGE_COUNT_CHANGE: EventKind
EVENT_KIND_IMAGE_DELETED: EventKind
EVENT_KIND_BATCH_IMAGES_DELETED: EventKind
EVENT_KIND_SEGMENTATION_COMPLETED: EventKind
EVENT_KIND_SEGMENTATION_FAILED: EventKind
EVENT_KIND_PROJECT_UPDATED: EventKind
EVENT_KIND_SHARES_CHANGED: EventKind
EVENT_KIND_PRESENCE: EventKind
EVENT_KIND_ACCESS_REVOKED: EventKind
EVENT_KIND_PROJECT_DELETED: EventKind
EVENT_KIND_DASHBOARD_METRICS_UPDATE: EventKind
EVENT_KIND_USER_ACTIVITY_UPDATE: EventKind
EVENT_KIND_SHARED_PROJECT_UPDATE: EventKind
EVENT_KIND_PROJECT_SHARED_WITH_YOU: EventKind
EVENT_KIND_SHARE_REVOKED: EventKind
STATS_OPERATION_UNSPECIFIED: StatsOperation
STATS_OPERATION_IMAGES_UPLOADED: StatsOperation
STATS_OPERATION_IMAGES_DELETED: StatsOperation
STATS_OPERATION_SEGMENTATION_QUEUED: StatsOperation
STATS_OPERATION_SEGMENTATION_STARTED: StatsOperation
STATS_OPERATION_SEGMENTATION_COMPLETED: StatsOperation
STATS_OPERATION_SEGMENTATION_FAILED: StatsOperation
STATS_OPERATION_SEGMENTATION_REQUEUED: StatsOperation
STATS_OPERATION_SEGMENTATION_CANCELLED: StatsOperation
IMAGE_COUNT_CHANGE_TYPE_UNSPECIFIED: ImageCountChangeType
IMAGE_COUNT_CHANGE_TYPE_ADDED: ImageCountChangeType
IMAGE_COUNT_CHANGE_TYPE_REMOVED: ImageCountChangeType
SHARE_CHANGE_TYPE_UNSPECIFIED: ShareChangeType
SHARE_CHANGE_TYPE_ADDED: ShareChangeType
SHARE_CHANGE_TYPE_ROLE_CHANGED: ShareChangeType
SHARE_CHANGE_TYPE_REVOKED: ShareChangeType
SHARE_CHANGE_TYPE_LEFT: ShareChangeType
PRESENCE_CHANGE_UNSPECIFIED: PresenceChange
PRESENCE_CHANGE_JOINED: PresenceChange
PRESENCE_CHANGE_LEFT: PresenceChange
ACTIVITY_TYPE_UNSPECIFIED: ActivityType
ACTIVITY_TYPE_PROJECT_CREATED: ActivityType
ACTIVITY_TYPE_IMAGES_UPLOADED: ActivityType
ACTIVITY_TYPE_IMAGES_DELETED: ActivityType
ACTIVITY_TYPE_SEGMENTATION_COMPLETED: ActivityType
ACTIVITY_TYPE_PROJECT_SHARED: ActivityType
ACTIVITY_TYPE_PROJECT_UPDATED: ActivityType
ACTIVITY_TYPE_PROJECT_DELETED: ActivityType
JOB_OUTCOME_UNSPECIFIED: JobOutcome
JOB_OUTCOME_STARTED: JobOutcome
JOB_OUTCOME_COMPLETED: JobOutcome
JOB_OUTCOME_FAILED: JobOutcome
JOB_OUTCOME_REQUEUED: JobOutcome

class CaughtUp(_message.Message):
    __slots__ = ("replayed_count", "position_lost")
    REPLAYED_COUNT_FIELD_NUMBER: _ClassVar[int]
    POSITION_LOST_FIELD_NUMBER: _ClassVar[int]
    replayed_count: int
    position_lost: bool
    def __init__(self, replayed_count: _Optional[int] = ..., position_lost: bool = ...) -> None: ...

class StreamProgress(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProjectEvent(_message.Message):
    __slots__ = ("epoch", "revision", "timestamp_unix_ms", "project_id", "actor_user_id", "actor_user_name", "kind", "sequence", "snapshot", "caught_up", "stats_update", "image_count_change", "image_deleted", "batch_images_deleted", "segmentation_completed", "segmentation_failed", "project_updated", "shares_changed", "presence", "access_revoked", "project_deleted", "progress")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_USER_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    STATS_UPDATE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_COUNT_CHANGE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_DELETED_FIELD_NUMBER: _ClassVar[int]
    BATCH_IMAGES_DELETED_FIELD_NUMBER: _ClassVar[int]
    SEGMENTATION_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    SEGMENTATION_FAILED_FIELD_NUMBER: _ClassVar[int]
    PROJECT_UPDATED_FIELD_NUMBER: _ClassVar[int]
    SHARES_CHANGED_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_REVOKED_FIELD_NUMBER: _ClassVar[int]
    PROJECT_DELETED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    epoch: str
    revision: int
    timestamp_unix_ms: int
    project_id: str
    actor_user_id: str
    actor_user_name: str
    kind: EventKind
    sequence: int
    snapshot: ProjectSnapshot
    caught_up: CaughtUp
    stats_update: ProjectStatsUpdate
    image_count_change: ProjectImageCountChange
    image_deleted: ImageDeleted
    batch_images_deleted: BatchImagesDeleted
    segmentation_completed: SegmentationCompleted
    segmentation_failed: SegmentationFailed
    project_updated: ProjectUpdated
    shares_changed: SharesChanged
    presence: Presence
    access_revoked: AccessRevoked
    project_deleted: ProjectDeleted
    progress: StreamProgress
    def __init__(self, epoch: _Optional[str] = ..., revision: _Optional[int] = ..., timestamp_unix_ms: _Optional[int] = ..., project_id: _Optional[str] = ..., actor_user_id: _Optional[str] = ..., actor_user_name: _Optional[str] = ..., kind: _Optional[_Union[EventKind, str]] = ..., sequence: _Optional[int] = ..., snapshot: _Optional[_Union[ProjectSnapshot, _Mapping]] = ..., caught_up: _Optional[_Union[CaughtUp, _Mapping]] = ..., stats_update: _Optional[_Union[ProjectStatsUpdate, _Mapping]] = ..., image_count_change: _Optional[_Union[ProjectImageCountChange, _Mapping]] = ..., image_deleted: _Optional[_Union[ImageDeleted, _Mapping]] = ..., batch_images_deleted: _Optional[_Union[BatchImagesDeleted, _Mapping]] = ..., segmentation_completed: _Optional[_Union[SegmentationCompleted, _Mapping]] = ..., segmentation_failed: _Optional[_Union[SegmentationFailed, _Mapping]] = ..., project_updated: _Optional[_Union[ProjectUpdated, _Mapping]] = ..., shares_changed: _Optional[_Union[SharesChanged, _Mapping]] = ..., presence: _Optional[_Union[Presence, _Mapping]] = ..., access_revoked: _Optional[_Union[AccessRevoked, _Mapping]] = ..., project_deleted: _Optional[_Union[ProjectDeleted, _Mapping]] = ..., progress: _Optional[_Union[StreamProgress, _Mapping]] = ...) -> None: ...

class ProjectSnapshot(_message.Message):
    __slots__ = ("project", "members", "watchers", "resync")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    WATCHERS_FIELD_NUMBER: _ClassVar[int]
    RESYNC_FIELD_NUMBER: _ClassVar[int]
    project: _projects_pb2.Project
    members: _containers.RepeatedCompositeFieldContainer[_projects_pb2.ProjectMember]
    watchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.UserRef]
    resync: bool
    def __init__(self, project: _Optional[_Union[_projects_pb2.Project, _Mapping]] = ..., members: _Optional[_Iterable[_Union[_projects_pb2.ProjectMember, _Mapping]]] = ..., watchers: _Optional[_Iterable[_Union[_common_pb2.UserRef, _Mapping]]] = ..., resync: bool = ...) -> None: ...

class OperationSummary(_message.Message):
    __slots__ = ("operation", "operation_count", "image_count")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    OPERATION_COUNT_FIELD_NUMBER: _ClassVar[int]
    IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    operation: StatsOperation
    operation_count: int
    image_count: int
    def __init__(self, operation: _Optional[_Union[StatsOperation, str]] = ..., operation_count: _Optional[int] = ..., image_count: _Optional[int] = ...) -> None: ...

class ProjectStatsUpdate(_message.Message):
    __slots__ = ("stats", "operations", "affected_images", "first_revision", "change_count")
    STATS_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    AFFECTED_IMAGES_FIELD_NUMBER: _ClassVar[int]
    FIRST_REVISION_FIELD_NUMBER: _ClassVar[int]
    CHANGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    stats: _stats_pb2.ProjectStats
    operations: _containers.RepeatedCompositeFieldContainer[OperationSummary]
    affected_images: _common_pb2.AffectedImages
    first_revision: int
    change_count: int
    def __init__(self, stats: _Optional[_Union[_stats_pb2.ProjectStats, _Mapping]] = ..., operations: _Optional[_Iterable[_Union[OperationSummary, _Mapping]]] = ..., affected_images: _Optional[_Union[_common_pb2.AffectedImages, _Mapping]] = ..., first_revision: _Optional[int] = ..., change_count: _Optional[int] = ...) -> None: ...

class ProjectImageCountChange(_message.Message):
    __slots__ = ("previous_image_count", "new_image_count", "change_type")
    PREVIOUS_IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    NEW_IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    previous_image_count: int
    new_image_count: int
    change_type: ImageCountChangeType
    def __init__(self, previous_image_count: _Optional[int] = ..., new_image_count: _Optional[int] = ..., change_type: _Optional[_Union[ImageCountChangeType, str]] = ...) -> None: ...

class ImageDeleted(_message.Message):
    __slots__ = ("image_id", "image_name", "size_bytes", "previous_status")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    image_name: str
    size_bytes: int
    previous_status: _common_pb2.SegmentationStatus
    def __init__(self, image_id: _Optional[str] = ..., image_name: _Optional[str] = ..., size_bytes: _Optional[int] = ..., previous_status: _Optional[_Union[_common_pb2.SegmentationStatus, str]] = ...) -> None: ...

class BatchImagesDeleted(_message.Message):
    __slots__ = ("images", "freed_bytes")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    FREED_BYTES_FIELD_NUMBER: _ClassVar[int]
    images: _common_pb2.AffectedImages
    freed_bytes: int
    def __init__(self, images: _Optional[_Union[_common_pb2.AffectedImages, _Mapping]] = ..., freed_bytes: _Optional[int] = ...) -> None: ...

class SegmentationCompleted(_message.Message):
    __slots__ = ("images", "completed_count", "total_cell_count", "average_processing_time_ms")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CELL_COUNT_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_PROCESSING_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    images: _common_pb2.AffectedImages
    completed_count: int
    total_cell_count: int
    average_processing_time_ms: float
    def __init__(self, images: _Optional[_Union[_common_pb2.AffectedImages, _Mapping]] = ..., completed_count: _Optional[int] = ..., total_cell_count: _Optional[int] = ..., average_processing_time_ms: _Optional[float] = ...) -> None: ...

class SegmentationFailed(_message.Message):
    __slots__ = ("images", "failed_count", "last_reason")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_REASON_FIELD_NUMBER: _ClassVar[int]
    images: _common_pb2.AffectedImages
    failed_count: int
    last_reason: str
    def __init__(self, images: _Optional[_Union[_common_pb2.AffectedImages, _Mapping]] = ..., failed_count: _Optional[int] = ..., last_reason: _Optional[str] = ...) -> None: ...

class ProjectUpdated(_message.Message):
    __slots__ = ("name", "project_description", "changed_fields", "updated_at_unix_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    project_description: str
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    updated_at_unix_ms: int
    def __init__(self, name: _Optional[str] = ..., project_description: _Optional[str] = ..., changed_fields: _Optional[_Iterable[str]] = ..., updated_at_unix_ms: _Optional[int] = ...) -> None: ...

class SharesChanged(_message.Message):
    __slots__ = ("change_type", "user", "role", "previous_role", "members")
    CHANGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ROLE_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    change_type: ShareChangeType
    user: _common_pb2.UserRef
    role: _common_pb2.Role
    previous_role: _common_pb2.Role
    members: _containers.RepeatedCompositeFieldContainer[_projects_pb2.ProjectMember]
    def __init__(self, change_type: _Optional[_Union[ShareChangeType, str]] = ..., user: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ..., role: _Optional[_Union[_common_pb2.Role, str]] = ..., previous_role: _Optional[_Union[_common_pb2.Role, str]] = ..., members: _Optional[_Iterable[_Union[_projects_pb2.ProjectMember, _Mapping]]] = ...) -> None: ...

class Presence(_message.Message):
    __slots__ = ("change", "user", "watchers")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WATCHERS_FIELD_NUMBER: _ClassVar[int]
    change: PresenceChange
    user: _common_pb2.UserRef
    watchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.UserRef]
    def __init__(self, change: _Optional[_Union[PresenceChange, str]] = ..., user: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ..., watchers: _Optional[_Iterable[_Union[_common_pb2.UserRef, _Mapping]]] = ...) -> None: ...

class AccessRevoked(_message.Message):
    __slots__ = ("revoked_by", "left")
    REVOKED_BY_FIELD_NUMBER: _ClassVar[int]
    LEFT_FIELD_NUMBER: _ClassVar[int]
    revoked_by: _common_pb2.UserRef
    left: bool
    def __init__(self, revoked_by: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ..., left: bool = ...) -> None: ...

class ProjectDeleted(_message.Message):
    __slots__ = ("project_name",)
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    project_name: str
    def __init__(self, project_name: _Optional[str] = ...) -> None: ...

class DashboardEvent(_message.Message):
    __slots__ = ("epoch", "revision", "timestamp_unix_ms", "project_id", "actor_user_id", "actor_user_name", "kind", "snapshot", "metrics_update", "progress")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_USER_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    METRICS_UPDATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    epoch: str
    revision: int
    timestamp_unix_ms: int
    project_id: str
    actor_user_id: str
    actor_user_name: str
    kind: EventKind
    snapshot: DashboardSnapshot
    metrics_update: DashboardMetricsUpdate
    progress: StreamProgress
    def __init__(self, epoch: _Optional[str] = ..., revision: _Optional[int] = ..., timestamp_unix_ms: _Optional[int] = ..., project_id: _Optional[str] = ..., actor_user_id: _Optional[str] = ..., actor_user_name: _Optional[str] = ..., kind: _Optional[_Union[EventKind, str]] = ..., snapshot: _Optional[_Union[DashboardSnapshot, _Mapping]] = ..., metrics_update: _Optional[_Union[DashboardMetricsUpdate, _Mapping]] = ..., progress: _Optional[_Union[StreamProgress, _Mapping]] = ...) -> None: ...

class DashboardSnapshot(_message.Message):
    __slots__ = ("metrics", "resync")
    METRICS_FIELD_NUMBER: _ClassVar[int]
    RESYNC_FIELD_NUMBER: _ClassVar[int]
    metrics: _stats_pb2.DashboardMetrics
    resync: bool
    def __init__(self, metrics: _Optional[_Union[_stats_pb2.DashboardMetrics, _Mapping]] = ..., resync: bool = ...) -> None: ...

class DashboardMetricsUpdate(_message.Message):
    __slots__ = ("metrics", "changed_fields")
    METRICS_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    metrics: _stats_pb2.DashboardMetrics
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, metrics: _Optional[_Union[_stats_pb2.DashboardMetrics, _Mapping]] = ..., changed_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class ActivityEvent(_message.Message):
    __slots__ = ("epoch", "revision", "timestamp_unix_ms", "project_id", "actor_user_id", "actor_user_name", "kind", "sequence", "user_activity", "shared_project_update", "project_shared_with_you", "share_revoked", "caught_up", "progress")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_USER_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    USER_ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    SHARED_PROJECT_UPDATE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_SHARED_WITH_YOU_FIELD_NUMBER: _ClassVar[int]
    SHARE_REVOKED_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    epoch: str
    revision: int
    timestamp_unix_ms: int
    project_id: str
    actor_user_id: str
    actor_user_name: str
    kind: EventKind
    sequence: int
    user_activity: UserActivityUpdate
    shared_project_update: SharedProjectUpdate
    project_shared_with_you: ProjectSharedWithYou
    share_revoked: ShareRevoked
    caught_up: CaughtUp
    progress: StreamProgress
    def __init__(self, epoch: _Optional[str] = ..., revision: _Optional[int] = ..., timestamp_unix_ms: _Optional[int] = ..., project_id: _Optional[str] = ..., actor_user_id: _Optional[str] = ..., actor_user_name: _Optional[str] = ..., kind: _Optional[_Union[EventKind, str]] = ..., sequence: _Optional[int] = ..., user_activity: _Optional[_Union[UserActivityUpdate, _Mapping]] = ..., shared_project_update: _Optional[_Union[SharedProjectUpdate, _Mapping]] = ..., project_shared_with_you: _Optional[_Union[ProjectSharedWithYou, _Mapping]] = ..., share_revoked: _Optional[_Union[ShareRevoked, _Mapping]] = ..., caught_up: _Optional[_Union[CaughtUp, _Mapping]] = ..., progress: _Optional[_Union[StreamProgress, _Mapping]] = ...) -> None: ...

class UserActivityUpdate(_message.Message):
    __slots__ = ("activity_type", "project_name", "image_count", "sample_image_names", "failed_count", "duration_ms", "shared_with", "shared_role")
    ACTIVITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_IMAGE_NAMES_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    SHARED_WITH_FIELD_NUMBER: _ClassVar[int]
    SHARED_ROLE_FIELD_NUMBER: _ClassVar[int]
    activity_type: ActivityType
    project_name: str
    image_count: int
    sample_image_names: _containers.RepeatedScalarFieldContainer[str]
    failed_count: int
    duration_ms: int
    shared_with: _common_pb2.UserRef
    shared_role: _common_pb2.Role
    def __init__(self, activity_type: _Optional[_Union[ActivityType, str]] = ..., project_name: _Optional[str] = ..., image_count: _Optional[int] = ..., sample_image_names: _Optional[_Iterable[str]] = ..., failed_count: _Optional[int] = ..., duration_ms: _Optional[int] = ..., shared_with: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ..., shared_role: _Optional[_Union[_common_pb2.Role, str]] = ...) -> None: ...

class SharedProjectUpdate(_message.Message):
    __slots__ = ("owner", "project_name", "update_type", "stats", "image_count", "sample_image_names")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_IMAGE_NAMES_FIELD_NUMBER: _ClassVar[int]
    owner: _common_pb2.UserRef
    project_name: str
    update_type: ActivityType
    stats: _stats_pb2.ProjectStats
    image_count: int
    sample_image_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, owner: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ..., project_name: _Optional[str] = ..., update_type: _Optional[_Union[ActivityType, str]] = ..., stats: _Optional[_Union[_stats_pb2.ProjectStats, _Mapping]] = ..., image_count: _Optional[int] = ..., sample_image_names: _Optional[_Iterable[str]] = ...) -> None: ...

class ProjectSharedWithYou(_message.Message):
    __slots__ = ("project_name", "owner", "role", "previous_role", "stats")
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ROLE_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    project_name: str
    owner: _common_pb2.UserRef
    role: _common_pb2.Role
    previous_role: _common_pb2.Role
    stats: _stats_pb2.ProjectStats
    def __init__(self, project_name: _Optional[str] = ..., owner: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ..., role: _Optional[_Union[_common_pb2.Role, str]] = ..., previous_role: _Optional[_Union[_common_pb2.Role, str]] = ..., stats: _Optional[_Union[_stats_pb2.ProjectStats, _Mapping]] = ...) -> None: ...

class ShareRevoked(_message.Message):
    __slots__ = ("project_name", "owner", "previous_role", "left")
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ROLE_FIELD_NUMBER: _ClassVar[int]
    LEFT_FIELD_NUMBER: _ClassVar[int]
    project_name: str
    owner: _common_pb2.UserRef
    previous_role: _common_pb2.Role
    left: bool
    def __init__(self, project_name: _Optional[str] = ..., owner: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ..., previous_role: _Optional[_Union[_common_pb2.Role, str]] = ..., left: bool = ...) -> None: ...

class ChangeRecord(_message.Message):
    __slots__ = ("image_ids", "image_names", "job_ids", "stats", "previous_image_count", "bytes", "users", "role", "previous_role", "left", "project_name", "project_description", "changed_fields", "batch_id", "image_sizes", "image_previous_statuses", "image_project_ids", "jobs", "members")
    IMAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_NAMES_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ROLE_FIELD_NUMBER: _ClassVar[int]
    LEFT_FIELD_NUMBER: _ClassVar[int]
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_SIZES_FIELD_NUMBER: _ClassVar[int]
    IMAGE_PREVIOUS_STATUSES_FIELD_NUMBER: _ClassVar[int]
    IMAGE_PROJECT_IDS_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    image_ids: _containers.RepeatedScalarFieldContainer[str]
    image_names: _containers.RepeatedScalarFieldContainer[str]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    stats: _containers.RepeatedCompositeFieldContainer[_stats_pb2.ProjectStats]
    previous_image_count: int
    bytes: int
    users: _containers.RepeatedCompositeFieldContainer[_common_pb2.UserRef]
    role: _common_pb2.Role
    previous_role: _common_pb2.Role
    left: bool
    project_name: str
    project_description: str
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    batch_id: str
    image_sizes: _containers.RepeatedScalarFieldContainer[int]
    image_previous_statuses: _containers.RepeatedScalarFieldContainer[_common_pb2.SegmentationStatus]
    image_project_ids: _containers.RepeatedScalarFieldContainer[str]
    jobs: _containers.RepeatedCompositeFieldContainer[JobChange]
    members: _containers.RepeatedCompositeFieldContainer[_projects_pb2.ProjectMember]
    def __init__(self, image_ids: _Optional[_Iterable[str]] = ..., image_names: _Optional[_Iterable[str]] = ..., job_ids: _Optional[_Iterable[str]] = ..., stats: _Optional[_Iterable[_Union[_stats_pb2.ProjectStats, _Mapping]]] = ..., previous_image_count: _Optional[int] = ..., bytes: _Optional[int] = ..., users: _Optional[_Iterable[_Union[_common_pb2.UserRef, _Mapping]]] = ..., role: _Optional[_Union[_common_pb2.Role, str]] = ..., previous_role: _Optional[_Union[_common_pb2.Role, str]] = ..., left: bool = ..., project_name: _Optional[str] = ..., project_description: _Optional[str] = ..., changed_fields: _Optional[_Iterable[str]] = ..., batch_id: _Optional[str] = ..., image_sizes: _Optional[_Iterable[int]] = ..., image_previous_statuses: _Optional[_Iterable[_Union[_common_pb2.SegmentationStatus, str]]] = ..., image_project_ids: _Optional[_Iterable[str]] = ..., jobs: _Optional[_Iterable[_Union[JobChange, _Mapping]]] = ..., members: _Optional[_Iterable[_Union[_projects_pb2.ProjectMember, _Mapping]]] = ...) -> None: ...

class JobChange(_message.Message):
    __slots__ = ("job_id", "image_id", "project_id", "outcome", "cell_count", "processing_time_ms", "reason")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CELL_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    image_id: str
    project_id: str
    outcome: JobOutcome
    cell_count: int
    processing_time_ms: int
    reason: str
    def __init__(self, job_id: _Optional[str] = ..., image_id: _Optional[str] = ..., project_id: _Optional[str] = ..., outcome: _Optional[_Union[JobOutcome, str]] = ..., cell_count: _Optional[int] = ..., processing_time_ms: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...
