"""Upload images (files or whole folders) into a project and, with --segment, watch the
project until every image is segmented.

    python Clients/python/examples/upload.py --server 127.0.0.1:50051 --token-file cellhub-data/admin.token --project demo [--segment] [PATH...]

Creates the project unless you own one of that name. Without paths it uploads one generated
64x64 grayscale PNG. Uploads go in batches, each with an idempotency key, so a retried call
never stores an image twice. With --segment it queues the project's unsegmented images,
follows the project's stream (no polling) until none is queued or processing, and prints
each image's cell count.
"""
from __future__ import annotations

import argparse
import struct
import sys
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import cellhub
from cellhub.v1 import images_pb2, projects_pb2, segmentation_pb2

TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".tif": "image/tiff", ".tiff": "image/tiff",
         ".pgm": "image/x-portable-graymap"}
BATCH_BYTES = 32 << 20


def demo_png(size: int = 64) -> bytes:
    """A grayscale PNG with a bright disk: something a segmenter can find."""
    rows = b"".join(
        b"\x00" + bytes(220 if (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 4) ** 2 else 30 for x in range(size))
        for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def image_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in TYPES)
        else:
            yield path


def batches(paths: list[Path]) -> Iterator[list[images_pb2.ImageUpload]]:
    batch: list[images_pb2.ImageUpload] = []
    size = 0
    for path in image_files(paths):
        content = path.read_bytes()
        if batch and size + len(content) > BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(images_pb2.ImageUpload(name=path.name, content_type=TYPES.get(path.suffix.lower(), ""), content=content))
        size += len(content)
    if batch:
        yield batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="127.0.0.1:50051")
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--project", required=True, help="project name")
    parser.add_argument("--segment", action="store_true", help="queue the images and wait for their results")
    parser.add_argument("paths", nargs="*", type=Path, help="image files or folders (searched recursively)")
    args = parser.parse_args()
    with cellhub.Client(args.server, token_file=args.token_file) as client:
        try:
            project = find_or_create(client, args.project)
            uploads = list(batches(args.paths)) or [[images_pb2.ImageUpload(
                name="demo.png", content_type="image/png", content=demo_png())]]
            image_ids: list[str] = []
            for batch in uploads:
                reply = client.images.upload_images(project_id=project.id, images=batch, idempotency_key=str(uuid.uuid4()),
                                                    timeout=300)
                image_ids += [image.id for image in reply.images]
            print(f"project {project.id} ({project.name}): uploaded {', '.join(image_ids)}")
            if args.segment:
                segment(client, project.id, image_ids)
        except cellhub.Error as error:
            sys.exit(str(error))


def find_or_create(client: cellhub.Client, name: str) -> projects_pb2.Project:
    owned = client.projects.list_projects(filter=projects_pb2.PROJECT_FILTER_OWNED, name_contains=name).projects
    found = next((p for p in owned if p.name == name), None)
    return found or client.projects.create_project(name=name).project


def segment(client: cellhub.Client, project_id: str, image_ids: list[str]) -> None:
    queued = client.segmentation.enqueue_segmentation(project_id=project_id, unsegmented=segmentation_pb2.UnsegmentedImages())
    print(f"queued {len(queued.jobs)} job(s) for model {queued.model}")
    # The project stream's stats say when the queue is through: no polling.
    for event in client.stats.watch_project(project_id, min_update_interval_ms=0):
        kind = event.WhichOneof("payload")
        if kind not in ("snapshot", "stats_update"):
            continue
        stats = event.snapshot.project.stats if kind == "snapshot" else event.stats_update.stats
        print(f"  queued {stats.queued_count}, processing {stats.processing_count}, "
              f"segmented {stats.segmented_count}, failed {stats.failed_count}")
        if stats.queued_count == 0 and stats.processing_count == 0:
            break
    for image_id in image_ids:
        try:
            result = client.segmentation.get_segmentation(image_id=image_id)
            print(f"{image_id}: {result.result.cell_count} cell(s), {result.processing_time_ms} ms")
        except cellhub.Error as error:
            print(f"{image_id}: {error}")


if __name__ == "__main__":
    main()
