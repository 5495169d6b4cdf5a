"""CellHub's Python client: typed calls to every service, streams that resume without losing
an update, and the worker's job loop.

    import cellhub

    with cellhub.Client("127.0.0.1:50051", token_file="cellhub-data/admin.token") as client:
        project = client.projects.create_project(name="demo").project
        for event in client.stats.watch_project(project.id):
            print(event.WhichOneof("payload"), event.revision)

`cellhub.aio.Client` is the same for asyncio. Messages live in `cellhub.v1` (`*_pb2`).
"""
from cellhub._client import Client, ImageService, ProjectService, SegmentationService, StatsService
from cellhub._errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    Error,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
)
from cellhub._jobs import Job, result_from_polygons
from cellhub._streams import Backoff, is_resync, position_of
from cellhub._transport import DEFAULT_TIMEOUT

__version__ = "0.1.0"

__all__ = [
    "Client", "ProjectService", "ImageService", "SegmentationService", "StatsService", "Job", "Backoff",
    "DEFAULT_TIMEOUT", "is_resync", "position_of", "result_from_polygons",
    "Error", "Cancelled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
    "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
    "Internal", "Unavailable", "DataLoss", "Unauthenticated",
]
