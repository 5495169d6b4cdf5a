"""Shared helpers for the end-to-end tests of CellHub's unary API (test_api_*.py).

`start_api(tmp_path_factory, users)` adds the users with `cellhubd users add NAME` (each
prints its token once on stdout) *before* the server starts, then starts `Server(data_dir)`
from conftest and returns an `Api`: one grpcio channel with 64 MiB message limits and one
`Client` per user whose calls carry `authorization: Bearer <token>`.

Errors are checked with `expect_error(code, call, request)`: the status code, and a
grpc-message that is non-empty, human-readable and leaks nothing internal.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import signal
import struct
import subprocess
import sys
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from conftest import CHANNEL_OPTIONS, IS_GRPC_GO, MiB, REPO, Server

sys.path.insert(0, str(REPO / "Clients" / "python"))

import cellhub  # noqa: E402
from cellhub.v1 import (  # noqa: E402
    common_pb2,
    images_pb2,
    images_pb2_grpc,
    projects_pb2,
    projects_pb2_grpc,
    segmentation_pb2,
    segmentation_pb2_grpc,
    stats_pb2,
    stats_service_pb2,
    stats_service_pb2_grpc,
)

BINARY = Path(os.environ.get("CELLHUB_CELLHUBD", REPO / ".build/release/cellhubd"))
TOKEN = re.compile(r"chub_[0-9a-f]{64}")
CALL_TIMEOUT = 30
LIMIT = 64 * MiB
# Receive up to the server's 64 MiB; send without a client-side cap, so that requests over the
# limit reach the server and its RESOURCE_EXHAUSTED is what the tests see.
API_OPTIONS = [("grpc.max_receive_message_length", LIMIT), ("grpc.max_send_message_length", -1)]

# cellhubd serves the CellHub services; the grpc-go interop reference does not.
requires_cellhubd = pytest.mark.skipif(IS_GRPC_GO, reason="CellHub API is served by cellhubd only")

Code = grpc.StatusCode

# ---------------------------------------------------------------------------------------------
# admin command


def cellhubd(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    assert BINARY.is_file(), f"cellhubd not found at {BINARY}: build it or set CELLHUB_CELLHUBD"
    return subprocess.run([str(BINARY), *args, "--data-dir", str(data_dir)], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def add_user(data_dir: Path, name: str, *flags: str) -> str:
    result = cellhubd("users", "add", name, *flags, data_dir=data_dir)
    assert result.returncode == 0, f"users add {name}: exit {result.returncode}; stderr: {result.stderr!r}"
    token = result.stdout.strip()
    assert TOKEN.fullmatch(token), f"users add {name} should print exactly a token, got {result.stdout!r}"
    return token


def revoke_user(data_dir: Path, name: str) -> None:
    result = cellhubd("users", "revoke", name, data_dir=data_dir)
    assert result.returncode == 0, f"users revoke {name}: exit {result.returncode}; stderr: {result.stderr!r}"


# ---------------------------------------------------------------------------------------------
# clients


class _Bound:
    """A stub whose unary methods carry the client's metadata and a timeout by default."""

    def __init__(self, stub, metadata):
        self._stub = stub
        self._metadata = metadata

    def __getattr__(self, name):
        method = getattr(self._stub, name)

        def call(request, **kwargs):
            kwargs.setdefault("timeout", CALL_TIMEOUT)
            if self._metadata is not None:
                kwargs.setdefault("metadata", self._metadata)
            return method(request, **kwargs)

        call.__name__ = name
        return call


class Client:
    def __init__(self, channel: grpc.Channel, name: str, token: str | None, metadata=None):
        self.name = name
        self.token = token
        if metadata is None and token is not None:
            metadata = (("authorization", f"Bearer {token}"),)
        self.metadata = metadata
        self.projects = _Bound(projects_pb2_grpc.ProjectServiceStub(channel), metadata)
        self.images = _Bound(images_pb2_grpc.ImageServiceStub(channel), metadata)
        self.stats = _Bound(stats_service_pb2_grpc.StatsServiceStub(channel), metadata)
        self.seg = _Bound(segmentation_pb2_grpc.SegmentationServiceStub(channel), metadata)
        self._user_id: str | None = None

    def __repr__(self):
        return f"Client({self.name})"

    # -- conveniences (each asserts the call succeeded)
    def create_project(self, name: str | None = None, description: str = "") -> projects_pb2.Project:
        name = name or f"p-{uuid.uuid4().hex[:12]}"
        reply = self.projects.CreateProject(projects_pb2.CreateProjectRequest(name=name, project_description=description))
        return reply.project

    def share(self, project_id: str, user: "Client", role) -> projects_pb2.ShareProjectResponse:
        return self.projects.ShareProject(projects_pb2.ShareProjectRequest(
            project_id=project_id, user_name=user.name, role=role))

    def upload(self, project_id: str, *uploads: images_pb2.ImageUpload, key: str = "") -> images_pb2.UploadImagesResponse:
        return self.images.UploadImages(images_pb2.UploadImagesRequest(
            project_id=project_id, images=list(uploads), idempotency_key=key))

    def project_stats(self, project_id: str) -> stats_pb2.ProjectStats:
        return self.stats.GetProjectStats(stats_service_pb2.GetProjectStatsRequest(project_id=project_id)).stats

    def dashboard(self, time_zone: str = "") -> stats_pb2.DashboardMetrics:
        return self.stats.GetDashboardMetrics(stats_service_pb2.GetDashboardMetricsRequest(time_zone=time_zone)).metrics


