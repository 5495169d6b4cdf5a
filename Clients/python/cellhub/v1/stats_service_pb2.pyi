from cellhub.v1 import common_pb2 as _common_pb2
from cellhub.v1 import events_pb2 as _events_pb2
from cellhub.v1 import stats_pb2 as _stats_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetProjectStatsRequest(_message.Message):
    __slots__ = ("project_id",)
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    def __init__(self, project_id: _Optional[str] = ...) -> None: ...

class GetProjectStatsResponse(_message.Message):
    __slots__ = ("stats", "epoch")
    STATS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    stats: _stats_pb2.ProjectStats
    epoch: str
    def __init__(self, stats: _Optional[_Union[_stats_pb2.ProjectStats, _Mapping]] = ..., epoch: _Optional[str] = ...) -> None: ...

class GetDashboardMetricsRequest(_message.Message):
    __slots__ = ("time_zone",)
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    time_zone: str
    def __init__(self, time_zone: _Optional[str] = ...) -> None: ...

class GetDashboardMetricsResponse(_message.Message):
    __slots__ = ("metrics", "epoch")
    METRICS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    metrics: _stats_pb2.DashboardMetrics
    epoch: str
    def __init__(self, metrics: _Optional[_Union[_stats_pb2.DashboardMetrics, _Mapping]] = ..., epoch: _Optional[str] = ...) -> None: ...

class ListActivityRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "project_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    project_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., project_id: _Optional[str] = ...) -> None: ...

class ListActivityResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_events_pb2.ActivityEvent]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[_events_pb2.ActivityEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchProjectRequest(_message.Message):
    __slots__ = ("project_id", "resume_from", "min_update_interval_ms", "heartbeat_interval_s")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    RESUME_FROM_FIELD_NUMBER: _ClassVar[int]
    MIN_UPDATE_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    resume_from: _common_pb2.StreamPosition
    min_update_interval_ms: int
    heartbeat_interval_s: int
    def __init__(self, project_id: _Optional[str] = ..., resume_from: _Optional[_Union[_common_pb2.StreamPosition, _Mapping]] = ..., min_update_interval_ms: _Optional[int] = ..., heartbeat_interval_s: _Optional[int] = ...) -> None: ...

class WatchDashboardRequest(_message.Message):
    __slots__ = ("resume_from", "min_update_interval_ms", "heartbeat_interval_s", "time_zone")
    RESUME_FROM_FIELD_NUMBER: _ClassVar[int]
    MIN_UPDATE_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    resume_from: _common_pb2.StreamPosition
    min_update_interval_ms: int
    heartbeat_interval_s: int
    time_zone: str
    def __init__(self, resume_from: _Optional[_Union[_common_pb2.StreamPosition, _Mapping]] = ..., min_update_interval_ms: _Optional[int] = ..., heartbeat_interval_s: _Optional[int] = ..., time_zone: _Optional[str] = ...) -> None: ...

class WatchActivityRequest(_message.Message):
    __slots__ = ("resume_from", "backlog_size", "heartbeat_interval_s", "project_id")
    RESUME_FROM_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_SIZE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    resume_from: _common_pb2.StreamPosition
    backlog_size: int
    heartbeat_interval_s: int
    project_id: str
    def __init__(self, resume_from: _Optional[_Union[_common_pb2.StreamPosition, _Mapping]] = ..., backlog_size: _Optional[int] = ..., heartbeat_interval_s: _Optional[int] = ..., project_id: _Optional[str] = ...) -> None: ...
