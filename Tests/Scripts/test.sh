#!/usr/bin/env bash
# Runs every test: the Swift suites (unit, property, cross-language, client/server), then
# the Python conformance suite (stock grpcio and raw HTTP/2 peers) against a release
# cellhubd. Assumes Tests/Scripts/setup.sh ran.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build --build-tests
swift test --skip-build
# The conformance suite drives 100,000-message streams and 1,000 concurrent calls: it runs
# against the optimised build, as users will.
swift build -c release --product cellhubd
CELLHUB_CELLHUBD="$root/.build/release/cellhubd" .venv/bin/python -m pytest -q Tests/Python
