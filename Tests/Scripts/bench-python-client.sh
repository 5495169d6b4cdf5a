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
source Tests/Scripts/bench/one-server.sh
echo "python $(.venv/bin/python -c 'import sys, grpc, google.protobuf as p; print(sys.version.split()[0], "grpcio", grpc.__version__, "protobuf", p.__version__)')"
taskset -c 0 .venv/bin/python Tests/Python/bench_client.py "$address" "$token" "$@"
