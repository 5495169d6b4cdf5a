#!/usr/bin/env bash
# Real-time streams benchmark: cellhubd's WatchProject / WatchDashboard under load, next to the
# gRPC runtime's own push floor, in one run. Servers pinned to core 1, the client
# (cellhub-stream-bench, our Swift client: nghttp2, one task per stream) to core 0.
#
# Measures (defaults are the issue's scale; the whole run takes about 4 minutes on 2 cores):
#   1. fan-out      10,000 WatchProject streams over 100 connections (one user, one project); ONE
#                   upload of a 67-byte PNG; per stream: time from just before the UploadImages call
#                   to the first new event (PROJECT_IMAGE_COUNT_CHANGE, then PROJECT_STATS_UPDATE in
#                   the same batch); 5 uploads 1 s apart per run, medians over the runs. Side by side
#                   with the floor: `cellhub-stream-bench floor-server` (Fanout/Subscribe registers the
#                   call's ServerPushStream; Fanout/Trigger pushes one pre-encoded 257-byte ProjectEvent
#                   to every stream, one execute per event loop: the runtime alone, no hub, no store),
#                   floor and cellhubd alternating for --fanout-rounds rounds; ratio = cellhubd / floor.
#                   Also commit→receipt (event timestamp_unix_ms vs the client's CLOCK_REALTIME).
#   2. RSS per idle open stream: (VmRSS with the N streams caught up, 2 s after the last one −
#                   VmRSS with the C connections open and no stream) / N, /proc/PID/status, first
#                   round (later rounds reuse what the first one freed: their figure is ~0). RssAnon
#                   is shown too. cellhubd's RSS before the streams includes SQLite's page caches
#                   (cache_size 64 MiB per connection, filled by the setup's 1,000 ShareProject).
#   3. dashboards   1,000 users (`cellhubd users add`), each with WatchDashboard; the owner uploads
#                   into a project shared with all of them; upload call start → each user's
#                   DASHBOARD_METRICS_UPDATE, p50/p99/max (median of 5 uploads).
#   4. storm        10,000 WatchProject opened at once: time until all have SNAPSHOT + CAUGHT_UP;
#                   and the resume path: resume_from = (epoch, project revision − 5): no snapshot, 5
#                   changes replayed per stream (their 5 PROJECT_IMAGE_COUNT_CHANGE and one coalesced
#                   PROJECT_STATS_UPDATE), then CAUGHT_UP. Median of --storm-rounds rounds. (The
#                   project's last 5 revisions are its own: the fan-out's uploads, just before.)
#      teardown     after each fan-out run and storm round the client closes its connections; one
#                   GetProjectStats every 50 ms on a new connection for >= 7.5 s (until one is
#                   answered within 20 ms again) shows how long closing them keeps the server slow,
#                   with the server's CPU per 0.5 s after the close. cellhubd PINGs a connection
#                   at EOF and ends its calls when the closed socket resets; a peer that only
#                   half-closed keeps them up to the drain timeout (serve --drain-timeout, 5 s),
#                   hence the 7.5 s watch (storm rounds wait it out).
#   5. sustained    10,000 watchers spread over 100 projects; 100 uploads/s round-robin for 20 s:
#                   delivery p50/p99 (upload call start → PROJECT_STATS_UPDATE receipt, per stream
#                   and upload), delivered events/s, server CPU (utime+stime of /proc/PID/stat) per
#                   delivered event, also less the uploads' own CPU (the same schedule for 5 s with
#                   no stream open).
# cellhubd runs with --fast-commits (no fsync per commit: the figures are about the streams, not
# the disk) and --loops 1 (like bench-rpc.sh: one loop on its one core); the floor with --loops 1.
# The client is one process on one core: its own work is part of every figure, for cellhubd and
# floor alike — read the ratio as what the hub adds. "First arrival on any stream" is the closest
# to the server's own latency; the spread after it is mostly the client reading 10,000 streams.
#
# Checks (the run FAILS, exit status 1, after printing the table): every stream must be ready;
# every live stream must receive every change exactly once (fan-out: the first event and one
# PROJECT_STATS_UPDATE per upload; dashboards: one DASHBOARD_METRICS_UPDATE per upload; sustained:
# every upload reflected on every watcher of its project); storm streams must get SNAPSHOT before
# CAUGHT_UP (snapshot path) or exactly 5 replayed changes and no snapshot (resume path); no stream
# may end early; no upload may fail. Warns (numbers may be off) about cellhubd log warnings/errors,
# other processes' CPU use during a run (the machine is shared), and a non-zero exit after SIGTERM.
#
# Usage: Tests/Scripts/bench-streams.sh [--quick] [--build-path DIR] [--no-build] [--workdir DIR]
#          [--streams N] [--connections N] [--users M] [--fanout-rounds N] [--storm-rounds N]
#          [--rate R] [--projects P] [--seconds S] [--loops N]
#   --quick            smoke run (~1 min): 1,000 streams, 100 dashboard users, 5 s sustained, 1 round each
#   --build-path DIR   SwiftPM scratch path (default .build; use your own when others build in the tree)
#   --no-build         use the release binaries already in the build path
#   --workdir DIR      data directory, tokens, logs (default: $TMPDIR/cellhub-bench-streams)
#   --streams N        streams for fan-out, storm and sustained (default 10000)
#   --connections N    client HTTP/2 connections (default 100; cellhubd allows 1,000 streams each)
#   --users M          dashboard users (default 1000)
#   --fanout-rounds N  floor/cellhubd fan-out rounds, alternating (default 3)
#   --storm-rounds N   rounds of each storm (default 3)
#   --rate R --projects P --seconds S   sustained shape (default 100 uploads/s, 100 projects, 20 s)
#   --loops N          event loops of both servers (default 1)
# Options may also come from the environment, before the command line's:
#   BENCH_STREAMS_ARGS="--streams 50000 --connections 500 --users 5000" Tests/Scripts/bench-streams.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

