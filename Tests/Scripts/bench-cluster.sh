#!/usr/bin/env bash
# Cluster benchmark (issue 15): durable writes and real-time delivery on SQLite one node,
# PostgreSQL one node and PostgreSQL three nodes, in one run, with the measurements that show
# where the write ceiling is. About 4-5 minutes on 2 cores with the defaults; prints a summary
# table at the end (exit status 1 if a subscriber missed a change or a call failed).
#
#   a. writes      UploadImages of 100 × 4 KiB distinct images, back to back for 4 s, 1 and 8
#                  writers (each its own project); calls/s, images/s, call p50/p99. Durable:
#                  SQLite fsyncs each commit (the server's default), PostgreSQL runs with fsync
#                  and synchronous_commit on; image files are fsynced before each commit. On
#                  three nodes writer c calls node c mod 3 directly (no nginx). Then the same
#                  with files already stored (each writer resends its first call's images: new
#                  rows, no file written): the database path alone.
#   b. delivery    one WatchProject subscriber on node 0; 200 uploads of one small image via
#                  node 0 and 200 via node 1, interleaved, 25 ms apart: upload call start →
#                  event, p50/p99 per path (same node vs commit on B → event on A).
#   c. fan-out     10,000 WatchProject subscribers over 100 connections, on node 0 alone, then
#                  ~3,334 on each of the three nodes (upload via node 1; also per node: node 1
#                  wakes on its own commit, nodes 0 and 2 on NOTIFY); 5 uploads per run, runs
#                  alternating, medians.
#   d. ceiling     pgbench on the same PostgreSQL: the write's lock + log_head bump + NOTIFY +
#                  commit with 1 and 8 clients, with synchronous_commit off, without NOTIFY, and
#                  with a 100-image upload's rows inside the lock, as 200 single-row INSERTs
#                  (the shape before uploads batched them) and as two multi-row INSERTs (what
#                  an upload sends now); 1 vs 8 writers of
#                  (a); PostgreSQL's wait events sampled every 2 ms during the 8-writer runs
#                  (how long the log_head row is held, and for what); one upload's 100 image
#                  files written and fsynced on the same disk.
#
# Usage: Tests/Scripts/bench-cluster.sh [--no-build] [--build-path DIR] [options of bench_cluster.py]
#   --no-build          use the release binaries already in the build path
#   --build-path DIR    SwiftPM scratch path (default .build)
#   --clients 1,8  --write-seconds 4  --images 100  --image-bytes 4096  --samples 200
#   --spacing-ms 25  --streams 10000  --connections 100  --fanout-rounds 2  --pgbench-seconds 2
#   --pgbench-rounds 3
#   --workdir DIR       logs and pgbench scripts (default: a new temporary directory)
# The work is done by Tests/Python/bench_cluster.py (cluster_support's LocalCluster, the
# cluster tests' code) driving cellhub-stream-bench (writes, delivery, fanout --targets).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=1 build_path=$root/.build
args=()
while (($#)); do
  case $1 in
    --no-build) build=0; shift ;;
    --build-path) build_path=$(cd "$root" && mkdir -p "${2:?}" && cd "$2" && pwd); shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
python=$root/.venv/bin/python
[[ -x $python ]] || python=python3
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || { echo "bench-cluster: nginx is missing: Tests/Scripts/setup.sh installs it" >&2; exit 1; }
[[ -x /usr/lib/postgresql/15/bin/pgbench ]] || { echo "bench-cluster: PostgreSQL 15 (postgres, pgbench) is missing: Tests/Scripts/setup.sh installs it" >&2; exit 1; }
# 10,000 streams: each side holds a socket per connection; raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if ((build)); then
  for product in cellhubd cellhub-stream-bench; do
    echo "bench-cluster: swift build -c release --scratch-path $build_path --product $product" >&2
    (cd "$root" && swift build -c release --scratch-path "$build_path" --product "$product" >&2)
  done
fi
export CELLHUB_CELLHUBD=$build_path/release/cellhubd CELLHUB_STREAM_BENCH=$build_path/release/cellhub-stream-bench
cd "$root/Tests/Python"
exec "$python" bench_cluster.py "${args[@]}"
