#!/usr/bin/env bash
# Store and stats benchmark: CellHub with 10,000 projects and 1,000,000 images, seeded through
# the domain API (identical 4 KiB images share one file), measured two ways in one run:
#   1. in process (server time, durable commits) with cellhub-store-bench measure: upload batches
#      of 100 (unique and identical content), GetProjectStats, and the dashboard of a user who sees
#      1,000 projects, each next to its plain-C floor (files + one SQLite transaction; recounting
#      from the images rows) — ratios are CellHub time / floor time, from the same run;
#   2. over gRPC: cellhubd serve on the seeded directory (pinned to core 1), h2load on core 0:
#      GetProjectStats and GetDashboardMetrics with the user's bearer token, at load (-c 16 -m 32)
#      and one call at a time (-c 1 -m 1, p50/p99 from h2load's per-request log), and the server's
#      CPU per call, next to grpc.health.v1 Check on the same server (the transport floor, no
#      auth, no store).
# Before loading, each request body h2load sends is checked with nghttp (grpc-status 0, exact
# DATA bytes): h2load counts any HTTP 200 as a success, and a bad token answers 200 too.
#
# Usage: Tests/Scripts/bench-store.sh [--seconds N] [--quick] [--no-build] [--workdir DIR]
#          [--projects N] [--images N] [--heavy N] [--cellhubd PATH]
#   --seconds N   duration of each h2load run (default 5)
#   --quick       smoke run: 500 projects, a user with 100, 1-second runs, fewer in-process calls
#   --no-build    use the existing release binaries
#   --workdir DIR seeded data (kept and reused: seeding 1,000,000 images takes minutes), logs
#                 (default: $TMPDIR/cellhub-bench-store)
#   --cellhubd P  the server binary measured over gRPC (default: the release build; for A/B runs)
#   --rounds N    over gRPC, N rounds of Check, GetProjectStats, GetDashboardMetrics in turn;
#                 medians (default 1)
#   --grpc-only   skip the in-process measurements (seeding still runs once)
#   --no-callgrind skip the instruction counts: after the timed runs, the same server under
#                 valgrind --tool=callgrind counts instructions per call (every thread; 20,000
#                 calls after 5,000 to warm up) for Check, Check sent with the same
#                 authorization header, GetProjectStats and GetDashboardMetrics: the
#                 comparison with Check that the machine's noise cannot move
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/Tests/Scripts

seconds=5 quick=0 build=1 projects=10000 images=100 heavy=1000 cellhubd_override= rounds=1 grpc_only=0 callgrind=1
workdir=${TMPDIR:-/tmp}/cellhub-bench-store
zone=Europe/Berlin
die() { echo "bench-store: $*" >&2; exit 1; }
while (($#)); do
  case $1 in
    --seconds) seconds=${2:?}; shift 2 ;;
    --quick) quick=1; shift ;;
    --no-build) build=0; shift ;;
    --workdir) workdir=${2:?}; shift 2 ;;
    --projects) projects=${2:?}; shift 2 ;;
    --images) images=${2:?}; shift 2 ;;
    --heavy) heavy=${2:?}; shift 2 ;;
    --cellhubd) cellhubd_override=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --grpc-only) grpc_only=1; shift ;;
    --no-callgrind) callgrind=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
measure_args=()
if ((quick)); then
  projects=500 heavy=100 seconds=1
  measure_args=(--batches 6 --stats-calls 3000 --dashboard-calls 300)
fi

# --- tools ---------------------------------------------------------------------------------
if ! command -v h2load >/dev/null || ! command -v nghttp >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "bench-store: installing Debian's nghttp2-client (h2load, nghttp)" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client >&2 ||
      die "could not install nghttp2-client"
  fi
  command -v h2load >/dev/null && command -v nghttp >/dev/null || die "h2load and nghttp are needed: apt-get install nghttp2-client"
fi
(($(nproc) >= 2)) || die "needs 2 cores (server on core 1, h2load on core 0)"
py=$root/.venv/bin/python
[[ -x $py ]] || die "no $py: run Tests/Scripts/setup.sh"
if ((build)); then
  echo "bench-store: swift build -c release (cellhubd, cellhub-store-bench)" >&2
  (cd "$root" && swift build -c release --product cellhubd >&2 && swift build -c release --product cellhub-store-bench >&2) ||
    die "release build failed"
fi
cellhubd=${cellhubd_override:-$root/.build/release/cellhubd} bench=$root/.build/release/cellhub-store-bench
[[ -x $cellhubd && -x $bench ]] || die "release binaries missing (run without --no-build)"

