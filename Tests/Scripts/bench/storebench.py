#!/usr/bin/env python3
"""Helpers for Tests/Scripts/bench-store.sh (request bodies and the grpcio check).

Subcommands:
  bodies OUTDIR --project ID --time-zone ZONE
      Writes OUTDIR/{stats,dashboard,health}-request.bin: one gRPC frame each (flag 0, 4-byte
      big-endian length, serialized request) for GetProjectStats(project_id), GetDashboardMetrics
      (time_zone) and grpc.health.v1.Health/Check (service "").
  check HOST:PORT --token TOKEN --project ID --time-zone ZONE
      Calls the three with grpcio (the token on the CellHub calls), asserts status OK and that
      the stats and dashboard are not empty, and prints the DATA bytes of each response as shell
      assignments (stats_data_bytes=N ...) for the nghttp check of h2load's exact bodies.
"""
import argparse
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "Clients", "python"))

from cellhub.v1 import stats_service_pb2, stats_service_pb2_grpc  # noqa: E402


def frame(payload: bytes) -> bytes:
    return struct.pack(">BI", 0, len(payload)) + payload


def requests(a):
    from grpc_health.v1 import health_pb2
    return (stats_service_pb2.GetProjectStatsRequest(project_id=a.project),
            stats_service_pb2.GetDashboardMetricsRequest(time_zone=a.time_zone),
            health_pb2.HealthCheckRequest(service=""))


def cmd_bodies(a):
    stats, dashboard, health = requests(a)
    os.makedirs(a.outdir, exist_ok=True)
    for name, message in (("stats", stats), ("dashboard", dashboard), ("health", health)):
        with open(os.path.join(a.outdir, f"{name}-request.bin"), "wb") as f:
            f.write(frame(message.SerializeToString()))


def cmd_check(a):
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    stats_req, dash_req, health_req = requests(a)
    auth = (("authorization", f"Bearer {a.token}"),)
    with grpc.insecure_channel(a.target) as channel:
        service = stats_service_pb2_grpc.StatsServiceStub(channel)
        stats = service.GetProjectStats(stats_req, metadata=auth, timeout=30)
        dashboard = service.GetDashboardMetrics(dash_req, metadata=auth, timeout=30)
        health = health_pb2_grpc.HealthStub(channel).Check(health_req, timeout=30)
    if stats.stats.image_count <= 0 or dashboard.metrics.total_projects <= 0:
        sys.exit(f"grpcio check: empty figures (stats {stats.stats.image_count} images, "
                 f"dashboard {dashboard.metrics.total_projects} projects): is the data directory seeded?")
    if health.status != health_pb2.HealthCheckResponse.SERVING:
        sys.exit(f"grpcio check: health status {health.status}")
    print(f"echo 'grpcio ok: project {stats.stats.image_count} images; dashboard {dashboard.metrics.total_projects} "
          f"projects, {dashboard.metrics.total_images} images; health SERVING' >&2")
    for name, message in (("stats", stats), ("dashboard", dashboard), ("health", health)):
        print(f"{name}_data_bytes={len(message.SerializeToString()) + 5}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bodies")
    b.add_argument("outdir")
    c = sub.add_parser("check")
    c.add_argument("target")
    c.add_argument("--token", required=True)
    for p in (b, c):
        p.add_argument("--project", required=True)
        p.add_argument("--time-zone", default="Europe/Berlin")
    a = parser.parse_args()
    {"bodies": cmd_bodies, "check": cmd_check}[a.command](a)


if __name__ == "__main__":
    main()
