"""Follow a CellHub dashboard (or one project) live, as the server pushes it.

    python Clients/python/examples/watch.py --server 127.0.0.1:50051 --token-file cellhub-data/admin.token
    python Clients/python/examples/watch.py ... --project PROJECT_ID

Prints one line per event. Reconnects with jittered backoff and resumes from the last
(epoch, revision, sequence) it applied, so a server restart loses nothing; stops on a status that
says not to resume (NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cellhub.v1 import common_pb2, stats_service_pb2, stats_service_pb2_grpc  # noqa: E402

FINAL = {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED,
         grpc.StatusCode.INVALID_ARGUMENT}


def describe(event) -> str:
    kind = event.WhichOneof("payload")
    body = getattr(event, kind)
    if kind == "snapshot" and event.DESCRIPTOR.name == "DashboardEvent":
        m = body.metrics
        return f"dashboard: {m.total_images} images, {m.segmented_images} segmented, queue {m.queue_length}"
    if kind == "metrics_update":
        m = body.metrics
        return f"dashboard: {m.total_images} images, {m.segmented_images} segmented ({', '.join(body.changed_fields)})"
    if kind in ("snapshot", "stats_update"):
        stats = body.project.stats if kind == "snapshot" else body.stats
        return f"{kind}: {stats.image_count} images, {stats.segmented_count} segmented, {stats.total_bytes} bytes"
    return kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="127.0.0.1:50051")
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--project", help="watch this project instead of the dashboard")
    parser.add_argument("--time-zone", default="UTC")
    args = parser.parse_args()
    metadata = [("authorization", "Bearer " + Path(args.token_file).read_text().strip())]
    position: common_pb2.StreamPosition | None = None
    backoff = 0.1
    with grpc.insecure_channel(args.server) as channel:
        stub = stats_service_pb2_grpc.StatsServiceStub(channel)
        while True:
            try:
                if args.project:
                    stream = stub.WatchProject(stats_service_pb2.WatchProjectRequest(
                        project_id=args.project, resume_from=position), metadata=metadata)
                else:
                    stream = stub.WatchDashboard(stats_service_pb2.WatchDashboardRequest(
                        time_zone=args.time_zone, resume_from=position), metadata=metadata)
                for event in stream:
                    backoff = 0.1
                    position = common_pb2.StreamPosition(
                        epoch=event.epoch, revision=event.revision, sequence=getattr(event, "sequence", 0))
                    print(f"[{event.revision}] {describe(event)}", flush=True)
            except grpc.RpcError as error:
                if error.code() in FINAL:
                    sys.exit(f"stream ended: {error.code().name}: {error.details()}")
                print(f"({error.code().name}: {error.details()}; resuming)", file=sys.stderr, flush=True)
            time.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, 10)


if __name__ == "__main__":
    main()
