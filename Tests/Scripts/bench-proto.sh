#!/usr/bin/env bash
# Swift message layer vs raw libprotobuf-c on the same messages, same run, release build.
# Usage: Tests/Scripts/bench-proto.sh [--iterations N] [--rounds R]
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product cellhub-proto-bench >&2
bin=$(swift build -c release --show-bin-path)/cellhub-proto-bench
# Pin to one core when possible: less migration noise on a shared 2-core machine.
if command -v taskset >/dev/null; then exec taskset -c 1 "$bin" "$@"; else exec "$bin" "$@"; fi
