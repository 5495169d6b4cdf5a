"""Follow a CellHub dashboard (or one project) live, as the server pushes it.

    python Clients/python/examples/watch.py --server 127.0.0.1:50051 --token-file cellhub-data/admin.token
    python Clients/python/examples/watch.py ... --project PROJECT_ID

Prints one line per event. The client reconnects with jittered backoff and resumes from the
last event it handed over, so a server restart loses nothing; the loop ends on a status that
says not to resume (NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED).
"""
from __future__ import annotations

import argparse
import logging
import sys

import cellhub
from cellhub.v1 import events_pb2


def describe(event: events_pb2.ProjectEvent | events_pb2.DashboardEvent) -> str:
    kind = event.WhichOneof("payload") or "?"
    if isinstance(event, events_pb2.DashboardEvent):
        if kind == "snapshot":
            m = event.snapshot.metrics
            return f"dashboard: {m.total_images} images, {m.segmented_images} segmented, queue {m.queue_length}"
        if kind == "metrics_update":
            m = event.metrics_update.metrics
            return f"dashboard: {m.total_images} images, {m.segmented_images} segmented ({', '.join(event.metrics_update.changed_fields)})"
        return kind
    if kind in ("snapshot", "stats_update"):
        stats = event.snapshot.project.stats if kind == "snapshot" else event.stats_update.stats
        return f"{kind}: {stats.image_count} images, {stats.segmented_count} segmented, {stats.total_bytes} bytes"
    return kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="127.0.0.1:50051")
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--project", help="watch this project instead of the dashboard")
    parser.add_argument("--time-zone", default="UTC")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="(%(message)s)")  # the client logs each resume
    with cellhub.Client(args.server, token_file=args.token_file) as client:
        events = (client.stats.watch_project(args.project) if args.project
                  else client.stats.watch_dashboard(time_zone=args.time_zone))
        try:
            for event in events:
                resync = " RESYNC" if cellhub.is_resync(event) else ""
                print(f"[{event.revision}]{resync} {describe(event)}", flush=True)
        except cellhub.Error as error:
            sys.exit(f"stream ended: {error}")


if __name__ == "__main__":
    main()