quick=0 build=1 build_path=$root/.build workdir=${TMPDIR:-/tmp}/cellhub-bench-streams
streams=10000 connections=100 users=1000 fanout_rounds=3 storm_rounds=3 rate=100 projects=100 seconds=20 loops=1
die() { echo "bench-streams: $*" >&2; exit 1; }
warnings=
warn() { echo "bench-streams: WARNING: $*" >&2; warnings+="  $*"$'\n'; }
failures=
fail() { echo "bench-streams: FAILED: $*" >&2; failures+="  $*"$'\n'; }
explicit=" "
# shellcheck disable=SC2086  # BENCH_STREAMS_ARGS is a list of words on purpose
set -- ${BENCH_STREAMS_ARGS:-} "$@"
while (($#)); do
  case $1 in
    --quick) quick=1; shift ;;
    --build-path) build_path=$(cd "$root" && mkdir -p "${2:?}" && cd "$2" && pwd); shift 2 ;;
    --no-build) build=0; shift ;;
    --workdir) workdir=${2:?}; shift 2 ;;
    --streams) streams=${2:?}; explicit+="streams "; shift 2 ;;
    --connections) connections=${2:?}; shift 2 ;;
    --users) users=${2:?}; explicit+="users "; shift 2 ;;
    --fanout-rounds) fanout_rounds=${2:?}; explicit+="fanout_rounds "; shift 2 ;;
    --storm-rounds) storm_rounds=${2:?}; explicit+="storm_rounds "; shift 2 ;;
    --rate) rate=${2:?}; shift 2 ;;
    --projects) projects=${2:?}; shift 2 ;;
    --seconds) seconds=${2:?}; explicit+="seconds "; shift 2 ;;
    --loops) loops=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
if ((quick)); then
  [[ $explicit == *" streams "* ]] || streams=1000
  [[ $explicit == *" users "* ]] || users=100
  [[ $explicit == *" seconds "* ]] || seconds=5
  [[ $explicit == *" fanout_rounds "* ]] || fanout_rounds=1
  [[ $explicit == *" storm_rounds "* ]] || storm_rounds=1
