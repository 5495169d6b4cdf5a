#!/usr/bin/env bash
# CLI benchmark: `cellhub images upload` against a Python grpcio script doing the same upload,
# and `cellhub watch project -o json` during a burst of uploads (Tests/Python/bench_cli.py says
# what is measured). Server: release cellhubd --workers 0 on core 1, fresh data directory;
# the CLI and the Python baseline on core 0, one after the other.
#
# Usage: Tests/Scripts/bench-cli.sh [--no-build] [bench_cli.py options: --images N --burst N --rounds N]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=1
if [[ ${1:-} == --no-build ]]; then build=0; shift; fi
if ((build)); then
  swift build -c release --product cellhubd >&2
  swift build -c release --product cellhub >&2
fi
source Tests/Scripts/bench/one-server.sh
taskset -c 0 .venv/bin/python Tests/Python/bench_cli.py "$root/.build/release/cellhub" "$address" "$token" "$@"
