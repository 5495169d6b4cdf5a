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
work=$(mktemp -d "${TMPDIR:-/tmp}/cellhub-bench-cli.XXXXXX")
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
token=$(.build/release/cellhubd users add bench --data-dir "$work/data" 2>/dev/null)
taskset -c 1 .build/release/cellhubd serve --host 127.0.0.1 --port 0 --data-dir "$work/data" --workers 0 \
  >"$work/stdout" 2>"$work/stderr" &
server=$!
for _ in $(seq 100); do grep -q listening "$work/stdout" 2>/dev/null && break; sleep 0.1; done
address=$(sed -n 's/^listening on //p' "$work/stdout")
[[ -n $address ]] || { cat "$work/stderr" >&2; exit 1; }
taskset -c 0 .venv/bin/python Tests/Python/bench_cli.py "$root/.build/release/cellhub" "$address" "$token" "$@"