fi
for v in streams connections users fanout_rounds storm_rounds rate projects seconds loops; do
  [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || die "--${v//_/-} wants a whole number >= 1"
done
# cellhubd's SETTINGS_MAX_CONCURRENT_STREAMS is 1,000 per connection (serve --max-concurrent-streams).
(((streams + connections - 1) / connections <= 1000)) ||
  die "$streams streams over $connections connections is more than 1,000 per connection: raise --connections"
started=$(date +%s)

# --- tools, limits --------------------------------------------------------------------------
command -v taskset >/dev/null || die "taskset is needed (util-linux)"
(($(nproc) >= 2)) || die "needs 2 cores (servers on core 1, the client on core 0)"
# Each side holds a socket per connection plus its own; raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= 2 * connections + 256)) || die "ulimit -n is $(ulimit -n); $connections connections need at least $((2 * connections + 256))"
if ((build)); then
  echo "bench-streams: swift build -c release --scratch-path $build_path (cellhubd, cellhub-stream-bench)" >&2
  (cd "$root" && swift build -c release --scratch-path "$build_path" --product cellhubd >&2 &&
    swift build -c release --scratch-path "$build_path" --product cellhub-stream-bench >&2) || die "release build failed"
fi
cellhubd=$build_path/release/cellhubd bench=$build_path/release/cellhub-stream-bench
[[ -x $cellhubd && -x $bench ]] || die "release binaries missing in $build_path (run without --no-build)"
hz=$(getconf CLK_TCK)

# --- work dir, users --------------------------------------------------------------------------
rm -rf "${workdir:?}"/{data,logs,tokens,names,projects,sustained-projects,owner.token}
mkdir -p "$workdir/logs"
logs=$workdir/logs data=$workdir/data
echo "bench-streams: creating the owner and $users dashboard users (cellhubd users add)" >&2
"$cellhubd" users add owner --data-dir "$data" >"$workdir/owner.token" 2>"$logs/users.err" ||
  { cat "$logs/users.err" >&2; die "cellhubd users add owner failed"; }
owner=$(cat "$workdir/owner.token")
t0=$(date +%s)
for ((i = 1; i <= users; i++)); do printf 'viewer-%04d\n' "$i"; done >"$workdir/names"
while read -r name; do
  "$cellhubd" users add "$name" --data-dir "$data" 2>"$logs/users.err" ||
    { cat "$logs/users.err" >&2; die "cellhubd users add $name failed"; }
done <"$workdir/names" >"$workdir/tokens"
echo "bench-streams: $users users in $(($(date +%s) - t0)) s" >&2

# --- servers ----------------------------------------------------------------------------------
declare -A pid=() port=() cmd=()
start() { # name command...
  local name=$1; shift
  taskset -c 1 "$@" >"$logs/$name.out" 2>"$logs/$name.err" &
  pid[$name]=$!
  cmd[$name]="taskset -c 1 $*"
  for _ in $(seq 300); do
    grep -q '^listening on ' "$logs/$name.out" 2>/dev/null && break
    kill -0 "${pid[$name]}" 2>/dev/null || { cat "$logs/$name.err" >&2; die "$name exited at startup"; }
    sleep 0.1
  done
  [[ $(head -1 "$logs/$name.out") =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || die "$name did not print 'listening on 127.0.0.1:PORT'"
  port[$name]=${BASH_REMATCH[1]}
}
stop() { # name
  local name=$1 p=${pid[$1]:-}
  [[ -n $p ]] || return 0
  pid[$name]=
  local t0; t0=$(date +%s%N)
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then warn "$name still running 10 s after SIGTERM; killed it"; kill -KILL "$p" 2>/dev/null || true; fi
  local rc=0; wait "$p" 2>/dev/null || rc=$?
  echo "bench-streams: $name stopped $((($(date +%s%N) - t0) / 1000000)) ms after SIGTERM (status $rc)" >&2
  ((rc == 0)) || warn "$name exited with status $rc after SIGTERM"
}
trap 'for n in "${!pid[@]}"; do [[ -n ${pid[$n]} ]] && kill -TERM "${pid[$n]}" 2>/dev/null; done; true' EXIT
trap 'echo "bench-streams: interrupted" >&2; exit 130' INT TERM

start cellhubd "$cellhubd" serve --host 127.0.0.1 --port 0 --data-dir "$data" --fast-commits --loops "$loops"
start floor "$bench" floor-server --port 0 --loops "$loops"
source "$root/Tests/Scripts/bench/cpu.sh"  # cpu_ticks PID, child_ticks, all_ticks
rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
rss_start=$(rss_mib "${pid[cellhubd]}")

# --- runs ---------------------------------------------------------------------------------------
# A client run on core 0, bounded; prints its progress lines, keeps its output; warns when other
# processes (not the two servers, not the client) used more than 25% of a core meanwhile.
run() { # label server-name args...
  local label=$1 name=$2; shift 2
  local out=$logs/$label.txt
  kill -0 "${pid[$name]}" 2>/dev/null || die "$name is not running before $label"
  local a0 s0 f0 w0 c0 a1 s1 f1 w1 c1
  a0=$(all_ticks) s0=$(cpu_ticks "${pid[cellhubd]}") f0=$(cpu_ticks "${pid[floor]:-${pid[cellhubd]}}") w0=$(date +%s%N)
  c0=$(child_ticks)
  local rc=0
  timeout --foreground -k 5 900 taskset -c 0 "$bench" "$@" >"$out" 2>&1 || rc=$?
  a1=$(all_ticks) s1=$(cpu_ticks "${pid[cellhubd]}") f1=$(cpu_ticks "${pid[floor]:-${pid[cellhubd]}}") w1=$(date +%s%N)
  c1=$(child_ticks)
  grep -v '^result ' "$out" >&2 || true
  ((rc != 124)) || die "$label did not finish in 900 s (server hang?); see $out"
  ((rc == 0)) || { tail -3 "$out" >&2; die "$label failed (exit $rc); see $out"; }
  kill -0 "${pid[$name]}" 2>/dev/null || die "$name exited during $label"
  local floor_delta=$((f1 - f0)); [[ -n ${pid[floor]:-} ]] || floor_delta=0
  local other; other=$(awk -v d=$(((a1 - a0) - (s1 - s0) - floor_delta - (c1 - c0))) -v hz="$hz" -v w=$((w1 - w0)) \
    'BEGIN { v = 100 * d / hz * 1e9 / w; printf "%.0f", (v < 0 ? 0 : v) }')
  echo "  ($label: $(((w1 - w0) / 1000000)) ms; other processes used ${other}% of a core)" >&2
  ((other <= 25)) || warn "$label: other processes used ${other}% of a core during the run (machine busy)"
  cmds+=("taskset -c 0 $bench $*")
}
get() { awk -v k="$2" '$1 == "result" && $2 == k { v = $3 } END { if (v == "") v = "n/a"; print v }' "$logs/$1.txt"; }
cmds=()
target=127.0.0.1:${port[cellhubd]}

echo "bench-streams: setup: $((projects + 2)) projects, project 2 shared with $users viewers" >&2
"$bench" setup "$target" --token "$owner" --projects $((projects + 2)) --share-with "$workdir/names" --share-index 1 \
  >"$workdir/projects" 2>"$logs/setup.err" || { cat "$logs/setup.err" >&2; die "setup failed"; }
fan_project=$(sed -n 1p "$workdir/projects") dash_project=$(sed -n 2p "$workdir/projects")
tail -n +3 "$workdir/projects" >"$workdir/sustained-projects"
cmds+=("$bench setup $target --token \$(cat $workdir/owner.token) --projects $((projects + 2)) --share-with $workdir/names --share-index 1")
rss_setup=$(rss_mib "${pid[cellhubd]}")

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= fanout_rounds; r++)); do
  echo "== fan-out round $r/$fanout_rounds" >&2
  run "fanout-floor-r$r" floor fanout "127.0.0.1:${port[floor]}" --floor --streams "$streams" --connections "$connections" \
    --server-pid "${pid[floor]}"
  run "fanout-cellhubd-r$r" cellhubd fanout "$target" --token "$owner" --project "$fan_project" --streams "$streams" \
    --connections "$connections" --server-pid "${pid[cellhubd]}"
done
stop floor

echo "== subscribe storms" >&2
run storm-snapshot cellhubd storm "$target" --token "$owner" --project "$fan_project" --streams "$streams" \
  --connections "$connections" --rounds "$storm_rounds" --server-pid "${pid[cellhubd]}"
run storm-resume cellhubd storm "$target" --token "$owner" --project "$fan_project" --streams "$streams" \
  --connections "$connections" --rounds "$storm_rounds" --resume --resume-back 5 --expect-replayed 5 --server-pid "${pid[cellhubd]}"
echo "== dashboards" >&2
run dashboards cellhubd dashboards "$target" --token "$owner" --project "$dash_project" --tokens "$workdir/tokens" \
  --users "$users" --connections "$connections"
echo "== sustained" >&2
run sustained cellhubd sustained "$target" --token "$owner" --projects-file "$workdir/sustained-projects" --projects "$projects" \
  --streams "$streams" --connections "$connections" --rate "$rate" --seconds "$seconds" --server-pid "${pid[cellhubd]}"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
rss_end=$(rss_mib "${pid[cellhubd]}")
stop cellhubd
if grep -Eiq '(error|critical|fatal|warning)' "$logs/cellhubd.err"; then
  warn "cellhubd logged warnings/errors ($(grep -Eic '(error|critical|fatal|warning)' "$logs/cellhubd.err") lines; first ones below; see $logs/cellhubd.err):"$'\n'"$(
    grep -Ei '(error|critical|fatal|warning)' "$logs/cellhubd.err" | head -5 | sed 's/^/    /')"