# --- seed (once per shape) and measure in process --------------------------------------------
data=$workdir/data-p$projects-i$images-h$heavy
logs=$workdir/logs
mkdir -p "$logs"
"$bench" seed "$data" --projects "$projects" --images "$images" --heavy "$heavy" || die "seeding failed"
if ((!grpc_only)); then
  echo >&2
  echo "== in process ($data)" >&2
  "$bench" measure "$data" "${measure_args[@]}" | tee "$logs/in-process.txt" || die "cellhub-store-bench measure failed"
fi
token=$(cat "$data/heavy.token") project=$(cat "$data/heavy.project")

# --- over gRPC ------------------------------------------------------------------------------
"$py" "$here/bench/storebench.py" bodies "$workdir" --project "$project" --time-zone "$zone" || die "cannot write request bodies"
# No built-in worker: the seeded queue holds 100,000+ jobs, and segmenting them (fsyncs
# included) on the server's core would be measured along with every call.
taskset -c 1 "$cellhubd" serve --host 127.0.0.1 --port 0 --loops 1 --workers 0 --data-dir "$data" \
  >"$logs/cellhubd.out" 2>"$logs/cellhubd.err" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  grep -q '^listening on ' "$logs/cellhubd.out" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$logs/cellhubd.err" >&2; die "cellhubd exited at startup"; }
  sleep 0.1
