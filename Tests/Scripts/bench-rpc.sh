#!/usr/bin/env bash
# gRPC server benchmark: cellhubd vs the grpc-go reference peer and the machine's ceiling (the bare
# C server on libnghttp2 in ../shared/peers/ceiling, canned replies: what any nghttp2-based server
# can reach here), side by side in the same run.
#
# Measures, for each server (pinned to core 1; h2load pinned to core 0), alternating A B C A B C:
#   1. unary throughput      h2load -c 16 -m 32 -D SECS   UnaryCall (response_size 10)
#   2. unary latency          h2load -c 1 -m 1 -D SECS --log-file   -> p50 / p99 from the log
#   3. server streaming       StreamingOutputCall, 1,000 messages of 90 B (95 B framed) per call,
#                             100 concurrent streams in several shapes (-c x -m), -n calibrated to ~SECS
#   4. server CPU per call    /proc/PID/stat utime+stime before and after each run
#   5. instructions per call  callgrind-unary.sh after the rounds: cellhubd and the ceiling under
#                             valgrind (a count the machine's noise does not move), top functions
# Before measuring, each server gets one call of each kind with grpcio and with nghttp (the very
# request bodies h2load sends), asserting grpc-status 0 and the exact response bytes: h2load counts
# any HTTP 200 as a success. The ceiling answers any unary path with its own canned 94-byte reply
# and streams its canned messages on .../Stream (nghttp-checked for grpc-status 0 only). Prints medians and the ratio cellhubd/grpc-go, and the commands used.
# Warns (and repeats the warnings under the table) about failed requests, wrong DATA byte counts,
# cellhubd log errors, a non-zero exit after SIGTERM, and runs during which other processes used
# more than 25% of a core (the machine is shared). A server that exits or hangs (h2load bounded
# by a timeout) stops the benchmark with the evidence. Servers it started are stopped on exit.
#
# Usage: Tests/Scripts/bench-rpc.sh [--seconds N] [--rounds N] [--only cellhubd|grpc-go|ceiling] [--quick]
#          [--stream-shapes 10x10,1x100,4x25] [--no-build] [--grpc-go PATH] [--workdir DIR]
#   --seconds N        duration of each run (default 5)
#   --rounds N         rounds per server, alternating A B C A B C (default 2)
#   --only NAME        measure one server only (no ratio)
#   --no-ceiling       leave the C ceiling out
#   --no-callgrind     skip the instruction counts (callgrind-unary.sh; on unless --quick or --only)
#   --quick            smoke run: --seconds 1 --rounds 1, first stream shape only
#   --stream-shapes L  comma-separated CxM h2load shapes for streaming, each C*M streams in flight
#   --no-build         use the existing .build/release/cellhubd instead of `swift build -c release`
#   --grpc-go PATH     the reference server binary (default: built by ../shared/peers/build.sh)
#   --workdir DIR      request bodies, h2load output and server logs (default: $TMPDIR/cellhub-bench-rpc)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/Tests/Scripts

seconds=5 rounds=2 only= quick=0 build=1 grpcgo_bin=${GRPC_GO_BIN:-} ceiling=1 callgrind=1
shapes=10x10,1x100,4x25
workdir=${TMPDIR:-/tmp}/cellhub-bench-rpc
unary_size=10            # SimpleRequest.response_size: 14-byte SimpleResponse, 19 DATA bytes per call
stream_count=1000        # ResponseParameters per StreamingOutputCall
stream_size=86           # payload body: 90-byte StreamingOutputCallResponse, 95 bytes framed
unary_c=16 unary_m=32
die() { echo "bench-rpc: $*" >&2; exit 1; }
warnings=
warn() { echo "bench-rpc: WARNING: $*" >&2; warnings+="  $*"$'\n'; }
while (($#)); do
  case $1 in
    --seconds) seconds=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --only) only=${2:?}; shift 2 ;;
    --no-ceiling) ceiling=0; shift ;;
    --no-callgrind) callgrind=0; shift ;;
    --quick) quick=1; shift ;;
    --stream-shapes) shapes=${2:?}; shift 2 ;;
    --no-build) build=0; shift ;;
    --grpc-go) grpcgo_bin=${2:?}; shift 2 ;;
    --workdir) workdir=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
