"""What the Python client's façade costs over grpcio's raw generated stubs, on the same server,
the same calls, in the same run (Tests/Scripts/bench-python-client.sh starts the server).

    bench_client.py ADDRESS TOKEN [--calls N] [--changes N] [--rounds N]

unary   GetProjectStats (a cached counters row: the call is mostly client and wire), N calls
        in a row per round: raw `StatsServiceStub.GetProjectStats` vs `client.stats.get_project_stats`.
watch   a replay of N project changes (WatchProject resumed from before them, read through
        CAUGHT_UP): raw `StatsServiceStub.WatchProject` vs the resuming `client.stats.watch_project`.
Rounds alternate raw and façade so that drift on a shared machine hits both; the figure is
the median over rounds, the ratio façade / raw of the medians.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Clients" / "python"))
import cellhub  # noqa: E402
from cellhub.v1 import common_pb2, stats_service_pb2, stats_service_pb2_grpc  # noqa: E402

OPTIONS = [("grpc.enable_http_proxy", 0)]


def unary_round(call, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls * 1e6  # µs per call


def replay_round(events, expected: int) -> float:
    started = time.perf_counter()
    count = 0
    for event in events:
        if event.WhichOneof("payload") == "caught_up":
            break
        count += 1
    elapsed = time.perf_counter() - started
    assert count >= expected, f"replayed {count} events, expected {expected}"
    return count / elapsed  # events per second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("address")
    parser.add_argument("token")
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--changes", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    metadata = (("authorization", f"Bearer {args.token}"),)
    with cellhub.Client(args.address, token=args.token, options=OPTIONS) as client, \
            grpc.insecure_channel(args.address, options=OPTIONS) as channel:
        stub = stats_service_pb2_grpc.StatsServiceStub(channel)
        project = client.projects.create_project(name=f"bench-{time.time_ns()}").project
        start = client.stats.get_project_stats(project_id=project.id)
        position = common_pb2.StreamPosition(epoch=start.epoch, revision=start.stats.revision)
        for number in range(args.changes):  # each rename is one change: one PROJECT_UPDATED to replay
            client.projects.update_project(project_id=project.id, project_description=f"change {number}")

        # Both build the request per call, as an application does.
        raw_unary = lambda: stub.GetProjectStats(  # noqa: E731
            stats_service_pb2.GetProjectStatsRequest(project_id=project.id), metadata=metadata, timeout=30)
        facade_unary = lambda: client.stats.get_project_stats(project_id=project.id)  # noqa: E731
        watch_request = stats_service_pb2.WatchProjectRequest(project_id=project.id, resume_from=position)

        def raw_watch():
            call = stub.WatchProject(watch_request, metadata=metadata)
            try:
                yield from call
            finally:
                call.cancel()

        def facade_watch():
            return client.stats.watch_project(project.id, resume_from=position)

        for call in (raw_unary, facade_unary):  # warm both paths (channels, caches)
            unary_round(call, 200)
        results: dict[str, list[float]] = {"unary raw": [], "unary façade": [], "watch raw": [], "watch façade": []}
        for _ in range(args.rounds):
            results["unary raw"].append(unary_round(raw_unary, args.calls))
            results["unary façade"].append(unary_round(facade_unary, args.calls))
            results["watch raw"].append(replay_round(raw_watch(), args.changes))
            results["watch façade"].append(replay_round(facade_watch(), args.changes))

    median = {name: statistics.median(values) for name, values in results.items()}
    print(f"{'':14} {'median':>12} {'min':>10} {'max':>10}   ({args.rounds} rounds)")
    for name, values in results.items():
        unit = "µs/call" if name.startswith("unary") else "events/s"
        print(f"{name:14} {median[name]:>12,.1f} {min(values):>10,.1f} {max(values):>10,.1f}   {unit}")
    unary_cost = median["unary façade"] / median["unary raw"] - 1
    watch_cost = median["watch raw"] / median["watch façade"] - 1
    print(f"façade cost: unary {unary_cost:+.1%} per call, watch {watch_cost:+.1%} per event (goal: <= 10 %)")


if __name__ == "__main__":
    main()