fi

# --- checks: every stream, every change -----------------------------------------------------------
labels=()
for ((r = 1; r <= fanout_rounds; r++)); do labels+=("fanout-floor-r$r" "fanout-cellhubd-r$r"); done
labels+=(storm-snapshot storm-resume dashboards sustained)
for label in "${labels[@]}"; do
  for key in fanout_missing fanout_state_missing fanout_state_extra fanout_unexpected fanout_mixed_revisions \
    fanout_ended_early fanout_trigger_failures dashboards_missing dashboards_state_missing dashboards_state_extra \
    dashboards_unexpected dashboards_ended_early dashboards_trigger_failures storm_snapshot_failed \
    storm_snapshot_missing_snapshot storm_snapshot_wrong_replay storm_resume_failed storm_resume_missing_snapshot \
    storm_resume_wrong_replay storm_resume_position_lost sustained_missing sustained_unmatched \
    sustained_upload_failures sustained_ended_early; do
    v=$(get "$label" "$key")
    [[ $v == n/a || $v == 0 ]] || fail "$label: $key = $v (see $logs/$label.txt)"
  done
done
for ((r = 1; r <= fanout_rounds; r++)); do
  for s in floor cellhubd; do
    v=$(get "fanout-$s-r$r" fanout_ready)
    [[ $v == "$streams" ]] || fail "fanout-$s-r$r: only $v of $streams streams ready"
  done