if ((quick)); then seconds=1 rounds=1 shapes=${shapes%%,*} callgrind=0; fi
[[ -z $only ]] || callgrind=0
[[ $seconds =~ ^[0-9]+$ && $seconds -ge 1 ]] || die "--seconds wants a whole number >= 1"
[[ $rounds =~ ^[0-9]+$ && $rounds -ge 1 ]] || die "--rounds wants a whole number >= 1"
case $only in ''|cellhubd|grpc-go|ceiling) ;; *) die "--only wants cellhubd, grpc-go or ceiling" ;; esac
IFS=, read -r -a shape_list <<<"$shapes"
for s in "${shape_list[@]}"; do [[ $s =~ ^[0-9]+x[0-9]+$ ]] || die "bad stream shape '$s' (want CxM, e.g. 10x10)"; done

# --- tools ---------------------------------------------------------------------------------
if ! command -v h2load >/dev/null || ! command -v nghttp >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "bench-rpc: h2load/nghttp missing; installing Debian's nghttp2-client" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client >&2 ||
      die "could not install nghttp2-client (h2load, nghttp)"
  fi
  command -v h2load >/dev/null && command -v nghttp >/dev/null ||
    die "h2load and nghttp are needed: apt-get install nghttp2-client"
fi
command -v taskset >/dev/null || die "taskset is needed (util-linux)"
ncpu=$(nproc)
((ncpu >= 2)) || die "needs 2 cores (server on core 1, h2load on core 0); this machine has $ncpu"
py=$root/.venv/bin/python
[[ -x $py ]] || py=$(command -v python3) || die "python3 is needed"
"$py" -c 'import grpc, google.protobuf' 2>/dev/null ||
  die "$py lacks grpcio/protobuf: run Tests/Scripts/setup.sh (or pip install -r Tests/Python/requirements.txt)"
tool() { "$py" "$here/bench/benchtool.py" "$@"; }
hz=$(getconf CLK_TCK)

servers=()
[[ -z $only || $only == cellhubd ]] && servers+=(cellhubd)
[[ -z $only || $only == grpc-go ]] && servers+=(grpc-go)
ceiling_src=$root/../shared/peers/ceiling/h2canned.c
if [[ $only == ceiling ]] || [[ -z $only ]] && ((ceiling)); then
  if [[ -f $ceiling_src ]] && command -v gcc >/dev/null; then
    servers+=(ceiling)
  else
    warn "no C ceiling: needs gcc and $ceiling_src"
  fi
