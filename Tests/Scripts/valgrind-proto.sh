#!/usr/bin/env bash
# 10,000 encode/decode cycles of the largest benchmarked messages (and raw protobuf-c on the
# same bytes) under valgrind; fails unless no byte is definitely lost. valgrind cannot read
# Swift 6.3's debug info, so it runs a `strip --strip-debug` copy of the release binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product cellhub-proto-bench >&2
bin=$(swift build -c release --show-bin-path)/cellhub-proto-bench
stripped=$(mktemp)
trap 'rm -f "$stripped" "$stripped.log"' EXIT
strip --strip-debug -o "$stripped" "$bin"
valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=3 --log-file="$stripped.log" \
  "$stripped" --iterations 10000 --rounds 1
grep -E "definitely lost|ERROR SUMMARY" "$stripped.log"
grep -q "definitely lost: 0 bytes" "$stripped.log" || ! grep -q "definitely lost" "$stripped.log"
