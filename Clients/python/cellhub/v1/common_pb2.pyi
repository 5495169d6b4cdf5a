from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_OWNER: _ClassVar[Role]
    ROLE_EDITOR: _ClassVar[Role]
    ROLE_VIEWER: _ClassVar[Role]

class SegmentationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEGMENTATION_STATUS_UNSPECIFIED: _ClassVar[SegmentationStatus]
    SEGMENTATION_STATUS_NO_SEGMENTATION: _ClassVar[SegmentationStatus]
    SEGMENTATION_STATUS_QUEUED: _ClassVar[SegmentationStatus]
    SEGMENTATION_STATUS_PROCESSING: _ClassVar[SegmentationStatus]
    SEGMENTATION_STATUS_SEGMENTED: _ClassVar[SegmentationStatus]
    SEGMENTATION_STATUS_FAILED: _ClassVar[SegmentationStatus]
ROLE_UNSPECIFIED: Role
ROLE_OWNER: Role
ROLE_EDITOR: Role
ROLE_VIEWER: Role
SEGMENTATION_STATUS_UNSPECIFIED: SegmentationStatus
SEGMENTATION_STATUS_NO_SEGMENTATION: SegmentationStatus
SEGMENTATION_STATUS_QUEUED: SegmentationStatus
SEGMENTATION_STATUS_PROCESSING: SegmentationStatus
SEGMENTATION_STATUS_SEGMENTED: SegmentationStatus
SEGMENTATION_STATUS_FAILED: SegmentationStatus

class UserRef(_message.Message):
    __slots__ = ("user_id", "user_name")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_NAME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    user_name: str
    def __init__(self, user_id: _Optional[str] = ..., user_name: _Optional[str] = ...) -> None: ...

class StreamPosition(_message.Message):
    __slots__ = ("epoch", "revision", "sequence")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    epoch: str
    revision: int
    sequence: int
    def __init__(self, epoch: _Optional[str] = ..., revision: _Optional[int] = ..., sequence: _Optional[int] = ...) -> None: ...

class AffectedImages(_message.Message):
    __slots__ = ("image_ids", "truncated", "total_count")
    IMAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    image_ids: _containers.RepeatedScalarFieldContainer[str]
    truncated: bool
    total_count: int
    def __init__(self, image_ids: _Optional[_Iterable[str]] = ..., truncated: bool = ..., total_count: _Optional[int] = ...) -> None: ...
