#!/usr/bin/env bash
# Runs the interop (unary and streaming requests), reflection, health, TLS, image, activity and stream tests
# against cellhubd under valgrind (memcheck,
# on a `strip --strip-debug` copy of the release binary: valgrind cannot read Swift 6.3's
# debug info) and fails unless no byte is definitely lost once the server has drained.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build -c release --product cellhubd >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
strip --strip-debug -o "$work/cellhubd" .build/release/cellhubd
# --trace-children=no: only the server; the log names the pid so every run is kept.
export CELLHUB_SERVER_CMD="valgrind --leak-check=full --log-file=$work/valgrind.%p.log $work/cellhubd"
# Everything runs ~30x slower under valgrind: allow a slow start. (The stream tests that time
# heartbeats and a revocation's 1 s bound are left out: valgrind's pace, not the server's; so is
# the TLS RSS bound, which measures valgrind's own memory there.)
export CELLHUB_STARTUP_TIMEOUT=120
# Admin commands (users add) run the stripped binary directly.
export CELLHUB_CELLHUBD=$work/cellhubd
.venv/bin/python -m pytest -q Tests/Python/test_interop.py Tests/Python/test_interop_streaming.py \
  Tests/Python/test_reflection.py Tests/Python/test_health.py Tests/Python/test_tls.py \
  Tests/Python/test_api_images.py Tests/Python/test_api_activity.py Tests/Python/test_streams.py \
  -k "not progress and not revoked_token and not rss_stays_bounded" "$@"
status=0
for log in "$work"/valgrind.*.log; do
  summary=$(grep -E "definitely lost|ERROR SUMMARY|All heap blocks" "$log" | sed 's/^==[0-9]*== *//')
  echo "$(basename "$log"): $summary"
  lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d ,)
  if [[ -z $lost ]] && ! grep -q "All heap blocks were freed" "$log"; then
    echo "FAIL: no leak summary (the server did not exit cleanly?)" >&2; status=1
  elif [[ -n $lost && $lost != 0 ]]; then
    echo "FAIL: $lost bytes definitely lost" >&2
    grep -A15 "definitely lost in loss record" "$log" >&2
    status=1
  fi
done
exit $status
