#!/usr/bin/env bash
# Runs every test: the Swift suites (unit, property, cross-language, client/server), a
# minute of each fuzzer, then the Python conformance suite (stock grpcio and raw HTTP/2
# peers, the Python client package) and the Go client's tests against a release cellhubd.
# Assumes Tests/Scripts/setup.sh ran.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build --build-tests
swift test --skip-build
# libFuzzer + ASan: each fuzzer replays its corpus, then runs 60 s (both at once, one per core).
Tests/Scripts/fuzz.sh 60
# The conformance suite drives 100,000-message streams and 1,000 concurrent calls: it runs
# against the optimised build, as users will.
# (cellhub-segment: the segmenter's cross-check against scikit-image; cellhub: the CLI's tests.)
swift build -c release --product cellhubd
swift build -c release --product cellhub-segment
swift build -c release --product cellhub
CELLHUB_CELLHUBD="$root/.build/release/cellhubd" CELLHUB_SEGMENT="$root/.build/release/cellhub-segment" \
  CELLHUB_CLI="$root/.build/release/cellhub" .venv/bin/python -m pytest -q Tests/Python
# The Go client (built offline from Debian's Go packages) against the same server binary.
CELLHUB_CELLHUBD="$root/.build/release/cellhubd" Clients/go/test.sh
