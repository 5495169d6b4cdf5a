#!/usr/bin/env bash
# Runs every test: the Swift suites (unit, property, cross-language with Python), then the
# Python suites under Tests/Python (when any exist). Assumes Tests/Scripts/setup.sh ran.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build --build-tests
swift test --skip-build
if compgen -G "Tests/Python/test_*.py" >/dev/null; then
  .venv/bin/python -m pytest -q Tests/Python
fi