fi
((${#servers[@]})) || die "no server to measure"

if [[ " ${servers[*]} " == *" cellhubd "* ]]; then
  if ((build)); then
    echo "bench-rpc: swift build -c release --product cellhubd" >&2
    (cd "$root" && swift build -c release --product cellhubd >&2) || die "release build of cellhubd failed"
  fi
  cellhubd_bin=$root/.build/release/cellhubd
  [[ -x $cellhubd_bin ]] || die "$cellhubd_bin missing (run without --no-build)"
fi
if [[ " ${servers[*]} " == *" grpc-go "* ]]; then
  if [[ -z $grpcgo_bin ]]; then
    peers=$root/../shared/peers/build.sh
    [[ -f $peers ]] || die "no $peers to build the grpc-go reference (use --grpc-go PATH or --only cellhubd)"
    echo "bench-rpc: building the grpc-go reference ($peers)" >&2
    grpcgo_bin=$(bash "$peers" | tail -1) || die "building the grpc-go reference failed"
  fi
  [[ -x $grpcgo_bin ]] || die "grpc-go reference $grpcgo_bin is not executable"
fi

# --- work dir, request bodies ---------------------------------------------------------------
mkdir -p "$workdir"
rm -rf "${workdir:?}"/{logs,cellhubd-data} "$workdir/results.tsv"
mkdir -p "$workdir/logs"
if [[ " ${servers[*]} " == *" ceiling "* ]]; then
  ceiling_bin=$workdir/h2canned
  gcc -O2 -o "$ceiling_bin" "$ceiling_src" -lnghttp2 || die "cannot build the ceiling ($ceiling_src)"
fi
sizes=$(tool bodies "$workdir" --unary-size $unary_size --stream-count $stream_count --stream-size $stream_size) ||
  die "could not write the request bodies"
eval "$sizes"
unary_body=$workdir/unary-request.bin stream_body=$workdir/stream-request.bin
ceiling_stream_body=$workdir/ceiling-stream-request.bin
results=$workdir/results.tsv
: >"$results"
hdrs=(-H 'content-type: application/grpc' -H 'te: trailers')
unary_path=/grpc.testing.TestService/UnaryCall
stream_path=/grpc.testing.TestService/StreamingOutputCall

# --- servers --------------------------------------------------------------------------------
srv_pid= srv_port= srv_name= srv_log=
stop_server() {
  [[ -n $srv_pid ]] || return 0
  local pid=$srv_pid; srv_pid=
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      warn "$srv_name (pid $pid) still running 10 s after SIGTERM; killed it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  local rc=0; wait "$pid" 2>/dev/null || rc=$?
  # 143 = died of the SIGTERM itself (grpc-go and the ceiling have no handler); cellhubd drains and exits 0.
  if [[ $rc != 0 && ! ($rc == 143 && $srv_name != cellhubd) ]]; then warn "$srv_name exited with status $rc after SIGTERM"; fi
}
trap 'stop_server' EXIT
trap 'echo "bench-rpc: interrupted; stopping the server" >&2; exit 130' INT TERM

# What each server is asked (the ceiling has its own stream path and body) and answers per call.
s_stream_path= s_stream_body= s_unary_bytes= s_stream_msg_bytes=
start_server() { # name round
  srv_name=$1; srv_log=$workdir/logs/$1-r$2
  s_stream_path=$stream_path s_stream_body=$stream_body
  s_unary_bytes=$unary_data_bytes s_stream_msg_bytes=$((stream_msg_bytes + 5))
  local cmd banner=$srv_log.out
  if [[ $1 == cellhubd ]]; then
    cmd=("$cellhubd_bin" serve --host 127.0.0.1 --port 0 --interop --loops 1 --data-dir "$workdir/cellhubd-data")
  elif [[ $1 == grpc-go ]]; then
    cmd=("$grpcgo_bin" -port 0)
  else
    # It takes a port (no port 0): one the kernel just handed out, then freed.
    local port; port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cmd=("$ceiling_bin" "$port") banner=$srv_log.err
    s_stream_path=/bench.v1.Bench/Stream s_stream_body=$ceiling_stream_body
  fi
  taskset -c 1 "${cmd[@]}" >"$srv_log.out" 2>"$srv_log.err" &
  srv_pid=$!
  srv_cmd="taskset -c 1 ${cmd[*]}"
  for _ in $(seq 100); do
    if [[ -s $banner ]] && grep -q 'listening on ' "$banner"; then break; fi
    kill -0 "$srv_pid" 2>/dev/null || { cat "$srv_log.err" >&2; die "$1 exited at startup"; }
    sleep 0.1
  done
  local first; first=$(grep -m1 'listening on ' "$banner" || true)
  [[ $first =~ listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || die "$1 did not print 'listening on 127.0.0.1:PORT' (got '$first')"
  srv_port=${BASH_REMATCH[1]}
}

alive() {
  kill -0 "$srv_pid" 2>/dev/null && return 0
  tail -20 "$srv_log.err" >&2
  local why=
  grep -q 'signal=' "$srv_log.err" && why=" (its log shows a signal: something outside this script stopped it)"
  die "$srv_name (pid $srv_pid) exited during: $1$why"
}
source "$root/Tests/Scripts/bench/cpu.sh"  # cpu_ticks PID, child_ticks, all_ticks
url() { echo "http://127.0.0.1:$srv_port$1"; }
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$srv_name" "$round" "$1" "$2" "${3:-}" >>"$results"; }
ratio() { awk -v a="$1" -v b="$2" -v s="${3:-1}" 'BEGIN { printf "%.6g", (b > 0 ? a * s / b : 0) }'; }

# h2load run with CPU accounting: sets ok rps databytes bad non2xx cpu_s
h2run() { # label outfile h2load-args...
  local label=$1 out=$2; shift 2
  local t0 t1 w0 w1 c0 c1 a0 a1
  alive "before $label"
  t0=$(cpu_ticks "$srv_pid") w0=$(date +%s%N) c0=$(child_ticks) a0=$(all_ticks)
  local rc=0
  # bounded: a hung server must not hang the benchmark (-n runs are calibrated to ~$seconds)
  timeout --foreground -k 5 $((seconds * 6 + 60)) taskset -c 0 h2load "$@" >"$out" 2>&1 || rc=$?
  if ((rc == 124)); then
    # keep the evidence: socket queues of the stuck connection(s), the server's threads
    { echo "== ss (server port $srv_port)"; ss -tnoi "( sport = :$srv_port or dport = :$srv_port )" 2>&1
      echo "== server threads"; for t in /proc/$srv_pid/task/*; do
        echo "$(cat "$t/comm" 2>/dev/null) $(awk '{ print $3 }' "$t/stat" 2>/dev/null) wchan=$(cat "$t/wchan" 2>/dev/null)"; done
    } >"$out.diag" 2>&1
    tail -4 "$out" >&2; cat "$out.diag" >&2
    die "h2load ($label) against $srv_name did not finish in $((seconds * 6 + 60)) s (server hang?); see $out and $out.diag"
  fi
  ((rc == 0)) || { tail -5 "$out" >&2; die "h2load failed ($label, exit $rc) against $srv_name; see $out"; }
  alive "$label"
  t1=$(cpu_ticks "$srv_pid") w1=$(date +%s%N) c1=$(child_ticks) a1=$(all_ticks)
  read -r ok rps databytes bad non2xx < <(tool h2load-summary "$out") || die "cannot parse $out"
  cpu_s=$(awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN { printf "%.6f", d / hz }')
  busy=$(awk -v c="$cpu_s" -v w=$((w1 - w0)) 'BEGIN { printf "%.0f", 100 * c * 1e9 / w }')  # % of its core
  # everything else on the machine during the run (other people's builds and benchmarks), in % of one core
  other=$(awk -v d=$(((a1 - a0) - (t1 - t0) - (c1 - c0))) -v hz="$hz" -v w=$((w1 - w0)) \
    'BEGIN { v = 100 * d / hz * 1e9 / w; printf "%.0f", (v < 0 ? 0 : v) }')
  record "other_load" "$other" "other processes, % of a core (max of runs)"
  if ((other > 25)); then
    warn "$srv_name round $round $label: other processes used ${other}% of a core during the run (machine busy)"
  fi
  if ((bad || non2xx)) || ((ok == 0)); then
    warn "$srv_name round $round $label: $ok succeeded, $bad failed/errored, $non2xx non-2xx (see $out)"
  fi
}

check_server() {
  local expect_unary=$unary_data_bytes expect_stream=$stream_data_bytes
  if [[ $srv_name == ceiling ]]; then
    expect_unary=-1 expect_stream=-1  # canned replies: whatever it sends, learned here
  else
    echo "  check: one UnaryCall and one StreamingOutputCall ($stream_count x $stream_size B)" >&2
    tool check "127.0.0.1:$srv_port" --unary-size $unary_size --stream-count $stream_count --stream-size $stream_size \
      | sed 's/^/    /' >&2 || die "$srv_name failed the grpcio check"
  fi
  local f=$srv_log.nghttp-unary.txt line
  timeout --foreground 30 nghttp -v -n "${hdrs[@]}" -d "$unary_body" "$(url $unary_path)" >"$f" 2>&1 || true
  line=$(tool nghttp-check "$f" --expect-data-bytes "$expect_unary") || die "$srv_name: UnaryCall with h2load's request body is wrong"
  echo "    unary: $line" >&2
  [[ $srv_name == ceiling ]] && s_unary_bytes=$(awk '{ print $(NF - 2) }' <<<"$line")
  f=$srv_log.nghttp-stream.txt
  timeout --foreground 60 nghttp -v -n "${hdrs[@]}" -d "$s_stream_body" "$(url $s_stream_path)" >"$f" 2>&1 || true
  line=$(tool nghttp-check "$f" --expect-data-bytes "$expect_stream") || die "$srv_name: streaming with h2load's request body is wrong"
  echo "    stream: $line" >&2
  # The ceiling's messages carry varint timestamps: their size varies, so it is not checked.
  [[ $srv_name == ceiling ]] && s_stream_msg_bytes=""
  return 0
}

declare -A stream_n=()  # per server and shape: -n giving ~$seconds per run, calibrated in round 1

measure() {
  local r=$round s=$srv_name
  local pre=$workdir/logs/$s-r$r
  # 1. unary throughput
  h2run "unary c$unary_c m$unary_m" "$pre.unary.txt" -c $unary_c -m $unary_m -t 1 -D "$seconds" "${hdrs[@]}" \
    -d "$unary_body" "$(url $unary_path)"
  record unary_rps "$rps" "unary req/s (c$unary_c m$unary_m)"
  record cpu_unary_us "$(ratio "$cpu_s" "$ok" 1e6)" "server CPU µs/unary call (c$unary_c m$unary_m)"
  record busy_unary "$busy" "server core busy % (unary c$unary_c m$unary_m)"
  local bpc; bpc=$(ratio "$databytes" "$ok")
  [[ $bpc == "$s_unary_bytes" ]] || warn "$s round $r unary: $bpc DATA bytes per call, expected $s_unary_bytes"
  printf '  %-28s %12.0f req/s   %7.2f µs CPU/call   %s B/call   server core %s%% busy\n' \
    "unary c$unary_c m$unary_m" "$rps" "$(ratio "$cpu_s" "$ok" 1e6)" "$bpc" "$busy" >&2

  # 2. latency, one call in flight
  h2run "unary c1 m1" "$pre.latency.txt" -c 1 -m 1 -t 1 -D "$seconds" --log-file "$pre.latency.log" "${hdrs[@]}" \
    -d "$unary_body" "$(url $unary_path)"
  local n p50 p90 p99 max
  read -r n p50 p90 p99 max < <(tool percentiles "$pre.latency.log")
  record lat_p50 "$p50" "unary p50 µs (c1 m1)"
  record lat_p99 "$p99" "unary p99 µs (c1 m1)"
  record cpu_lat_us "$(ratio "$cpu_s" "$ok" 1e6)" "server CPU µs/unary call (c1 m1)"
  printf '  %-28s %12.0f req/s   p50 %s µs  p90 %s µs  p99 %s µs  max %s µs   %.2f µs CPU/call   server core %s%% busy\n' \
    "unary c1 m1" "$rps" "$p50" "$p90" "$p99" "$max" "$(ratio "$cpu_s" "$ok" 1e6)" "$busy" >&2

  # 3. server streaming, 100 (C*M) streams in flight
  local shape c m key nreq
  for shape in "${shape_list[@]}"; do
    c=${shape%x*} m=${shape#*x} key=$s/$shape
    if [[ -z ${stream_n[$key]:-} ]]; then
      # calibrate: a short run (also a warm-up), then -n for ~$seconds
      h2run "stream $shape calibration" "$pre.stream-$shape.calib.txt" -c "$c" -m "$m" -t 1 -n $((c * m * 4)) "${hdrs[@]}" \
        -d "$s_stream_body" "$(url $s_stream_path)"
      nreq=$(awk -v r="$rps" -v s="$seconds" -v q=$((c * m)) 'BEGIN { n = int(r * s / q + 0.5) * q; if (n < q) n = q; print n }')
      stream_n[$key]=$nreq
    fi
    nreq=${stream_n[$key]}
    h2run "stream $shape" "$pre.stream-$shape.txt" -c "$c" -m "$m" -t 1 -n "$nreq" "${hdrs[@]}" \
      -d "$s_stream_body" "$(url $s_stream_path)"
    local msgs bpm ns
    msgs=$(ratio "$rps" 1 $stream_count)
    bpm=$(ratio "$databytes" "$ok" "$(ratio 1 $stream_count)")
    ns=$(ratio "$cpu_s" "$((ok * stream_count))" 1e9)
    record "stream_msgs_$shape" "$msgs" "stream msgs/s (c$c m$m)"
    record "cpu_stream_ns_$shape" "$ns" "server CPU ns/streamed msg (c$c m$m)"
    record "stream_bpm_$shape" "$bpm" "stream DATA bytes/msg (c$c m$m)"
    record "busy_stream_$shape" "$busy" "server core busy % (stream c$c m$m)"
    [[ -z $s_stream_msg_bytes ]] || awk -v b="$bpm" -v e="$s_stream_msg_bytes" 'BEGIN { exit !(b == e) }' ||
      warn "$s round $r stream $shape: $bpm DATA bytes per message, expected $s_stream_msg_bytes"
    printf '  %-28s %12.0f msgs/s  %7.1f ns CPU/msg   %s B/msg   server core %s%% busy   (-n %s, %s calls/s)\n' \
      "stream c$c m$m" "$msgs" "$ns" "$bpm" "$busy" "$nreq" "$rps" >&2
  done
}

echo "bench-rpc: ${servers[*]}; $rounds round(s) of ${seconds}s runs; server on core 1, h2load on core 0; work dir $workdir" >&2
load=$(cut -d' ' -f1-3 /proc/loadavg)
for ((round = 1; round <= rounds; round++)); do
  for name in "${servers[@]}"; do
    start_server "$name" "$round"
    echo "round $round/$rounds: $name (pid $srv_pid, port $srv_port)" >&2
    check_server
    measure
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$srv_pid/status")
    echo "  server RSS after round: $((rss / 1024)) MiB" >&2
    record rss_mib "$(ratio "$rss" 1024)" "server RSS MiB after the round"
    stop_server
    if [[ $name == cellhubd ]] && grep -Eiq '(error|critical|fatal|warning)' "$srv_log.err"; then
      warn "cellhubd logged warnings/errors in round $round (first lines of $srv_log.err):"$'\n'"$(
        grep -Ei '(error|critical|fatal|warning)' "$srv_log.err" | head -5 | sed 's/^/    /')"
    fi
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
# Instructions per unary call, which the machine's noise does not move: after the timed runs,
# so valgrind's slow servers do not share the machine with them.
counts=
if ((callgrind)); then
  echo "bench-rpc: counting instructions per unary call (callgrind-unary.sh, ~2 min)" >&2
  counts=$("$here/callgrind-unary.sh" --no-build --top 12) || warn "callgrind-unary.sh failed"
fi

# --- report ---------------------------------------------------------------------------------
echo
echo "gRPC server benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average before $load, after $load_after)"
echo "  server pinned to core 1 (cellhubd --loops 1), h2load to core 0; $rounds round(s) x ${seconds}s per run, servers in turn"
echo "  unary: SimpleRequest response_size=$unary_size ($unary_data_bytes DATA bytes per reply)"
echo "  stream: $stream_count x ResponseParameters size=$stream_size per call ($((stream_msg_bytes + 5)) bytes per framed message)"
echo
tool table "$results" "${servers[@]}" --spread
if [[ -n $counts ]]; then echo; printf '%s\n' "$counts"; fi
if [[ -n $warnings ]]; then echo; echo "WARNINGS (numbers above may be off):"; printf '%s' "$warnings"; fi
echo
echo "Commands (PORT = the port printed by the server on 'listening on 127.0.0.1:PORT'):"
[[ -n ${cellhubd_bin:-} ]] && echo "  taskset -c 1 $cellhubd_bin serve --host 127.0.0.1 --port 0 --interop --loops 1 --data-dir $workdir/cellhubd-data"
[[ -n ${grpcgo_bin:-} ]] && echo "  taskset -c 1 $grpcgo_bin -port 0"
[[ -n ${ceiling_bin:-} ]] && echo "  gcc -O2 -o $ceiling_bin $ceiling_src -lnghttp2; taskset -c 1 $ceiling_bin PORT   # streams: -d $ceiling_stream_body .../bench.v1.Bench/Stream"
H="-H 'content-type: application/grpc' -H 'te: trailers'"
echo "  taskset -c 0 h2load -c $unary_c -m $unary_m -t 1 -D $seconds $H -d $unary_body http://127.0.0.1:PORT$unary_path"
echo "  taskset -c 0 h2load -c 1 -m 1 -t 1 -D $seconds --log-file latency.log $H -d $unary_body http://127.0.0.1:PORT$unary_path"
for shape in "${shape_list[@]}"; do
  ns=
  for name in "${servers[@]}"; do ns+="${ns:+, }$name ${stream_n[$name/$shape]}"; done
  echo "  taskset -c 0 h2load -c ${shape%x*} -m ${shape#*x} -t 1 -n N $H -d $stream_body http://127.0.0.1:PORT$stream_path   # N: $ns"
done
echo "  nghttp -v -n $H -d $unary_body http://127.0.0.1:PORT$unary_path   # expect grpc-status: 0, $unary_data_bytes DATA bytes"
echo "  latency percentiles: $py $here/bench/benchtool.py percentiles latency.log"
echo "  bodies: $py $here/bench/benchtool.py bodies DIR --unary-size $unary_size --stream-count $stream_count --stream-size $stream_size"
echo "  server CPU: utime+stime (fields 14+15 of /proc/PID/stat, $hz ticks/s) before and after each h2load run"
echo "  outputs of every run: $workdir/logs; per-round values: $results"
