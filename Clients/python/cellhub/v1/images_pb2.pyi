from cellhub.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Image(_message.Message):
    __slots__ = ("id", "project_id", "name", "content_type", "size_bytes", "sha256_hex", "status", "uploaded_at_unix_ms", "uploaded_by", "status_changed_at_unix_ms", "segmented_at_unix_ms", "job_id", "cell_count", "failure_reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_HEX_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    UPLOADED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    UPLOADED_BY_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CELL_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    project_id: str
    name: str
    content_type: str
    size_bytes: int
    sha256_hex: str
    status: _common_pb2.SegmentationStatus
    uploaded_at_unix_ms: int
    uploaded_by: _common_pb2.UserRef
    status_changed_at_unix_ms: int
    segmented_at_unix_ms: int
    job_id: str
    cell_count: int
    failure_reason: str
    def __init__(self, id: _Optional[str] = ..., project_id: _Optional[str] = ..., name: _Optional[str] = ..., content_type: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256_hex: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.SegmentationStatus, str]] = ..., uploaded_at_unix_ms: _Optional[int] = ..., uploaded_by: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ..., status_changed_at_unix_ms: _Optional[int] = ..., segmented_at_unix_ms: _Optional[int] = ..., job_id: _Optional[str] = ..., cell_count: _Optional[int] = ..., failure_reason: _Optional[str] = ...) -> None: ...

class ImageUpload(_message.Message):
    __slots__ = ("name", "content_type", "content", "sha256_hex")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SHA256_HEX_FIELD_NUMBER: _ClassVar[int]
    name: str
    content_type: str
    content: bytes
    sha256_hex: str
    def __init__(self, name: _Optional[str] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ..., sha256_hex: _Optional[str] = ...) -> None: ...

class UploadImagesRequest(_message.Message):
    __slots__ = ("project_id", "images", "idempotency_key")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    images: _containers.RepeatedCompositeFieldContainer[ImageUpload]
    idempotency_key: str
    def __init__(self, project_id: _Optional[str] = ..., images: _Optional[_Iterable[_Union[ImageUpload, _Mapping]]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class UploadImagesResponse(_message.Message):
    __slots__ = ("images", "replayed")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    replayed: bool
    def __init__(self, images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ..., replayed: bool = ...) -> None: ...

class GetImageRequest(_message.Message):
    __slots__ = ("image_id",)
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    def __init__(self, image_id: _Optional[str] = ...) -> None: ...

class GetImageResponse(_message.Message):
    __slots__ = ("image",)
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    image: Image
    def __init__(self, image: _Optional[_Union[Image, _Mapping]] = ...) -> None: ...

class ListImagesRequest(_message.Message):
    __slots__ = ("project_id", "page_size", "page_token", "statuses", "name_contains")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    NAME_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    page_size: int
    page_token: str
    statuses: _containers.RepeatedScalarFieldContainer[_common_pb2.SegmentationStatus]
    name_contains: str
    def __init__(self, project_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[_common_pb2.SegmentationStatus, str]]] = ..., name_contains: _Optional[str] = ...) -> None: ...

class ListImagesResponse(_message.Message):
    __slots__ = ("images", "next_page_token", "total_size")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    next_page_token: str
    total_size: int
    def __init__(self, images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetImageContentRequest(_message.Message):
    __slots__ = ("image_id",)
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    def __init__(self, image_id: _Optional[str] = ...) -> None: ...

class GetImageContentResponse(_message.Message):
    __slots__ = ("content", "content_type", "sha256_hex", "name", "size_bytes")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHA256_HEX_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    content_type: str
    sha256_hex: str
    name: str
    size_bytes: int
    def __init__(self, content: _Optional[bytes] = ..., content_type: _Optional[str] = ..., sha256_hex: _Optional[str] = ..., name: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class DeleteImageRequest(_message.Message):
    __slots__ = ("image_id",)
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    def __init__(self, image_id: _Optional[str] = ...) -> None: ...

class DeleteImageResponse(_message.Message):
    __slots__ = ("freed_bytes",)
    FREED_BYTES_FIELD_NUMBER: _ClassVar[int]
    freed_bytes: int
    def __init__(self, freed_bytes: _Optional[int] = ...) -> None: ...

class DeleteImagesRequest(_message.Message):
    __slots__ = ("project_id", "image_ids", "allow_missing")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_MISSING_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    image_ids: _containers.RepeatedScalarFieldContainer[str]
    allow_missing: bool
    def __init__(self, project_id: _Optional[str] = ..., image_ids: _Optional[_Iterable[str]] = ..., allow_missing: bool = ...) -> None: ...

class DeleteImagesResponse(_message.Message):
    __slots__ = ("deleted_count", "missing_image_ids", "freed_bytes")
    DELETED_COUNT_FIELD_NUMBER: _ClassVar[int]
    MISSING_IMAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    FREED_BYTES_FIELD_NUMBER: _ClassVar[int]
    deleted_count: int
    missing_image_ids: _containers.RepeatedScalarFieldContainer[str]
    freed_bytes: int
    def __init__(self, deleted_count: _Optional[int] = ..., missing_image_ids: _Optional[_Iterable[str]] = ..., freed_bytes: _Optional[int] = ...) -> None: ...