done
v=$(get dashboards dashboards_ready)
[[ $v == "$users" ]] || fail "dashboards: only $v of $users streams ready"
v=$(get sustained sustained_events)
[[ $v != n/a && $v != 0 ]] || fail "sustained: no event delivered"

# --- report -------------------------------------------------------------------------------------
num() { awk -v v="$1" 'BEGIN { if (v == "n/a" || v == "") print "n/a"; else if (v == int(v)) printf "%d\n", v; else if (v < 10) printf "%.2f\n", v; else printf "%.1f\n", v }'; }
med() { tr ' ' '\n' | grep -v '^$' | grep -v n/a | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
per_round() { # server key: the values of every round
  local vals=
  for ((r = 1; r <= fanout_rounds; r++)); do vals+=" $(num "$(get "fanout-$1-r$r" "$2")")"; done
  echo "${vals# }"
}
over_rounds() { per_round "$@" | med | { read -r v; num "$v"; }; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
kib() { awk -v v="$1" 'BEGIN { if (v == "n/a") print v; else printf "%.2f", v / 1024 }'; }
mib() { awk -v v="$1" 'BEGIN { if (v == "n/a") print v; else printf "%.1f", v / 1024 }'; }
row() { printf '  %-58s %14s %14s %7s\n' "$@"; }
g() { num "$(get "$@")"; }

echo
echo "Real-time streams benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average before $load_before, after $load_after; run took $(($(date +%s) - started)) s)"
echo "  cellhubd serve --fast-commits --loops $loops and floor-server --loops $loops on core 1; cellhub-stream-bench on core 0"
echo "  $streams streams over $connections connections; fan-out: 5 uploads (floor: triggers) 1 s apart per run, $fanout_rounds run(s) per server, floor and cellhubd alternating; medians over runs"
echo
row "1. fan-out, one change → $streams WatchProject subscribers" cellhubd floor ratio
for k in min p50 p99 max; do
  c=$(over_rounds cellhubd fanout_${k}_ms) f=$(over_rounds floor fanout_${k}_ms)
  label="   trigger call start → first new event, $k, ms"
  [[ $k != min ]] || label="   first arrival on any stream (≈ the server's side), ms"
  row "$label" "$c" "$f" "$(ratio "$c" "$f")"
done
c=$(over_rounds cellhubd fanout_state_p99_ms) f=$(over_rounds floor fanout_state_p99_ms)
row "   … → PROJECT_STATS_UPDATE (floor: its event), p99, ms" "$c" "$f" "$(ratio "$c" "$f")"
echo "     p99 per round, ms: cellhubd $(per_round cellhubd fanout_p99_ms); floor $(per_round floor fanout_p99_ms)"
row "   trigger call (UploadImages / Trigger), ms" "$(over_rounds cellhubd fanout_trigger_call_ms)" "$(over_rounds floor fanout_trigger_call_ms)" ""
row "   commit → receipt (wall clock, ms resolution) p50 / p99, ms" \
  "$(over_rounds cellhubd fanout_commit_to_receipt_p50_ms) / $(over_rounds cellhubd fanout_commit_to_receipt_p99_ms)" "-" ""
row "   event bytes (PROJECT_STATS_UPDATE)" "$(over_rounds cellhubd fanout_state_bytes)" "$(over_rounds floor fanout_state_bytes)" ""
row "   all $streams streams ready after opening, ms" "$(over_rounds cellhubd fanout_open_ms)" "$(over_rounds floor fanout_open_ms)" \
  "$(ratio "$(over_rounds cellhubd fanout_open_ms)" "$(over_rounds floor fanout_open_ms)")"
echo "     deliveries: every stream got every change in every run: $( [[ $failures == *fanout-* ]] && echo NO || echo "yes ($((5 * streams)) per run, counted per stream)")"
echo
c=$(kib "$(get fanout-cellhubd-r1 rss_per_stream_bytes)") f=$(kib "$(get fanout-floor-r1 rss_per_stream_bytes)")
row "2. RSS per idle open stream, KiB (round 1)" "$c" "$f" "$(ratio "$c" "$f")"
c=$(kib "$(get fanout-cellhubd-r1 anon_per_stream_bytes)") f=$(kib "$(get fanout-floor-r1 anon_per_stream_bytes)")
row "   of which RssAnon (heap; no file pages), KiB" "$c" "$f" "$(ratio "$c" "$f")"
for ((r = 1; r <= fanout_rounds; r++)); do
  row "   round $r VmRSS MiB: connections → $streams streams → closed" \
    "$(mib "$(get "fanout-cellhubd-r$r" rss_before_kib)") → $(mib "$(get "fanout-cellhubd-r$r" rss_streams_kib)") → $(mib "$(get "fanout-cellhubd-r$r" rss_after_close_kib)")" \
    "$(mib "$(get "fanout-floor-r$r" rss_before_kib)") → $(mib "$(get "fanout-floor-r$r" rss_streams_kib)") → $(mib "$(get "fanout-floor-r$r" rss_after_close_kib)")" ""
done
echo "     cellhubd VmRSS: $rss_start MiB at start, $rss_setup MiB after the setup (SQLite page caches), $rss_end MiB at the end"
echo
echo "3. dashboards, $users users, WatchDashboard each; the owner uploads into a project shared with all (median of 5 uploads):"
echo "     upload call start → DASHBOARD_METRICS_UPDATE p50 $(g dashboards dashboards_p50_ms) ms, p99 $(g dashboards dashboards_p99_ms) ms, max $(g dashboards dashboards_max_ms) ms" \
  "(first arrival $(g dashboards dashboards_min_ms) ms; upload call $(g dashboards dashboards_trigger_call_ms) ms)"
echo "     deliveries: $( [[ $failures == *dashboards* ]] && echo "MISSING (see FAILED below)" || echo "all $users users got all 5 updates")"
echo
echo "4. subscribe storm, $streams WatchProject opened at once (median of $storm_rounds rounds):"
echo "     snapshot path: all SNAPSHOT+CAUGHT_UP within $(g storm-snapshot storm_snapshot_total_ms) ms (per stream p50 $(g storm-snapshot storm_snapshot_p50_ms), p99 $(g storm-snapshot storm_snapshot_p99_ms) ms)"
echo "     resume path:   all CAUGHT_UP within $(g storm-resume storm_resume_total_ms) ms (per stream p50 $(g storm-resume storm_resume_p50_ms), p99 $(g storm-resume storm_resume_p99_ms) ms; $(g storm-resume storm_resume_replayed) changes replayed per stream, no snapshot)"
echo
echo "5. sustained, $rate uploads/s round-robin into $projects projects for $seconds s, $streams watchers ($((streams / projects)) per project):"
echo "     upload call start → PROJECT_STATS_UPDATE p50 $(g sustained sustained_p50_ms) ms, p99 $(g sustained sustained_p99_ms) ms, max $(g sustained sustained_max_ms) ms" \
  "(upload call p99 $(g sustained sustained_upload_p99_ms) ms)"
echo "     $(g sustained sustained_events_per_s) delivered events/s ($(g sustained sustained_events) in all; a PROJECT_IMAGE_COUNT_CHANGE and a PROJECT_STATS_UPDATE per upload and watcher)"
echo "     server CPU $(g sustained sustained_cpu_s) s = $(g sustained sustained_cpu_us_per_event) µs per delivered event" \
  "($(g sustained sustained_cpu_ms_per_upload) ms per upload with its watchers; an upload alone $(g sustained sustained_baseline_cpu_ms_per_upload) ms;" \
  "less that: $(g sustained sustained_cpu_us_per_event_marginal) µs per delivered event)"
echo
row "teardown: the client closes $streams streams (medians)" cellhubd floor ""
row "   first call slower than 20 ms started, ms after the close" "$(over_rounds cellhubd fanout_teardown_first_slow_ms)" "$(over_rounds floor fanout_teardown_first_slow_ms)" ""
row "   calls slower than 20 ms until, ms after the close" "$(over_rounds cellhubd fanout_teardown_busy_ms)" "$(over_rounds floor fanout_teardown_busy_ms)" ""
row "   slowest call on a new connection, ms" "$(over_rounds cellhubd fanout_teardown_slowest_ms)" "$(over_rounds floor fanout_teardown_slowest_ms)" ""
row "   server CPU in the watched window, ms" "$(over_rounds cellhubd fanout_teardown_cpu_ms)" "$(over_rounds floor fanout_teardown_cpu_ms)" ""
row "   after storm rounds (snapshot / resume): slow until, ms" "$(g storm-snapshot storm_snapshot_teardown_busy_ms) / $(g storm-resume storm_resume_teardown_busy_ms)" "" ""
row "     slowest call, ms" "$(g storm-snapshot storm_snapshot_teardown_slowest_ms) / $(g storm-resume storm_resume_teardown_slowest_ms)" "" ""
echo "     (timelines: 'teardown:' lines in $logs/fanout-*.txt and storm-*.txt)"
if [[ -n $warnings ]]; then echo; echo "WARNINGS (numbers above may be off):"; printf '%s' "$warnings"; fi
echo
echo "Commands (outputs in $logs):"
echo "  $cellhubd users add NAME --data-dir $data   (owner, viewer-0001 … viewer-$(printf '%04d' "$users"))"
echo "  ${cmd[cellhubd]}"
echo "  ${cmd[floor]}"
for c in "${cmds[@]}"; do echo "  ${c//$owner/\$(cat $workdir/owner.token)}"; done
echo "  RSS: VmRSS of /proc/PID/status; CPU: utime+stime of /proc/PID/stat ($hz ticks/s), read by the client (--server-pid)"
if [[ -n $failures ]]; then
  echo
  echo "FAILED (streams or deliveries missing; the figures above do not cover every subscriber):"
  printf '%s' "$failures"
  exit 1
fi
