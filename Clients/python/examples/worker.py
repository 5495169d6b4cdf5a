"""A CellHub segmentation worker in Python: the template for plugging in any model.

    python Clients/python/examples/worker.py --server 127.0.0.1:50051 --token-file worker.token [--concurrency 4]

The token must be a worker's (`cellhubd users add NAME --worker`). `client.segmentation.jobs()`
opens a ClaimJobs stream: the server pushes jobs (with the image bytes) as they are queued,
at most `--concurrency` at once, and their leases are renewed while `segment()` runs. Each
job is completed with its cells' polygons, or failed when the model raises; a job whose
lease the server revokes (cancelled, image deleted) is dropped. Reconnects forever.
"""
from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor

import cellhub

Polygon = list[tuple[float, float]]


def segment(image: bytes, content_type: str) -> list[Polygon]:
    """Your model goes here: image bytes in, one polygon (a list of (x, y)) per cell out.

    This placeholder finds nothing in an empty image and one cell elsewhere: the
    image's own outline (in pixels of a nominal 64x64 frame)."""
    if not image:
        return []
    return [[(0.0, 0.0), (64.0, 0.0), (64.0, 64.0), (0.0, 64.0)]]


def process(job: cellhub.Job) -> None:
    try:
        polygons = segment(job.content, job.content_type)
    except Exception as error:  # the model failed on this image: tell the server
        job.fail(str(error) or "model error")
        print(f"failed {job.job_id}: {error}", flush=True)
        return
    if job.revoked:
        print(f"dropped {job.job_id}: {job.revoked}", flush=True)
        return
    try:
        job.complete(polygons=polygons)
        print(f"completed {job.job_id}: {len(polygons)} cells", flush=True)
    except cellhub.Error as error:
        print(f"job {job.job_id}: {error}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="127.0.0.1:50051")
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--name", default="python-worker")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--model", action="append", default=[], help="model names this worker runs (default: the built-in)")
    args = parser.parse_args()
    with cellhub.Client(args.server, token_file=args.token_file) as client, \
            ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        try:
            for job in client.segmentation.jobs(concurrency=args.concurrency, worker_name=args.name, models=args.model):
                pool.submit(process, job)
        except cellhub.Error as error:
            sys.exit(f"worker stopped: {error}")


if __name__ == "__main__":
    main()
