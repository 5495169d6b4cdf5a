from cellhub.v1 import common_pb2 as _common_pb2
from cellhub.v1 import stats_pb2 as _stats_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProjectFilter(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROJECT_FILTER_UNSPECIFIED: _ClassVar[ProjectFilter]
    PROJECT_FILTER_ALL: _ClassVar[ProjectFilter]
    PROJECT_FILTER_OWNED: _ClassVar[ProjectFilter]
    PROJECT_FILTER_SHARED: _ClassVar[ProjectFilter]
PROJECT_FILTER_UNSPECIFIED: ProjectFilter
PROJECT_FILTER_ALL: ProjectFilter
PROJECT_FILTER_OWNED: ProjectFilter
PROJECT_FILTER_SHARED: ProjectFilter

class Project(_message.Message):
    __slots__ = ("id", "name", "project_description", "owner", "caller_role", "created_at_unix_ms", "updated_at_unix_ms", "stats", "share_count")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CALLER_ROLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    SHARE_COUNT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    project_description: str
    owner: _common_pb2.UserRef
    caller_role: _common_pb2.Role
    created_at_unix_ms: int
    updated_at_unix_ms: int
    stats: _stats_pb2.ProjectStats
    share_count: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., project_description: _Optional[str] = ..., owner: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ..., caller_role: _Optional[_Union[_common_pb2.Role, str]] = ..., created_at_unix_ms: _Optional[int] = ..., updated_at_unix_ms: _Optional[int] = ..., stats: _Optional[_Union[_stats_pb2.ProjectStats, _Mapping]] = ..., share_count: _Optional[int] = ...) -> None: ...

class ProjectMember(_message.Message):
    __slots__ = ("user", "role", "shared_at_unix_ms", "shared_by")
    USER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SHARED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    SHARED_BY_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.UserRef
    role: _common_pb2.Role
    shared_at_unix_ms: int
    shared_by: _common_pb2.UserRef
    def __init__(self, user: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ..., role: _Optional[_Union[_common_pb2.Role, str]] = ..., shared_at_unix_ms: _Optional[int] = ..., shared_by: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ...) -> None: ...

class CreateProjectRequest(_message.Message):
    __slots__ = ("name", "project_description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    project_description: str
    def __init__(self, name: _Optional[str] = ..., project_description: _Optional[str] = ...) -> None: ...

class CreateProjectResponse(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: Project
    def __init__(self, project: _Optional[_Union[Project, _Mapping]] = ...) -> None: ...

class GetProjectRequest(_message.Message):
    __slots__ = ("project_id",)
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    def __init__(self, project_id: _Optional[str] = ...) -> None: ...

class GetProjectResponse(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: Project
    def __init__(self, project: _Optional[_Union[Project, _Mapping]] = ...) -> None: ...

class ListProjectsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter", "name_contains")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    NAME_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: ProjectFilter
    name_contains: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[_Union[ProjectFilter, str]] = ..., name_contains: _Optional[str] = ...) -> None: ...

class ListProjectsResponse(_message.Message):
    __slots__ = ("projects", "next_page_token", "total_size")
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    projects: _containers.RepeatedCompositeFieldContainer[Project]
    next_page_token: str
    total_size: int
    def __init__(self, projects: _Optional[_Iterable[_Union[Project, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class UpdateProjectRequest(_message.Message):
    __slots__ = ("project_id", "name", "project_description")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    name: str
    project_description: str
    def __init__(self, project_id: _Optional[str] = ..., name: _Optional[str] = ..., project_description: _Optional[str] = ...) -> None: ...

class UpdateProjectResponse(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: Project
    def __init__(self, project: _Optional[_Union[Project, _Mapping]] = ...) -> None: ...

class DeleteProjectRequest(_message.Message):
    __slots__ = ("project_id",)
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    def __init__(self, project_id: _Optional[str] = ...) -> None: ...

class DeleteProjectResponse(_message.Message):
    __slots__ = ("deleted_image_count", "cancelled_job_count")
    DELETED_IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_JOB_COUNT_FIELD_NUMBER: _ClassVar[int]
    deleted_image_count: int
    cancelled_job_count: int
    def __init__(self, deleted_image_count: _Optional[int] = ..., cancelled_job_count: _Optional[int] = ...) -> None: ...

class ShareProjectRequest(_message.Message):
    __slots__ = ("project_id", "user_id", "user_name", "role")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    user_id: str
    user_name: str
    role: _common_pb2.Role
    def __init__(self, project_id: _Optional[str] = ..., user_id: _Optional[str] = ..., user_name: _Optional[str] = ..., role: _Optional[_Union[_common_pb2.Role, str]] = ...) -> None: ...

class ShareProjectResponse(_message.Message):
    __slots__ = ("member", "created", "previous_role")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ROLE_FIELD_NUMBER: _ClassVar[int]
    member: ProjectMember
    created: bool
    previous_role: _common_pb2.Role
    def __init__(self, member: _Optional[_Union[ProjectMember, _Mapping]] = ..., created: bool = ..., previous_role: _Optional[_Union[_common_pb2.Role, str]] = ...) -> None: ...

class RevokeShareRequest(_message.Message):
    __slots__ = ("project_id", "user_id", "user_name", "leave")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_NAME_FIELD_NUMBER: _ClassVar[int]
    LEAVE_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    user_id: str
    user_name: str
    leave: bool
    def __init__(self, project_id: _Optional[str] = ..., user_id: _Optional[str] = ..., user_name: _Optional[str] = ..., leave: bool = ...) -> None: ...

class RevokeShareResponse(_message.Message):
    __slots__ = ("revoked",)
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    revoked: ProjectMember
    def __init__(self, revoked: _Optional[_Union[ProjectMember, _Mapping]] = ...) -> None: ...

class ListSharesRequest(_message.Message):
    __slots__ = ("project_id",)
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    def __init__(self, project_id: _Optional[str] = ...) -> None: ...

class ListSharesResponse(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[ProjectMember]
    def __init__(self, members: _Optional[_Iterable[_Union[ProjectMember, _Mapping]]] = ...) -> None: ...
