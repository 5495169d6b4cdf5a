#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer and AddressSanitizer (both ship with the Swift
# toolchain; nothing to install from Debian):
#
#   FuzzServerIngress    raw peer bytes into a server connection (ServerHarness): preface,
#                        frames, HPACK, our headers, gRPC framing, budgets, interop + health
#   FuzzRequestDecoders  every request message type's decoder, with a round-trip check
#
#   Tests/Scripts/fuzz.sh [SECONDS]   build, then run each fuzzer SECONDS (default 60) on a
#                                     copy of its corpus (Tests/Fuzz/Corpus/<name>)
#   Tests/Scripts/fuzz.sh --replay    build, then run every committed corpus input once
#
# Builds in .build-fuzz (release, -sanitize=fuzzer,address -DCELLHUB_FUZZ). The fuzzers run
# side by side, one per core. Prints executions per second and coverage (libFuzzer's cov:
# and ft:) per fuzzer; on a crash, prints libFuzzer's report and where the crash input was
# saved, and exits 1. Environment: FUZZERS (default "server-ingress request-decoders"),
# FUZZ_DIR (work directory, kept; default a temporary one, deleted unless a fuzzer crashed),
# FUZZ_ARGS (more libFuzzer flags, e.g. "-jobs=2" or "-seed=1").
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

mode=fuzz
seconds=60
case "${1:-}" in
  "") ;;
  --replay) mode=replay ;;
  *[!0-9]* | 0) echo "usage: $0 [SECONDS | --replay]" >&2; exit 2 ;;
  *) seconds=$1 ;;
esac

declare -A product=([server-ingress]=FuzzServerIngress [request-decoders]=FuzzRequestDecoders)
# libFuzzer checks each input that leaves more mallocs than frees for leaks (a full
# LeakSanitizer scan). A server connection always leaves some (timer heap, buffers kept for
# reuse), so that check would cost 45x the executions: the ingress fuzzer runs without it,
# and every fuzzer's corpus gets a leak pass afterwards (each input once, leaks checked).
declare -A run_flags=([server-ingress]=-detect_leaks=0 [request-decoders]=)
read -r -a fuzzers <<<"${FUZZERS:-server-ingress request-decoders}"
for name in "${fuzzers[@]}"; do
  [[ -n ${product[$name]:-} ]] || { echo "unknown fuzzer '$name' (known: ${!product[*]})" >&2; exit 2; }
done

build=(-c release --scratch-path "$root/.build-fuzz" -Xswiftc -sanitize=fuzzer,address -Xswiftc -DCELLHUB_FUZZ)
build_start=$(date +%s)
for name in "${fuzzers[@]}"; do
  log=$(mktemp)
  # gold warns once per ASan helper symbol ("Cannot export local symbol"): noise, filtered.
  if ! swift build "${build[@]}" --product "${product[$name]}" >"$log" 2>&1; then
    grep -v "Cannot export local symbol" "$log" >&2
    rm -f "$log"
    exit 1
  fi
  grep -v "Cannot export local symbol" "$log" | tail -n 1
  rm -f "$log"
done
bin=$(swift build "${build[@]}" --show-bin-path)
echo "fuzz build: $(($(date +%s) - build_start)) s"

# Crashes are reported by libFuzzer and ASan; Swift's own backtracer would hang at one.
export SWIFT_BACKTRACE=enable=no
symbolizer=$(dirname "$(command -v swift)")/llvm-symbolizer
[[ -x $symbolizer ]] && export ASAN_SYMBOLIZER_PATH=$symbolizer
export LSAN_OPTIONS="suppressions=$root/Tests/Fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# -timeout: one input may take 10 s (a hang is a finding); -rss_limit_mb: so may memory.
limits=(-max_len=65536 -timeout=10 -rss_limit_mb=2048)
read -r -a extra <<<"${FUZZ_ARGS:-}"

