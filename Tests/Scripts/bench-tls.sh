#!/usr/bin/env bash
# TLS benchmark: what TLS costs cellhubd, against cellhubd in cleartext and grpc-go over TLS,
# side by side in the same run.
#
# Servers (each pinned to core 1, h2load pinned to core 0), alternating A B C A B C:
#   cellhubd-tls   cellhubd serve --tls-cert --tls-key  (EC P-256 chain from Tests/Python/tls_pki.py)
#   cellhubd-h2c   cellhubd serve, cleartext h2c
#   grpc-go-tls    the grpc-go reference (../shared/peers) with TLS (Tests/Scripts/bench/grpc-go-tls)
# Workloads (h2load speaks TLS 1.3 with ALPN h2 for https:// URLs; it does not verify certificates):
#   1. unary throughput, reused connections  h2load -c 16 -m 32 -D SECS            UnaryCall (response_size 10)
#   2. server streaming, reused connections  h2load -c 10 -m 10 -n N (~SECS)       1,000 x 90-byte messages per call
#   3. new connections per second            h2load -c 100 -n 100 -m 1, repeated for ~SECS: each of the 100
#                                            connections makes one UnaryCall: TCP + TLS handshake + HTTP/2 setup
#                                            (cleartext: TCP + HTTP/2 only); the rate is over h2load's own clock
#   and the server's CPU per call, per streamed message and per new connection (/proc/PID/stat).
# Each server first answers one UnaryCall and one StreamingOutputCall from nghttp with the very request bodies
# h2load sends (grpc-status 0 and the exact DATA bytes checked: h2load counts any HTTP 200 as a success).
# Prints medians and the ratios cellhubd-tls/X, the commands, and warnings (failed requests, a busy machine).
#
# Usage: Tests/Scripts/bench-tls.sh [--seconds N] [--rounds N] [--no-grpc-go] [--no-build] [--quick] [--workdir DIR]
#   --seconds N     duration of each run (default 5)
#   --rounds N      rounds per server (default 2)
#   --no-grpc-go    leave grpc-go out
#   --no-build      use the existing .build/release/cellhubd
#   --quick         smoke run: --seconds 1 --rounds 1
#   --workdir DIR   certificates, bodies, outputs (default: $TMPDIR/cellhub-bench-tls)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/Tests/Scripts

seconds=5 rounds=2 build=1 grpcgo=1 quick=0
workdir=${TMPDIR:-/tmp}/cellhub-bench-tls
unary_size=10 stream_count=1000 stream_size=86
unary_c=16 unary_m=32 stream_c=10 stream_m=10 conn_c=100
die() { echo "bench-tls: $*" >&2; exit 1; }
warnings=
warn() { echo "bench-tls: WARNING: $*" >&2; warnings+="  $*"$'\n'; }
while (($#)); do
  case $1 in
    --seconds) seconds=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --no-grpc-go) grpcgo=0; shift ;;
    --no-build) build=0; shift ;;
    --quick) quick=1; shift ;;
    --workdir) workdir=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
if ((quick)); then seconds=1 rounds=1; fi
[[ $seconds =~ ^[0-9]+$ && $seconds -ge 1 ]] || die "--seconds wants a whole number >= 1"
[[ $rounds =~ ^[0-9]+$ && $rounds -ge 1 ]] || die "--rounds wants a whole number >= 1"

for t in h2load nghttp taskset openssl; do command -v $t >/dev/null || die "$t is needed (nghttp2-client, util-linux, openssl)"; done
(($(nproc) >= 2)) || die "needs 2 cores (server on core 1, h2load on core 0)"
py=$root/.venv/bin/python
[[ -x $py ]] || py=$(command -v python3) || die "python3 is needed"
tool() { "$py" "$here/bench/benchtool.py" "$@"; }
hz=$(getconf CLK_TCK)

