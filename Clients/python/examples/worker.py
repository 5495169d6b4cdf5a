"""A CellHub segmentation worker in Python: the template for plugging in any model.

    python Clients/python/examples/worker.py --server 127.0.0.1:50051 --token-file worker.token [--concurrency 4]

The token must be a worker's (`cellhubd users add NAME --worker`). The worker opens a
ClaimJobs stream; the server pushes jobs (with the image bytes) as they are queued, at most
`--concurrency` at once. Each job is segmented by `segment()` and completed with
CompleteJob (or failed with FailJob); leases are renewed while a job runs, and a job whose
lease the server revokes (cancelled, image deleted) is dropped. The stream reconnects
forever with jittered backoff.
"""
from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cellhub.v1 import segmentation_pb2, segmentation_pb2_grpc  # noqa: E402


def segment(image: bytes, content_type: str) -> list[list[tuple[float, float]]]:
    """Your model goes here: image bytes in, one polygon (a list of (x, y)) per cell out.

    This placeholder finds nothing in an empty image and one cell elsewhere: the
    image's own outline (in pixels of a nominal 64x64 frame)."""
    if not image:
        return []
    return [[(0.0, 0.0), (64.0, 0.0), (64.0, 64.0), (0.0, 64.0)]]


def polygon_area(points: list[tuple[float, float]]) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]))) / 2


class Worker:
    def __init__(self, server: str, token: str, name: str, concurrency: int, models: list[str]):
        self.metadata = [("authorization", f"Bearer {token}")]
        self.channel = grpc.insecure_channel(server, options=[("grpc.max_receive_message_length", 64 << 20)])
        self.stub = segmentation_pb2_grpc.SegmentationServiceStub(self.channel)
        self.name, self.concurrency, self.models = name, concurrency, models
        self.pool = ThreadPoolExecutor(max_workers=concurrency)
        self.revoked: set[str] = set()
        self.lock = threading.Lock()

    def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                request = segmentation_pb2.ClaimJobsRequest(
                    worker_name=self.name, max_concurrent_jobs=self.concurrency, models=self.models)
                for item in self.stub.ClaimJobs(request, metadata=self.metadata):
                    backoff = 0.1
                    kind = item.WhichOneof("item")
                    if kind == "assignment":
                        self.pool.submit(self.process, item.assignment)
                    elif kind == "lease_revoked":
                        with self.lock:
                            self.revoked.add(item.lease_revoked.lease_id)
                        print(f"lease on {item.lease_revoked.job_id} revoked: {item.lease_revoked.reason}", flush=True)
            except grpc.RpcError as error:
                if error.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED,
                                    grpc.StatusCode.INVALID_ARGUMENT):
                    sys.exit(f"worker stopped: {error.code().name}: {error.details()}")
                print(f"({error.code().name}: {error.details()}; reconnecting)", file=sys.stderr, flush=True)
            time.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, 10)

    def process(self, job) -> None:
        done = threading.Event()
        threading.Thread(target=self.renew, args=(job, done), daemon=True).start()
        started = time.monotonic()
        try:
            polygons = segment(job.image_content, job.content_type)
            with self.lock:
                if job.lease_id in self.revoked:
                    return
            result = segmentation_pb2.SegmentationResult(cell_count=len(polygons), polygons=[
                segmentation_pb2.Polygon(points=[segmentation_pb2.Point(x=x, y=y) for x, y in points], area_px=polygon_area(points))
                for points in polygons])
            self.stub.CompleteJob(segmentation_pb2.CompleteJobRequest(
                job_id=job.job_id, lease_id=job.lease_id, result=result,
                processing_time_ms=int((time.monotonic() - started) * 1000)), metadata=self.metadata, timeout=30)
            print(f"completed {job.job_id}: {len(polygons)} cells", flush=True)
        except grpc.RpcError as error:
            print(f"job {job.job_id}: {error.code().name}: {error.details()}", file=sys.stderr, flush=True)
        except Exception as error:  # the model failed on this image: tell the server
            self.stub.FailJob(segmentation_pb2.FailJobRequest(
                job_id=job.job_id, lease_id=job.lease_id, reason=str(error)[:1000] or "model error", retryable=False),
                metadata=self.metadata, timeout=30)
        finally:
            done.set()

    def renew(self, job, done: threading.Event) -> None:
        """Renews the lease at half its remaining time until the job is done."""
        expires = job.lease_expires_at_unix_ms
        while not done.wait(max(0.5, (expires / 1000 - time.time()) / 2)):
            try:
                expires = self.stub.RenewJobLease(segmentation_pb2.RenewJobLeaseRequest(
                    job_id=job.job_id, lease_id=job.lease_id), metadata=self.metadata, timeout=10).lease_expires_at_unix_ms
            except grpc.RpcError:
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="127.0.0.1:50051")
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--name", default="python-worker")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--model", action="append", default=[], help="model names this worker runs (default: the built-in)")
    args = parser.parse_args()
    Worker(args.server, Path(args.token_file).read_text().strip(), args.name, args.concurrency, args.model).run()


if __name__ == "__main__":
    main()
