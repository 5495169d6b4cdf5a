#!/usr/bin/env bash
# Python client benchmark: the cellhub package's façade vs grpcio's raw generated stubs, same
# server, same calls, same run (Tests/Python/bench_client.py says what is measured).
# Server: release cellhubd --workers 0 pinned to core 1, fresh data directory; the client
# (one Python process, both variants alternating by round) pinned to core 0.
#
# Usage: Tests/Scripts/bench-python-client.sh [--no-build] [bench_client.py options: --calls N --changes N --rounds N]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=1
if [[ ${1:-} == --no-build ]]; then build=0; shift; fi
((build)) && swift build -c release --product cellhubd >&2
work=$(mktemp -d "${TMPDIR:-/tmp}/cellhub-bench-python.XXXXXX")
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
token=$(.build/release/cellhubd users add bench --data-dir "$work/data" 2>/dev/null)
taskset -c 1 .build/release/cellhubd serve --host 127.0.0.1 --port 0 --data-dir "$work/data" --workers 0 \
  >"$work/stdout" 2>"$work/stderr" &
server=$!
for _ in $(seq 100); do grep -q listening "$work/stdout" 2>/dev/null && break; sleep 0.1; done
address=$(sed -n 's/^listening on //p' "$work/stdout")
[[ -n $address ]] || { cat "$work/stderr" >&2; exit 1; }
echo "python $(.venv/bin/python -c 'import sys, grpc, google.protobuf as p; print(sys.version.split()[0], "grpcio", grpc.__version__, "protobuf", p.__version__)')"
taskset -c 0 .venv/bin/python Tests/Python/bench_client.py "$address" "$token" "$@"
