"""Durable writes/s of one cellhubd node on SQLite and on PostgreSQL, in one run.

    CELLHUB_CELLHUBD=.build/release/cellhubd .venv/bin/python Tests/Python/bench_postgres_writes.py [--uploads N] [--clients 1,8] [--no-fsync]

Each write is one UploadImages call of one 4 KiB PNG-headed image (one transaction: image row,
counters, per-user counters, activity entries, outbox row). SQLite fsyncs every commit (the
server's default); PostgreSQL is a temporary cluster with fsync and synchronous_commit on, on
the same disk. N uploads are spread over C concurrent grpcio clients; the figure is uploads
per second over the wall time of all of them, median of three rounds.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from api_support import Client, upload_of  # noqa: E402
from pg_cluster import TemporaryCluster  # noqa: E402

BINARY = Path(os.environ.get("CELLHUB_CELLHUBD", HERE.parents[1] / ".build/release/cellhubd"))
OPTIONS = [("grpc.enable_http_proxy", 0)]


def run(*args: str) -> str:
    result = subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"{args}: {result.stderr}"
    return result.stdout.strip()


def measure(database: list[str], uploads: int, clients: int) -> float:
    data = tempfile.mkdtemp(prefix="cellhub-bench-")
    token = run("users", "add", "bench", "--data-dir", data, *database)
    server = subprocess.Popen([str(BINARY), "serve", "--port", "0", "--workers", "0", "--data-dir", data, *database],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        address = server.stdout.readline().decode().strip().rsplit(" ", 1)[-1]
        rounds = []
        with grpc.insecure_channel(address, options=OPTIONS) as channel:
            client = Client(channel, "bench", token)
            content = b"\x89PNG\r\n\x1a\n" + os.urandom(4096 - 8)
            for round_ in range(3):
                project = client.create_project(f"bench-{round_}-{clients}")
                per_client = uploads // clients

                def upload(n: int):
                    for i in range(per_client):
                        client.upload(project.id, upload_of("image/png", name=f"{n}-{i}.png", content=content))

                threads = [threading.Thread(target=upload, args=(n,)) for n in range(clients)]
                start = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                rounds.append(per_client * clients / (time.perf_counter() - start))
        return statistics.median(rounds)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=400)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--no-fsync", action="store_true", help="PostgreSQL without fsync: what the round trips alone allow")
    args = parser.parse_args()
    cluster = TemporaryCluster(durable=not args.no_fsync)
    try:
        stores = {"SQLite": [], "PostgreSQL": ["--database", cluster.url(cluster.create_database("bench"))]}
        print(f"{'store':<12} {'clients':>7} {'uploads/s':>10}")
        for clients in [int(c) for c in args.clients.split(",")]:
            for name, database in stores.items():
                if name == "PostgreSQL":
                    database = ["--database", cluster.url(cluster.create_database("bench"))]
                print(f"{name:<12} {clients:>7} {measure(database, args.uploads, clients):>10.0f}", flush=True)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