mkdir -p "$workdir"
rm -rf "${workdir:?}"/{logs,data-*} "$workdir/results.tsv"
mkdir -p "$workdir/logs"
if ((build)); then
  echo "bench-tls: swift build -c release --product cellhubd" >&2
  (cd "$root" && swift build -c release --product cellhubd >&2) || die "release build of cellhubd failed"
fi
cellhubd_bin=$root/.build/release/cellhubd
[[ -x $cellhubd_bin ]] || die "$cellhubd_bin missing (run without --no-build)"
servers=(cellhubd-tls cellhubd-h2c)
if ((grpcgo)); then
  peers=$root/../shared/peers/build.sh
  [[ -f $peers ]] || die "no $peers to build the grpc-go reference from (or use --no-grpc-go)"
  peers_out=${TMPDIR:-/tmp}/cellhub-peers
  echo "bench-tls: building the grpc-go reference with TLS ($peers, then bench/grpc-go-tls)" >&2
  bash "$peers" "$peers_out" >/dev/null || die "building the grpc-go reference failed"
  gw=$peers_out/go
  mkdir -p "$gw/src/grpcgoreferencetls"
  cp "$here/bench/grpc-go-tls/main.go" "$gw/src/grpcgoreferencetls/main.go"
  (cd "$gw" && GOPATH=$gw:/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off GOCACHE=$peers_out/gocache \
    go build -o "$peers_out/bin/grpc-go-reference-tls" grpcgoreferencetls) >&2 || die "building grpc-go-tls failed"
  grpcgo_bin=$peers_out/bin/grpc-go-reference-tls
  servers+=(grpc-go-tls)
fi

"$py" "$root/Tests/Python/tls_pki.py" "$workdir/pki" >/dev/null || die "cannot make the test certificates (openssl CLI?)"
cert=$workdir/pki/server-chain.pem key=$workdir/pki/server.key
eval "$(tool bodies "$workdir" --unary-size $unary_size --stream-count $stream_count --stream-size $stream_size)" ||
  die "could not write the request bodies"
unary_body=$workdir/unary-request.bin stream_body=$workdir/stream-request.bin
results=$workdir/results.tsv
: >"$results"
hdrs=(-H 'content-type: application/grpc' -H 'te: trailers')
unary_path=/grpc.testing.TestService/UnaryCall
stream_path=/grpc.testing.TestService/StreamingOutputCall

srv_pid= srv_port= srv_name= srv_log= scheme=
stop_server() {
  [[ -n $srv_pid ]] || return 0
  local pid=$srv_pid; srv_pid=
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { warn "$srv_name (pid $pid) still running 10 s after SIGTERM; killed it"; kill -KILL "$pid" 2>/dev/null || true; }
  local rc=0; wait "$pid" 2>/dev/null || rc=$?
  [[ $rc == 0 || ($rc == 143 && $srv_name == grpc-go-tls) ]] || warn "$srv_name exited with status $rc after SIGTERM"
}
trap 'stop_server' EXIT
trap 'echo "bench-tls: interrupted" >&2; exit 130' INT TERM

