"""Create a project (or reuse yours of that name) and upload images into it.

    python Clients/python/examples/upload.py --server 127.0.0.1:50051 --token-file cellhub-data/admin.token --project demo [FILE...]

Without files it uploads one generated 64x64 grayscale PNG. Prints the project id and the
uploaded image ids; an idempotency key makes a retried call safe.
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
from cellhub.v1 import images_pb2, images_pb2_grpc, projects_pb2, projects_pb2_grpc  # noqa: E402

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


if __name__ == "__main__":
    main()