@dataclass
class Api:
    server: Server
    data_dir: Path
    channel: grpc.Channel
    users: dict[str, Client] = field(default_factory=dict)

    def __getattr__(self, name):
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)

    def client(self, name: str, token: str | None = None, metadata=None) -> Client:
        return Client(self.channel, name, token, metadata)

    @property
    def anonymous(self) -> Client:
        return Client(self.channel, "anonymous", None, metadata=())

    def close(self):
        self.channel.close()
        self.server.stop()


def start_api(tmp_path_factory, users=("alice", "bob", "carol")) -> Api:
    data = tmp_path_factory.mktemp("cellhub-api")
    tokens = {name: add_user(data, name) for name in users}
    server = Server(data)
    channel = grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS + API_OPTIONS)
    api = Api(server=server, data_dir=data, channel=channel)
    for name, token in tokens.items():
        api.users[name] = Client(channel, name, token)
    return api


# ---------------------------------------------------------------------------------------------
# errors

# Words that betray an internal detail in a grpc-message (store, language runtime, paths).
_INTERNAL = re.compile(
    r"sqlite|SQLITE_|StoreError|InternalFault|DomainError|\.swift\b|Fatal error|Stack dump|backtrace|"
    r"/work/|/tmp/|errno|Optional\(|Swift\.|CellHubStore|underlying:|database is locked|no such table|constraint failed",
    re.IGNORECASE,
)


def check_message(err: grpc.RpcError, what: str = "") -> str:
    message = err.details() or ""
    assert message.strip(), f"{what}: {err.code()} carries an empty grpc-message"
    assert not _INTERNAL.search(message), f"{what}: grpc-message leaks an internal detail: {message!r}"
    assert message.isprintable(), f"{what}: grpc-message is not human-readable text: {message!r}"
    return message


def expect_error(code: grpc.StatusCode, method, request, what: str = "", **kwargs) -> grpc.RpcError:
    """Calls `method(request)`, asserts it fails with `code` and a clean message; returns the error."""
    what = what or getattr(method, "__name__", "call")
    try:
        reply = method(request, **kwargs)
    except grpc.RpcError as err:
        assert err.code() == code, f"{what}: want {code.name}, got {err.code().name}: {err.details()!r}"
        check_message(err, what)
        return err
    raise AssertionError(f"{what}: want {code.name}, but the call succeeded: {str(reply)[:500]!r}")


def ok(method, request, what: str = "", **kwargs):
    """Calls `method(request)` and turns a gRPC failure into a readable assertion."""
    try:
        return method(request, **kwargs)
    except grpc.RpcError as err:
        raise AssertionError(f"{what or getattr(method, '__name__', 'call')} failed: {err.code().name}: {err.details()!r}") from None


def random_id() -> str:
    return str(uuid.uuid4())


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------------------------------------
# minimal valid images (content differs per `seed`)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(seed: int = 0, width: int = 2, height: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    raw = b"".join(b"\x00" + bytes((seed + x + y) & 0xFF for x in range(width)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(raw))
            + _png_chunk(b"IEND", b""))


def jpeg(seed: int = 0) -> bytes:
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    comment = f"cellhub test {seed}".encode()
    return (b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0
            + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + b"\xff\xd9")


def tiff(seed: int = 0) -> bytes:
    # Little-endian TIFF, one 1x1 8-bit grayscale strip.
    entries = [
        (256, 3, 1, 1),  # ImageWidth
        (257, 3, 1, 1),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: BlackIsZero
        (273, 4, 1, 0),  # StripOffsets (patched below)
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 3, 1, 1),  # RowsPerStrip
        (279, 4, 1, 1),  # StripByteCounts
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    pixel_offset = 8 + ifd_size
    out = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        if tag == 273:
            value = pixel_offset
        out += struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value))
    return out + struct.pack("<I", 0) + bytes([seed & 0xFF])


def pgm(seed: int = 0) -> bytes:
    return b"P5\n2 2\n255\n" + bytes((seed + i) & 0xFF for i in range(4))


FORMATS = {
    "image/png": png,
    "image/jpeg": jpeg,
    "image/tiff": tiff,
    "image/x-portable-graymap": pgm,
}


def upload_of(content_type: str = "image/png", seed: int = 0, name: str | None = None, content: bytes | None = None):
    if content is None:
        content = FORMATS[content_type](seed)
    return images_pb2.ImageUpload(name=name or f"img-{seed}.bin", content_type=content_type, content=content)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tamper_token(token: str) -> str:
    """The same page token with one byte of its body flipped (still valid base64url)."""
    padded = token + "=" * (-len(token) % 4)
    raw = bytearray(base64.urlsafe_b64decode(padded))
    raw[len(raw) // 2] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


# ---------------------------------------------------------------------------------------------
# a server that restarts on its port


class Restartable:
    """cellhubd on a fixed port and data directory, so that one client target outlives restarts."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.server = Server(data_dir)
        self.port = self.server.port

    def restart(self, sig: int) -> None:
        if sig == signal.SIGKILL:
            self.server.kill()
        else:
            assert self.server.stop(sig, timeout=30) == 0, self.server.log_text()
        for _ in range(50):
            try:
                self.server = Server(self.data_dir, ["--port", str(self.port)])
                return
            except AssertionError:  # the port is not free yet
                time.sleep(0.1)
        raise AssertionError("the server did not come back on its port")

    @property
    def address(self) -> str:
        return self.server.address


def retry_upload(client, project_id: str, images) -> None:
    """An upload that rides out a server coming back (the idempotency key makes the retry safe)."""
    key = str(uuid.uuid4())
    for _ in range(100):
        try:
            client.images.upload_images(project_id=project_id, images=images, idempotency_key=key)
            return
        except cellhub.Unavailable:  # the Python package's client (Clients/python)
            time.sleep(0.1)
    raise AssertionError("the server never came back")
