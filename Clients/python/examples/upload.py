"""Create a project (or reuse yours of that name) and upload images into it.

    python Clients/python/examples/upload.py --server 127.0.0.1:50051 --token-file cellhub-data/admin.token --project demo [--segment] [FILE...]

Without files it uploads one generated 64x64 grayscale PNG. Prints the project id and the
uploaded image ids; an idempotency key makes a retried call safe. With --segment it then
queues the project's unsegmented images, follows the project's stream until none is queued
or processing, and prints each image's cell count.
"""
from __future__ import annotations

import argparse
import mimetypes
import struct
import sys
import uuid
import zlib
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cellhub.v1 import (  # noqa: E402
    images_pb2,
    images_pb2_grpc,
    projects_pb2,
    projects_pb2_grpc,
    segmentation_pb2,
    segmentation_pb2_grpc,
    stats_service_pb2,
    stats_service_pb2_grpc,
)

TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".tif": "image/tiff", ".tiff": "image/tiff",
         ".pgm": "image/x-portable-graymap"}


def demo_png(size: int = 64) -> bytes:
    """A grayscale PNG with a bright disk: something a segmenter can find."""
    rows = b"".join(
        b"\x00" + bytes(220 if (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 4) ** 2 else 30 for x in range(size))
        for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="127.0.0.1:50051")
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--project", required=True, help="project name")
    parser.add_argument("--segment", action="store_true", help="queue the images and wait for their results")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    metadata = [("authorization", "Bearer " + Path(args.token_file).read_text().strip())]
    with grpc.insecure_channel(args.server) as channel:
        projects = projects_pb2_grpc.ProjectServiceStub(channel)
        found = projects.ListProjects(projects_pb2.ListProjectsRequest(
            filter=projects_pb2.PROJECT_FILTER_OWNED, name_contains=args.project), metadata=metadata).projects
        project = next((p for p in found if p.name == args.project), None)
        if project is None:
            project = projects.CreateProject(projects_pb2.CreateProjectRequest(name=args.project), metadata=metadata).project
        uploads = [images_pb2.ImageUpload(name=f.name, content_type=TYPES.get(f.suffix.lower()) or mimetypes.guess_type(f.name)[0] or "",
                                          content=f.read_bytes()) for f in args.files]
        if not uploads:
            uploads = [images_pb2.ImageUpload(name="demo.png", content_type="image/png", content=demo_png())]
        reply = images_pb2_grpc.ImageServiceStub(channel).UploadImages(images_pb2.UploadImagesRequest(
            project_id=project.id, images=uploads, idempotency_key=str(uuid.uuid4())), metadata=metadata)
        print(f"project {project.id} ({project.name}): uploaded {', '.join(i.id for i in reply.images)}")
        if args.segment:
            segment(channel, metadata, project.id, [i.id for i in reply.images])


def segment(channel, metadata, project_id: str, image_ids: list[str]) -> None:
    seg = segmentation_pb2_grpc.SegmentationServiceStub(channel)
    queued = seg.EnqueueSegmentation(segmentation_pb2.EnqueueSegmentationRequest(
        project_id=project_id, unsegmented=segmentation_pb2.UnsegmentedImages()), metadata=metadata)
    print(f"queued {len(queued.jobs)} job(s) for model {queued.model}")
    # The project stream's stats say when the queue is through: no polling.
    stream = stats_service_pb2_grpc.StatsServiceStub(channel).WatchProject(
        stats_service_pb2.WatchProjectRequest(project_id=project_id, min_update_interval_ms=0), metadata=metadata, timeout=600)
    for event in stream:
        kind = event.WhichOneof("payload")
        stats = event.snapshot.project.stats if kind == "snapshot" else event.stats_update.stats if kind == "stats_update" else None
        if stats is None:
            continue
        print(f"  queued {stats.queued_count}, processing {stats.processing_count}, segmented {stats.segmented_count}, failed {stats.failed_count}")
        if stats.queued_count == 0 and stats.processing_count == 0:
            stream.cancel()
            break
    for image_id in image_ids:
        try:
            result = seg.GetSegmentation(segmentation_pb2.GetSegmentationRequest(image_id=image_id), metadata=metadata)
            print(f"{image_id}: {result.result.cell_count} cell(s), {result.processing_time_ms} ms")
        except grpc.RpcError as error:
            print(f"{image_id}: {error.code().name}: {error.details()}")


if __name__ == "__main__":
    main()