start_server() { # name round
  srv_name=$1 srv_log=$workdir/logs/$1-r$2
  local cmd
  case $1 in
    cellhubd-h2c) cmd=("$cellhubd_bin" serve --host 127.0.0.1 --port 0 --interop --loops 1 --data-dir "$workdir/data-$1") scheme=http ;;
    cellhubd-tls) cmd=("$cellhubd_bin" serve --host 127.0.0.1 --port 0 --interop --loops 1 --data-dir "$workdir/data-$1"
                       --tls-cert "$cert" --tls-key "$key") scheme=https ;;
    grpc-go-tls) cmd=("$grpcgo_bin" -port 0 -tls-cert "$cert" -tls-key "$key") scheme=https ;;
  esac
  taskset -c 1 "${cmd[@]}" >"$srv_log.out" 2>"$srv_log.err" &
  srv_pid=$!
  server_cmds[$1]="taskset -c 1 ${cmd[*]}"
  for _ in $(seq 100); do
    grep -q 'listening on ' "$srv_log.out" 2>/dev/null && break
    kill -0 "$srv_pid" 2>/dev/null || { cat "$srv_log.err" >&2; die "$1 exited at startup"; }
    sleep 0.1
  done
  [[ $(grep -m1 'listening on ' "$srv_log.out") =~ listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || die "$1 printed no 'listening on 127.0.0.1:PORT'"
  srv_port=${BASH_REMATCH[1]}
}
declare -A server_cmds=()

alive() { kill -0 "$srv_pid" 2>/dev/null || { tail -20 "$srv_log.err" >&2; die "$srv_name exited during $1"; }; }
source "$root/Tests/Scripts/bench/cpu.sh"  # cpu_ticks PID, child_ticks, all_ticks
url() { echo "$scheme://127.0.0.1:$srv_port$1"; }
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$srv_name" "$round" "$1" "$2" "${3:-}" >>"$results"; }
ratio() { awk -v a="$1" -v b="$2" -v s="${3:-1}" 'BEGIN { printf "%.6g", (b > 0 ? a * s / b : 0) }'; }

# One h2load run, bounded, with the server's CPU and the machine's other load: sets ok rps databytes cpu_s busy
h2run() { # label outfile h2load-args...
  local label=$1 out=$2; shift 2
  alive "before $label"
  local t0 w0 c0 a0 t1 w1 c1 a1 rc=0
  t0=$(cpu_ticks "$srv_pid") w0=$(date +%s%N) c0=$(child_ticks) a0=$(all_ticks)
  timeout --foreground -k 5 $((seconds * 6 + 60)) taskset -c 0 h2load "$@" >"$out" 2>&1 || rc=$?
  ((rc == 0)) || { tail -5 "$out" >&2; die "h2load ($label) against $srv_name failed or hung (exit $rc); see $out"; }
  alive "$label"
  t1=$(cpu_ticks "$srv_pid") w1=$(date +%s%N) c1=$(child_ticks) a1=$(all_ticks)
  local bad non2xx
  read -r ok rps databytes bad non2xx < <(tool h2load-summary "$out") || die "cannot parse $out"
  ((bad || non2xx)) || ((ok == 0)) && warn "$srv_name round $round $label: $ok succeeded, $bad failed, $non2xx non-2xx (see $out)"
  cpu_s=$(awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN { printf "%.6f", d / hz }')
  busy=$(awk -v c="$cpu_s" -v w=$((w1 - w0)) 'BEGIN { printf "%.0f", 100 * c * 1e9 / w }')
  local other
  other=$(awk -v d=$(((a1 - a0) - (t1 - t0) - (c1 - c0))) -v hz="$hz" -v w=$((w1 - w0)) \
    'BEGIN { v = 100 * d / hz * 1e9 / w; printf "%.0f", (v < 0 ? 0 : v) }')
  record other_load "$other" "other processes, % of a core (max of runs)"
  ((other > 25)) && warn "$srv_name round $round $label: other processes used ${other}% of a core (machine busy)"
  return 0
}

check_server() {
  local f line
  for what in unary stream; do
    f=$srv_log.nghttp-$what.txt
    local body=$unary_body path=$unary_path expect=$unary_data_bytes
    [[ $what == stream ]] && body=$stream_body path=$stream_path expect=$stream_data_bytes
    timeout --foreground 60 nghttp -v -n "${hdrs[@]}" -d "$body" "$(url "$path")" >"$f" 2>&1 || true
    line=$(tool nghttp-check "$f" --expect-data-bytes "$expect") || die "$srv_name: $what call with h2load's request body is wrong"
    echo "  check $what: $line" >&2
  done
}

declare -A stream_n=()
measure() {
  local pre=$workdir/logs/$srv_name-r$round
  h2run "unary" "$pre.unary.txt" -c $unary_c -m $unary_m -t 1 -D "$seconds" "${hdrs[@]}" -d "$unary_body" "$(url $unary_path)"
  record unary_rps "$rps" "unary req/s (c$unary_c m$unary_m, reused connections)"
  record cpu_unary_us "$(ratio "$cpu_s" "$ok" 1e6)" "server CPU µs/unary call"
  printf '  %-22s %10.0f req/s      %6.2f µs CPU/call      server core %s%% busy\n' unary "$rps" "$(ratio "$cpu_s" "$ok" 1e6)" "$busy" >&2

  local n=$((stream_c * stream_m))
  if [[ -z ${stream_n[$srv_name]:-} ]]; then
    h2run "stream calibration" "$pre.stream-calib.txt" -c $stream_c -m $stream_m -t 1 -n $((n * 4)) "${hdrs[@]}" -d "$stream_body" "$(url $stream_path)"
    stream_n[$srv_name]=$(awk -v r="$rps" -v s="$seconds" -v q=$((n)) 'BEGIN { k = int(r * s / q + 0.5) * q; print (k < q ? q : k) }')
  fi
  h2run "stream" "$pre.stream.txt" -c $stream_c -m $stream_m -t 1 -n "${stream_n[$srv_name]}" "${hdrs[@]}" -d "$stream_body" "$(url $stream_path)"
  local msgs; msgs=$(ratio "$rps" 1 $stream_count)
  (( databytes == ok * stream_data_bytes )) || warn "$srv_name round $round stream: $databytes DATA bytes for $ok calls, expected $stream_data_bytes each"
  record stream_msgs "$msgs" "stream msgs/s (c$stream_c m$stream_m, reused connections)"
  record cpu_stream_ns "$(ratio "$cpu_s" "$((ok * stream_count))" 1e9)" "server CPU ns/streamed msg"
  printf '  %-22s %10.0f msgs/s     %6.1f ns CPU/msg       server core %s%% busy\n' stream "$msgs" "$(ratio "$cpu_s" "$((ok * stream_count))" 1e9)" "$busy" >&2

  # New connections: batches of $conn_c, one call each, until ~$seconds of h2load's own time. The
  # server's CPU and the machine's other load are taken around the whole loop (a batch is ~0.1 s).
  local total=0 elapsed=0 batch=0 t0 w0 c0 a0 t1 w1 c1 a1 out=$pre.connections.txt
  alive "before connections"
  t0=$(cpu_ticks "$srv_pid") w0=$(date +%s%N) c0=$(child_ticks) a0=$(all_ticks)
  while awk -v e="$elapsed" -v s="$seconds" 'BEGIN { exit !(e < s) }'; do
    batch=$((batch + 1))
    timeout --foreground -k 5 60 taskset -c 0 h2load -c $conn_c -n $conn_c -m 1 -t 1 "${hdrs[@]}" -d "$unary_body" "$(url $unary_path)" >"$out" 2>&1 ||
      { tail -5 "$out" >&2; die "h2load (connections) against $srv_name failed or hung; see $out"; }
    # "requests: T total, S started, D done, OK succeeded, ..." and "finished in X, R req/s"
    read -r ok rps < <(awk '/^requests:/ { ok = $8 } /^finished in/ { r = $4 } END { print ok + 0, r + 0 }' "$out")
    ((ok == conn_c)) || warn "$srv_name round $round connections batch $batch: $ok of $conn_c calls succeeded (see $out)"
    total=$((total + ok))
    elapsed=$(awk -v e="$elapsed" -v ok="$ok" -v r="$rps" 'BEGIN { printf "%.6f", e + (r > 0 ? ok / r : 1) }')
  done
  alive "connections"
  t1=$(cpu_ticks "$srv_pid") w1=$(date +%s%N) c1=$(child_ticks) a1=$(all_ticks)
  local cpu_total other
  cpu_total=$(awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN { printf "%.6f", d / hz }')
  other=$(awk -v d=$(((a1 - a0) - (t1 - t0) - (c1 - c0))) -v hz="$hz" -v w=$((w1 - w0)) \
    'BEGIN { v = 100 * d / hz * 1e9 / w; printf "%.0f", (v < 0 ? 0 : v) }')
  record other_load "$other" "other processes, % of a core (max of runs)"
  ((other > 25)) && warn "$srv_name round $round connections: other processes used ${other}% of a core (machine busy)"
  local rate; rate=$(ratio "$total" "$elapsed")
  record conn_rate "$rate" "new connections/s (c$conn_c, 1 call each; TLS: full handshakes)"
  record cpu_conn_us "$(ratio "$cpu_total" "$total" 1e6)" "server CPU µs/new connection"
  printf '  %-22s %10.0f conn/s     %6.1f µs CPU/conn      (%s connections in %s batches)\n' "new connections" "$rate" \
    "$(ratio "$cpu_total" "$total" 1e6)" "$total" "$batch" >&2
}

echo "bench-tls: ${servers[*]}; $rounds round(s) of ${seconds}s runs; server on core 1, h2load on core 0; work dir $workdir" >&2
load=$(cut -d' ' -f1-3 /proc/loadavg)
for ((round = 1; round <= rounds; round++)); do
  for name in "${servers[@]}"; do
    start_server "$name" "$round"
    echo "round $round/$rounds: $name (pid $srv_pid, port $srv_port)" >&2
    check_server
    measure
    record rss_mib "$(ratio "$(awk '/^VmRSS/ { print $2 }' "/proc/$srv_pid/status")" 1024)" "server RSS MiB after the round"
    stop_server
    if [[ $name == cellhubd-* ]] && grep -Eiq '(error|critical|fatal|warning)' "$srv_log.err"; then
      warn "$name logged warnings/errors in round $round: $(grep -Ei '(error|critical|fatal|warning)' "$srv_log.err" | head -3)"
    fi
  done
done

echo
echo "TLS benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average before $load, after $(cut -d' ' -f1-3 /proc/loadavg))"
echo "  server pinned to core 1 (cellhubd --loops 1), h2load to core 0; $rounds round(s) x ${seconds}s per run, servers in turn"
echo "  TLS: TLS 1.3 (h2load's default suites: AES-128-GCM chosen), EC P-256 certificate + intermediate"
echo
tool table "$results" "${servers[@]}" --spread
if [[ -n $warnings ]]; then echo; echo "WARNINGS (numbers above may be off):"; printf '%s' "$warnings"; fi
echo
echo "Commands (PORT = the port printed on 'listening on 127.0.0.1:PORT'; https for the TLS servers):"
for name in "${servers[@]}"; do echo "  ${server_cmds[$name]}"; done
H="-H 'content-type: application/grpc' -H 'te: trailers'"
echo "  taskset -c 0 h2load -c $unary_c -m $unary_m -t 1 -D $seconds $H -d $unary_body https://127.0.0.1:PORT$unary_path"
echo "  taskset -c 0 h2load -c $stream_c -m $stream_m -t 1 -n N $H -d $stream_body https://127.0.0.1:PORT$stream_path   # N: $(for s in "${servers[@]}"; do printf '%s %s  ' "$s" "${stream_n[$s]}"; done)"
echo "  taskset -c 0 h2load -c $conn_c -n $conn_c -m 1 -t 1 $H -d $unary_body https://127.0.0.1:PORT$unary_path   # repeated for ~${seconds}s"
echo "  certificates: $py $root/Tests/Python/tls_pki.py DIR; bodies: $py $here/bench/benchtool.py bodies DIR --unary-size $unary_size --stream-count $stream_count --stream-size $stream_size"
echo "  outputs of every run: $workdir/logs; per-round values: $results"
