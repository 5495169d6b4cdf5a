#!/usr/bin/env bash
# 10,000 encode/decode cycles of the largest benchmarked messages (and raw protobuf-c on the
# same bytes) under valgrind; fails unless no byte is definitely lost. valgrind cannot read
# Swift 6.3's debug info, so it runs a `strip --strip-debug` copy of the release binary.
#
# memcheck also reports "uninitialised value" reads inside Swift's value witnesses of
# messages with a oneof (multi-payload enums); --track-origins shows they come from the
# padding of Swift stack slots, not from C or arena memory. They are counted, not fatal.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product cellhub-proto-bench >&2
bin=$(swift build -c release --show-bin-path)/cellhub-proto-bench
stripped=$(mktemp)
trap 'rm -f "$stripped" "$stripped.log"' EXIT
strip --strip-debug -o "$stripped" "$bin"
valgrind --leak-check=full --log-file="$stripped.log" "$stripped" --iterations 10000 --rounds 1
grep -E "definitely lost|indirectly lost|All heap blocks|ERROR SUMMARY" "$stripped.log" | sed 's/^==[0-9]*== //'
lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$stripped.log" | tr -d ,)
if [[ -n $lost && $lost != 0 ]]; then
  echo "FAIL: $lost bytes definitely lost" >&2
  grep -A12 "definitely lost in loss record" "$stripped.log" >&2
  exit 1
fi
echo "OK: 0 bytes definitely lost"