done
[[ $(head -1 "$logs/cellhubd.out") =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || die "cellhubd did not print its port"
port=${BASH_REMATCH[1]}
eval "$("$py" "$here/bench/storebench.py" check "127.0.0.1:$port" --token "$token" --project "$project" --time-zone "$zone")" ||
  die "the grpcio check failed"

hdrs=(-H 'content-type: application/grpc' -H 'te: trailers')
auth=(-H "authorization: Bearer $token")
declare -A paths=([stats]=/cellhub.v1.StatsService/GetProjectStats [dashboard]=/cellhub.v1.StatsService/GetDashboardMetrics
  [health]=/grpc.health.v1.Health/Check)
declare -A expect=([stats]=$stats_data_bytes [dashboard]=$dashboard_data_bytes [health]=$health_data_bytes)
tool() { "$py" "$here/bench/benchtool.py" "$@"; }
source "$here/bench/cpu.sh"  # cpu_ticks PID
hz=$(getconf CLK_TCK)
declare -A rps_of p50_of p99_of cpu_of
for ((round = 1; round <= rounds; round++)); do
  for call in health stats dashboard; do
    extra=(); [[ $call == health ]] || extra=("${auth[@]}")
    url=http://127.0.0.1:$port${paths[$call]} body=$workdir/$call-request.bin
    timeout 30 nghttp -v -n "${hdrs[@]}" "${extra[@]}" -d "$body" "$url" >"$logs/$call.nghttp.txt" 2>&1 || true
    # The dashboard's throughput and "today" figures move with the clock (a zero is omitted).
    slack=0; [[ $call == dashboard ]] && slack=16
    tool nghttp-check "$logs/$call.nghttp.txt" --expect-data-bytes "${expect[$call]}" --slack $slack | sed "s/^/  $call: /" >&2 ||
      die "$call with h2load's body is wrong"
    out=$logs/$call.load.txt
    t0=$(cpu_ticks $pid)
    timeout $((seconds * 6 + 60)) taskset -c 0 h2load -c 16 -m 32 -t 1 -D "$seconds" "${hdrs[@]}" "${extra[@]}" -d "$body" "$url" >"$out" 2>&1 ||
      die "h2load ($call, load) failed; see $out"
    t1=$(cpu_ticks $pid)
    read -r ok rps _ bad non2xx < <(tool h2load-summary "$out")
    # Server CPU per call: what a call costs, whichever side (h2load or the server) limits req/s.
    cpu=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$ok" 'BEGIN { printf "%.2f", n ? d / hz / n * 1e6 : 0 }')
    ((bad == 0 && non2xx == 0 && ok > 0)) || die "$call under load: $ok ok, $bad failed, $non2xx non-2xx (see $out)"
    rm -f "$logs/$call.latency.log"
    timeout $((seconds * 6 + 60)) taskset -c 0 h2load -c 1 -m 1 -t 1 -D "$seconds" --log-file "$logs/$call.latency.log" \
      "${hdrs[@]}" "${extra[@]}" -d "$body" "$url" >"$logs/$call.latency.txt" 2>&1 || die "h2load ($call, latency) failed"
    read -r _ p50 _ p99 _ < <(tool percentiles "$logs/$call.latency.log")
    rps_of[$call]+="$rps " p50_of[$call]+="$p50 " p99_of[$call]+="$p99 " cpu_of[$call]+="$cpu "
    echo "  round $round: $call $rps req/s ($cpu µs server CPU/call), p50 $p50 µs, p99 $p99 µs" >&2
    kill -0 $pid 2>/dev/null || die "cellhubd exited during the $call runs"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
results=()
for call in health stats dashboard; do
  results+=("$call $(median <<<"${rps_of[$call]}") $(median <<<"${p50_of[$call]}") $(median <<<"${p99_of[$call]}") $(median <<<"${cpu_of[$call]}")")
done

echo
echo "== over gRPC: cellhubd --loops 1 on core 1, h2load on core 0, $seconds s per run, medians of $rounds round(s)"
printf '%-40s %14s %10s %10s %16s %14s %16s\n' call "req/s c16 m32" "p50 c1m1" "p99 c1m1" "vs health req/s" "CPU µs/call" "health CPU / it"
read -r _ health_rps _ _ health_cpu <<<"${results[0]}"
for row in "${results[@]}"; do
  read -r call rps p50 p99 cpu <<<"$row"
  ratio=$(awk -v a="$rps" -v b="$health_rps" 'BEGIN { printf "%.2f", a / b }')
  cpu_ratio=$(awk -v a="$health_cpu" -v b="$cpu" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
  printf '%-40s %14.0f %8s µs %8s µs %15s× %14s %15s×\n' "${paths[$call]}" "$rps" "$p50" "$p99" "$ratio" "$cpu" "$cpu_ratio"
done
echo "(CPU: the server's utime+stime over the c16 m32 run divided by its calls; 'health CPU / it' is"
echo " the cost ratio free of which side limits req/s: 1.00× = as cheap as a health Check)"

if ((callgrind)); then
  for tool in valgrind callgrind_control objcopy; do command -v $tool >/dev/null || die "$tool is needed (or --no-callgrind)"; done
  kill -TERM $pid; wait $pid 2>/dev/null || true  # the data directory takes one server at a time
  # valgrind 3.19 cannot read the Swift toolchain's debug info: count a copy without it.
  objcopy --strip-debug "$cellhubd" "$workdir/cellhubd.nodebug"
  valgrind --tool=callgrind --callgrind-out-file="$logs/callgrind.%p" "$workdir/cellhubd.nodebug" serve --host 127.0.0.1 \
    --port 0 --loops 1 --busy-poll-us 0 --workers 0 --data-dir "$data" >"$logs/callgrind.out" 2>"$logs/callgrind.err" &
  pid=$!
  for _ in $(seq 600); do
    grep -q '^listening on ' "$logs/callgrind.out" 2>/dev/null && break
    kill -0 $pid 2>/dev/null || { cat "$logs/callgrind.err" >&2; die "cellhubd under valgrind exited at startup"; }
    sleep 0.2
  done
  [[ $(head -1 "$logs/callgrind.out") =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || die "cellhubd under valgrind did not print its port"
  port=${BASH_REMATCH[1]} calls=20000 dumps=0
  declare -A instructions
  for row in health health+auth stats dashboard; do
    call=${row%+auth} extra=("${auth[@]}"); [[ $row == health ]] && extra=()
    for n in 5000 $calls; do
      timeout 600 h2load -n $n -c 16 -m 32 -t 1 "${hdrs[@]}" "${extra[@]}" -d "$workdir/$call-request.bin" \
        "http://127.0.0.1:$port${paths[$call]}" >"$logs/callgrind-load.txt" 2>&1 && grep -q "$n succeeded" "$logs/callgrind-load.txt" ||
        die "h2load under callgrind ($row): not all $n calls succeeded"
      callgrind_control -d $pid >/dev/null 2>&1; dumps=$((dumps + 1))
    done
    for _ in $(seq 100); do [[ -s $logs/callgrind.$pid.$dumps ]] && grep -q '^summary' "$logs/callgrind.$pid.$dumps" && break; sleep 0.1; done
    instructions[$row]=$(awk -v n=$calls '/^summary/ { printf "%d", $2 / n }' "$logs/callgrind.$pid.$dumps")
  done
  kill -TERM $pid; wait $pid 2>/dev/null || true
  echo
  echo "== instructions per call (callgrind, same store, $calls calls after 5,000 to warm up, every thread)"
  printf '%-76s %10s %18s\n' call "instr/call" "health instr / it"
  for row in health health+auth stats dashboard; do
    call=${row%+auth} label=${paths[${row%+auth}]}; [[ $row == health+auth ]] && label="$label (with the authorization header)"
    printf '%-76s %10d %17.2f×\n' "$label" "${instructions[$row]}" "$(awk -v a="${instructions[health]}" -v b="${instructions[$row]}" 'BEGIN { print a / b }')"
  done
  echo "(h2load's HPACK encoder (nghttp2's) does not index the authorization value: each call carries the token"
  echo " as a Huffman-coded literal that the server's nghttp2 decodes and validates, most of what the header adds)"
fi
echo
echo "seeded: $projects projects x $images images ($data); the dashboard user sees $heavy projects"
