"""The `cellhub` CLI under load, next to a Python grpcio baseline in the same run
(Tests/Scripts/bench-cli.sh starts the server and passes its address and a token).

    bench_cli.py CLI ADDRESS TOKEN [--images N] [--burst N] [--rounds N]

upload  `cellhub images upload DIR --project P --recursive` of N 4 KiB PNGs vs a Python script
        doing the same with the raw generated stubs (batches of 100, one call at a time, the
        files read from disk in both): images/s, median over rounds (alternating).
watch   `cellhub watch project P -o json --interval 0` while a burst of N images is uploaded
        (batches of 100, back to back): the CLI's CPU time per event (utime+stime from /proc)
        and the lag from the last upload's return to the CLI printing the event that shows it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Clients" / "python"))
from cellhub.v1 import images_pb2, images_pb2_grpc, projects_pb2, projects_pb2_grpc  # noqa: E402

OPTIONS = [("grpc.enable_http_proxy", 0), ("grpc.max_send_message_length", 64 << 20)]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def noisy_png(seed: int, side: int = 64) -> bytes:
    """An 8-bit grayscale PNG of random pixels: incompressible, so about side² bytes (4 KiB)."""
    rows = b"".join(b"\x00" + os.urandom(side) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"tEXt", f"seed\x00{seed}".encode()) + chunk(b"IEND", b""))


def upload_with_stubs(stub: images_pb2_grpc.ImageServiceStub, token: str, folder: Path, project_id: str) -> None:
    """The baseline upload: the raw generated stubs, batches of 100, one call at a time."""
    files = sorted(folder.iterdir())
    for first in range(0, len(files), 100):
        batch = [images_pb2.ImageUpload(name=f.name, content_type="image/png", content=f.read_bytes())
                 for f in files[first:first + 100]]
        stub.UploadImages(images_pb2.UploadImagesRequest(project_id=project_id, images=batch),
                          metadata=(("authorization", f"Bearer {token}"),), timeout=120)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Bench:
    def __init__(self, cli: str, address: str, token: str):
        self.cli, self.address, self.token = cli, address, token
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.channel = grpc.insecure_channel(address, options=OPTIONS)
        self.projects = projects_pb2_grpc.ProjectServiceStub(self.channel)
        self.images = images_pb2_grpc.ImageServiceStub(self.channel)
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("CELLHUB_")},
                    "CELLHUB_SERVER": address, "CELLHUB_TOKEN": token, "CELLHUB_CONFIG": "/nonexistent"}

    def project(self, name: str) -> str:
        return self.projects.CreateProject(projects_pb2.CreateProjectRequest(name=name), metadata=self.metadata).project.id

    def cli_upload(self, folder: Path, project_id: str) -> float:
        started = time.perf_counter()
        subprocess.run([self.cli, "images", "upload", str(folder), "--project", project_id, "--recursive"],
                       env=self.env, check=True, capture_output=True)
        return time.perf_counter() - started

    def python_script_upload(self, folder: Path, project_id: str) -> float:
        """The baseline as a user runs it: a script (interpreter start and imports included,
        as the CLI's process start is): this file's `upload` mode."""
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "upload", self.address, self.token, str(folder), project_id],
                       env=self.env, check=True, capture_output=True)
        return time.perf_counter() - started

    def python_loop_upload(self, folder: Path, project_id: str) -> float:
        """The same upload from this running process: no start-up at all."""
        started = time.perf_counter()
        upload_with_stubs(self.images, self.token, folder, project_id)
        return time.perf_counter() - started

    def watch_burst(self, count: int) -> dict[str, float]:
        project_id = self.project(f"burst-{time.time_ns()}")
        proc = subprocess.Popen([self.cli, "watch", "project", project_id, "-o", "json", "--interval", "0"],
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        seen: list[tuple[float, dict]] = []
        caught_up = threading.Event()

        def read() -> None:
            for line in proc.stdout:
                event = json.loads(line)
                seen.append((time.perf_counter(), event))
                if "caughtUp" in event:
                    caught_up.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert caught_up.wait(30), "the CLI never caught up"
        cpu_before = cpu_seconds(proc.pid)
        events_before = len(seen)
        content = [noisy_png(i) for i in range(100)]
        started = time.perf_counter()
        for batch in range(count // 100):
            self.images.UploadImages(images_pb2.UploadImagesRequest(project_id=project_id, images=[
                images_pb2.ImageUpload(name=f"b{batch}-{i}.png", content_type="image/png", content=content[i]) for i in range(100)]),
                metadata=self.metadata, timeout=120)
        committed = time.perf_counter()
        deadline = committed + 60
        shown = None
        while shown is None and time.perf_counter() < deadline:
            for at, event in list(seen):
                stats = event.get("statsUpdate", {}).get("stats", {})
                if int(stats.get("imageCount", "0")) == count:
                    shown = at
                    break
            time.sleep(0.005)
        time.sleep(0.2)
        cpu = cpu_seconds(proc.pid) - cpu_before
        events = len(seen) - events_before
        proc.terminate()
        proc.wait(10)
        assert shown is not None, "the CLI never showed the burst's last image"
        return {"events": events, "cpu_us_per_event": cpu / max(events, 1) * 1e6, "lag_ms": (shown - committed) * 1e3,
                "burst_s": committed - started}


def main() -> None:
    if sys.argv[1:2] == ["upload"]:  # the baseline script: upload ADDRESS TOKEN FOLDER PROJECT
        address, token, folder, project_id = sys.argv[2:]
        with grpc.insecure_channel(address, options=OPTIONS) as channel:
            upload_with_stubs(images_pb2_grpc.ImageServiceStub(channel), token, Path(folder), project_id)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cli")
    parser.add_argument("address")
    parser.add_argument("token")
    parser.add_argument("--images", type=int, default=1_000)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bench = Bench(args.cli, args.address, args.token)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        for i in range(args.images):
            (folder / f"img-{i:05}.png").write_bytes(noisy_png(i))
        size = sum(f.stat().st_size for f in folder.iterdir()) / args.images
        cli, python, loop = [], [], []
        for round_ in range(args.rounds):
            cli.append(args.images / bench.cli_upload(folder, bench.project(f"cli-{round_}-{time.time_ns()}")))
            python.append(args.images / bench.python_script_upload(folder, bench.project(f"py-{round_}-{time.time_ns()}")))
            loop.append(args.images / bench.python_loop_upload(folder, bench.project(f"loop-{round_}-{time.time_ns()}")))
    print(f"upload of {args.images} images of {size / 1024:.1f} KiB, median of {args.rounds} rounds (min–max):")
    for name, values in (("cellhub images upload", cli), ("Python grpcio script", python), ("Python loop, no start-up", loop)):
        print(f"  {name:25} {statistics.median(values):8,.0f} images/s  ({min(values):,.0f}–{max(values):,.0f})")
    print(f"  ratio CLI / Python script {statistics.median(cli) / statistics.median(python):8.2f}   (goal: >= 1, not slower)")
    burst = bench.watch_burst(args.burst)
    print(f"watch project -o json during a burst of {args.burst} images ({burst['burst_s']:.1f} s of uploads):")
    print(f"  {burst['events']} events, {burst['cpu_us_per_event']:.0f} µs of CLI CPU per event, "
          f"last update printed {burst['lag_ms']:+.1f} ms from the last upload's return "
          f"(negative: printed before the call returned)")


if __name__ == "__main__":
    main()