if [[ $mode == replay ]]; then
  for name in "${fuzzers[@]}"; do
    inputs=("Tests/Fuzz/Corpus/$name"/*)
    log=$(mktemp)
    if ! "$bin/${product[$name]}" "${limits[@]}" "${extra[@]}" "${inputs[@]}" >"$log" 2>&1; then
      tail -n 80 "$log" >&2
      echo "FAIL: $name: a corpus input crashed (the last 'Running:' line above names it)" >&2
      exit 1
    fi
    rm -f "$log"
    echo "$name: ${#inputs[@]} corpus inputs replayed, none crashed"
  done
  exit 0
fi

if [[ -n ${FUZZ_DIR:-} ]]; then
  work=$FUZZ_DIR
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/cellhub-fuzz.XXXXXX")
fi
declare -A pid
for name in "${fuzzers[@]}"; do
  dir=$work/$name
  mkdir -p "$dir/corpus" "$dir/crashes"
  cp "Tests/Fuzz/Corpus/$name"/* "$dir/corpus/"
  args=(-max_total_time="$seconds" "${limits[@]}" ${run_flags[$name]} -print_final_stats=1 -artifact_prefix="$dir/crashes/")
  [[ -f Tests/Fuzz/$name.dict ]] && args+=(-dict="Tests/Fuzz/$name.dict")
  "$bin/${product[$name]}" "${args[@]}" "${extra[@]}" "$dir/corpus" >"$dir/log" 2>&1 &
  pid[$name]=$!
done
echo "fuzzing ${fuzzers[*]} for $seconds s each (work directory: $work)"

failed=0
for name in "${fuzzers[@]}"; do
  dir=$work/$name
  status=0
  wait "${pid[$name]}" || status=$?
  if [[ $status == 0 ]]; then
    # The leak pass: every input of the grown corpus once, leak-checked (-runs=0 runs the
    # corpus and stops).
    "$bin/${product[$name]}" -runs=0 -detect_leaks=1 "${limits[@]}" -artifact_prefix="$dir/crashes/" "$dir/corpus" \
      >"$dir/leak-pass.log" 2>&1 || { status=$?; cat "$dir/leak-pass.log" >>"$dir/log"; }
  fi
  final_stat() { sed -n "s/^stat::$1: *//p" "$dir/log" | tail -n 1; }
  last=$(grep -E '^#[0-9]+' "$dir/log" | tail -n 1 || true)
  cov=$(sed -n 's/.* \(cov: [0-9]* ft: [0-9]*\).*/\1/p' <<<"$last")
  echo "$name: $(final_stat number_of_executed_units) runs, $(final_stat average_exec_per_sec) exec/s, ${cov:-cov: ?}," \
    "corpus $(find "Tests/Fuzz/Corpus/$name" -type f | wc -l) -> $(find "$dir/corpus" -type f | wc -l) inputs," \
    "peak RSS $(final_stat peak_rss_mb) MB"
  if [[ $status != 0 ]]; then
    failed=1
    echo "---- $name crashed (exit $status); libFuzzer's report:" >&2
    grep -v '^#[0-9]' "$dir/log" | tail -n 100 >&2
    for input in "$dir/crashes"/*; do
      [[ -e $input ]] || continue
      echo "crash input: $input" >&2
      # CI machines are thrown away: put small inputs into the log itself.
      if (($(wc -c <"$input") <= 16384)); then
        echo "  base64 (decode with base64 -d): $(base64 -w0 "$input")" >&2
      fi
      echo "  replay with ASan:   $bin/${product[$name]} $input" >&2
      echo "  replay, plain build: swift run --scratch-path .build-fuzzcheck ${product[$name]} $input" >&2
    done
  fi
done
if [[ $failed != 0 ]]; then
  echo "FAIL: a fuzzer crashed; inputs and logs kept in $work" >&2
  exit 1
fi
[[ -n ${FUZZ_DIR:-} ]] || rm -rf "$work"
