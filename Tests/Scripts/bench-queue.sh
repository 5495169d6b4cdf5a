#!/usr/bin/env bash
# Segmentation queue benchmark: how fast cellhubd hands jobs to workers and takes their results,
# with durable commits (the default) and with --fast-commits, next to the disk's commit floor.
#
# Setup (once): one user, one worker token (`cellhubd users add --worker`), one project with N
# 67-byte 1x1 PNGs (UploadImages, 100 per call) in a template data directory; every run starts
# from a fresh copy of it. Servers: release cellhubd --workers 0 --loops 1 pinned to core 1; the
# client (cellhub-queue-bench, our Swift client) pinned to core 0. Workers: 16 no-op workers, each
# its own connection and ClaimJobs stream (max_concurrent_jobs 1), completing every assignment at
# once with CompleteJob (cell_count 1, one triangle).
#   backlog   all N images enqueued (EnqueueSegmentation, `unsegmented`) before any worker
#             connects; jobs/s from the first assignment to the last completion (every job
#             assigned exactly once and completed, else the run fails); dispatch latency per
#             worker: CompleteJob return (slot free) -> next assignment arrival, p50/p99.
#             Three servers: durable (default --blocking-threads 4), durable --blocking-threads 16,
#             --fast-commits (no fsync: the ceiling when the disk is free).
#   trickle   the workers connect and idle first; batches of 16 image ids are enqueued at a fixed
#             rate (open loop); latency: EnqueueSegmentation return -> assignment arrival, per job.
#             Durable and --fast-commits.
#   floor     a plain loop of one-INSERT durable SQLite transactions (python3's sqlite3, WAL,
#             synchronous=FULL) in the work dir, pinned to core 1: commits/s. A job needs at least
#             two commits (claim + complete), so jobs/s <= floor/2 unless commits are grouped.
# Rounds alternate the servers (order rotated each round); the table shows medians over rounds
# with the spread of jobs/s. Warns about cellhubd log warnings/errors, a non-zero exit after
# SIGTERM, and runs during which other processes used more than 25% of a core (shared machine).
#
# Usage: Tests/Scripts/bench-queue.sh [--jobs N] [--rounds N] [--workers N] [--max-concurrent-jobs N]
#          [--trickle-jobs N] [--trickle-rate R] [--batch N] [--floor-seconds S] [--quick]
#          [--build-path DIR] [--no-build] [--workdir DIR]
#   --jobs N                 backlog size (default 20000, or $QUEUE_BENCH_JOBS)
#   --rounds N               rounds, alternating the servers (default 3)
#   --workers N              no-op workers, one ClaimJobs stream each (default 16)
#   --max-concurrent-jobs N  ClaimJobsRequest.max_concurrent_jobs of each worker (default 1)
#   --trickle-jobs N         jobs per trickle run (default 1600)
#   --trickle-rate R         trickle enqueue calls per second (default 20)
#   --batch N                images per trickle enqueue call (default 16)
#   --floor-seconds S        duration of each commit-floor run (default 3)
#   --quick                  smoke run: 2000 jobs, 1 round, 320 trickle jobs, 1 s floor
#   --build-path DIR         SwiftPM scratch path (default .build)
#   --no-build               use the release binaries already in the build path
#   --workdir DIR            data directories, tokens, logs (default: $TMPDIR/cellhub-bench-queue)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

jobs=${QUEUE_BENCH_JOBS:-20000} rounds=3 workers=16 mcj=1 trickle_jobs=1600 trickle_rate=20 batch=16
floor_seconds=3 quick=0 build=1 build_path=$root/.build workdir=${TMPDIR:-/tmp}/cellhub-bench-queue
die() { echo "bench-queue: $*" >&2; exit 1; }
warnings=
warn() { echo "bench-queue: WARNING: $*" >&2; warnings+="  $*"$'\n'; }
explicit=" "
while (($#)); do
  case $1 in
    --jobs) jobs=${2:?}; explicit+="jobs "; shift 2 ;;
    --rounds) rounds=${2:?}; explicit+="rounds "; shift 2 ;;
    --workers) workers=${2:?}; shift 2 ;;
    --max-concurrent-jobs) mcj=${2:?}; shift 2 ;;
    --trickle-jobs) trickle_jobs=${2:?}; explicit+="trickle_jobs "; shift 2 ;;
    --trickle-rate) trickle_rate=${2:?}; shift 2 ;;
    --batch) batch=${2:?}; shift 2 ;;
    --floor-seconds) floor_seconds=${2:?}; explicit+="floor_seconds "; shift 2 ;;
    --quick) quick=1; shift ;;
    --build-path) build_path=$(cd "$root" && mkdir -p "${2:?}" && cd "$2" && pwd); shift 2 ;;
    --no-build) build=0; shift ;;
    --workdir) workdir=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
if ((quick)); then
  [[ $explicit == *" jobs "* ]] || jobs=2000
  [[ $explicit == *" rounds "* ]] || rounds=1
  [[ $explicit == *" trickle_jobs "* ]] || trickle_jobs=320
  [[ $explicit == *" floor_seconds "* ]] || floor_seconds=1
fi
for v in jobs rounds workers mcj trickle_jobs trickle_rate batch floor_seconds; do
  [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || die "--${v//_/-} wants a whole number >= 1"
done
((mcj <= 64)) || die "--max-concurrent-jobs is at most 64"
((batch <= 10000)) || die "--batch is at most 10000"

# --- tools, build -----------------------------------------------------------------------------
command -v taskset >/dev/null || die "taskset is needed (util-linux)"
(($(nproc) >= 2)) || die "needs 2 cores (servers on core 1, the client on core 0)"
py=$(command -v python3) || die "python3 is needed (the commit floor)"
"$py" -c 'import sqlite3' 2>/dev/null || die "$py lacks the sqlite3 module"
if ((build)); then
  echo "bench-queue: swift build -c release --scratch-path $build_path (cellhubd, cellhub-queue-bench)" >&2
  (cd "$root" && swift build -c release --scratch-path "$build_path" --product cellhubd >&2 &&
    swift build -c release --scratch-path "$build_path" --product cellhub-queue-bench >&2) || die "release build failed"
fi
cellhubd=$build_path/release/cellhubd bench=$build_path/release/cellhub-queue-bench
[[ -x $cellhubd && -x $bench ]] || die "release binaries missing in $build_path (run without --no-build)"
hz=$(getconf CLK_TCK)
[[ $(stat -f -c %T "$(dirname "$workdir")" 2>/dev/null) == tmpfs ]] &&
  warn "the work dir is on tmpfs: fsync costs nothing there, durable and fast commits will look alike"

# --- work dir, template data directory --------------------------------------------------------
mkdir -p "$workdir"
rm -rf "${workdir:?}"/{template,run-data,logs,floor.db*,results.tsv,ids}
mkdir -p "$workdir/logs"
logs=$workdir/logs template=$workdir/template results=$workdir/results.tsv
: >"$results"
"$cellhubd" users add queue-bench-user --data-dir "$template" >"$workdir/user.token" 2>"$logs/users.err" ||
  die "cellhubd users add failed: $(cat "$logs/users.err")"
"$cellhubd" users add queue-bench-worker --worker --data-dir "$template" >"$workdir/worker.token" 2>>"$logs/users.err" ||
  die "cellhubd users add --worker failed: $(cat "$logs/users.err")"
user_token=$(cat "$workdir/user.token") worker_token=$(cat "$workdir/worker.token")

# --- servers ----------------------------------------------------------------------------------
srv_pid= srv_port= srv_log= srv_cmd=
stop_server() {
  [[ -n $srv_pid ]] || return 0
  local pid=$srv_pid; srv_pid=
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      warn "cellhubd (pid $pid, $srv_log) still running 15 s after SIGTERM; killed it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  local rc=0; wait "$pid" 2>/dev/null || rc=$?
  ((rc == 0)) || warn "cellhubd exited with status $rc after SIGTERM ($srv_log.err)"
  # Log lines are "TIMESTAMP LEVEL cellhubd: ..."; anything from warning up, and traps.
  local bad='^[^ ]+ (warning|error|critical) |fatal|panic|Fatal error'
  if grep -Eq "$bad" "$srv_log.err"; then
    warn "cellhubd logged $(grep -Ec "$bad" "$srv_log.err") warning/error lines (first of $srv_log.err):"$'\n'"$(
      grep -E "$bad" "$srv_log.err" | head -5 | sed 's/^/    /')"
  fi
}
trap 'stop_server' EXIT
trap 'echo "bench-queue: interrupted; stopping the server" >&2; exit 130' INT TERM

start_server() { # log-name data-dir extra-flags...
  srv_log=$logs/$1; local data=$2; shift 2
  local cmd=("$cellhubd" serve --host 127.0.0.1 --port 0 --workers 0 --loops 1 --data-dir "$data" "$@")
  taskset -c 1 "${cmd[@]}" >"$srv_log.out" 2>"$srv_log.err" &
  srv_pid=$!
  srv_cmd="taskset -c 1 ${cmd[*]}"
  for _ in $(seq 300); do
    grep -q '^listening on ' "$srv_log.out" 2>/dev/null && break
    kill -0 "$srv_pid" 2>/dev/null || { cat "$srv_log.err" >&2; die "cellhubd exited at startup ($srv_cmd)"; }
    sleep 0.1
  done
  [[ $(head -1 "$srv_log.out") =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || die "cellhubd did not print 'listening on 127.0.0.1:PORT'"
  srv_port=${BASH_REMATCH[1]}
}
source "$root/Tests/Scripts/bench/cpu.sh"  # cpu_ticks PID, child_ticks, all_ticks
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$round" "$2" "$3" >>"$results"; } # mode key value

# --- setup: the template's project and images (fast commits: only the result is kept) ---------
images=$((jobs > trickle_jobs ? jobs : trickle_jobs))
echo "bench-queue: uploading $images images into the template data directory" >&2
start_server setup "$template" --fast-commits
t0=$(date +%s)
project=$(taskset -c 0 "$bench" setup "127.0.0.1:$srv_port" --token "$user_token" --images "$images" --ids-file "$workdir/ids" 2>"$logs/setup.err") ||
  die "setup failed: $(cat "$logs/setup.err")"
echo "bench-queue: $images images in $(($(date +%s) - t0)) s (project $project)" >&2
stop_server

# --- runs -------------------------------------------------------------------------------------
floor() { # -> commits/s
  rm -f "$workdir"/floor.db*
  taskset -c 1 "$py" - "$workdir/floor.db" "$floor_seconds" <<'EOF'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")
payload, n, t0 = b"x" * 100, 0, time.monotonic()
while time.monotonic() - t0 < float(sys.argv[2]):
    db.execute("BEGIN")
    db.execute("INSERT INTO t(v) VALUES (?)", (payload,))
    db.execute("COMMIT")
    n += 1
print(f"{n / (time.monotonic() - t0):.1f}")
EOF
  rm -f "$workdir"/floor.db*
}

run() { # mode kind(backlog|trickle) server-flags...
  local mode=$1 kind=$2; shift 2
  rm -rf "$workdir/run-data"
  cp -a "$template" "$workdir/run-data"
  start_server "$mode-r$round" "$workdir/run-data" "$@"
  local args=(--token "$user_token" --worker-token "$worker_token" --project "$project" --workers "$workers" --max-concurrent-jobs "$mcj")
  if [[ $kind == backlog ]]; then args+=(--jobs "$jobs")
  else args+=(--ids-file "$workdir/ids" --jobs "$trickle_jobs" --batch "$batch" --rate "$trickle_rate"); fi
  local out=$logs/$mode-r$round.bench s0 c0 a0 w0 rc=0
  s0=$(cpu_ticks "$srv_pid") c0=$(child_ticks) a0=$(all_ticks) w0=$(date +%s%N)
  timeout --foreground -k 5 $((jobs / 20 + 600)) taskset -c 0 "$bench" "$kind" "127.0.0.1:$srv_port" "${args[@]}" >"$out" 2>&1 || rc=$?
  local s1 c1 a1 w1
  s1=$(cpu_ticks "$srv_pid") c1=$(child_ticks) a1=$(all_ticks) w1=$(date +%s%N)
  if ((rc != 0)); then
    tail -20 "$out" >&2; tail -5 "$srv_log.err" >&2
    die "$mode round $round failed (exit $rc); see $out and $srv_log.err"
  fi
  stop_server
  local wall_s other_pct
  wall_s=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  other_pct=$(awk -v all=$((a1 - a0)) -v s=$((s1 - s0)) -v c=$((c1 - c0)) -v w="$wall_s" -v hz="$hz" \
    'BEGIN { o = (all - s - c) / hz / w * 100; printf "%.0f", (o < 0 ? 0 : o) }')
  ((other_pct <= 25)) || warn "$mode round $round: other processes used ${other_pct}% of a core during the run"
  while read -r tag key value; do
    [[ $tag == result ]] && record "$mode" "$key" "$value"
  done <"$out"
  record "$mode" server_cpu_ms_per_job "$(awk -v t=$((s1 - s0)) -v hz="$hz" -v n="$(awk '$2 == "jobs" { print $3 }' "$out")" \
    'BEGIN { printf "%.3f", (n > 0 ? t / hz * 1000 / n : 0) }')"
  record "$mode" other_cpu_pct "$other_pct"
  printf '  %-22s %8s jobs/s   latency p50 %7s ms  p99 %7s ms  (%s s; other processes %s%% of a core)\n' "$mode" \
    "$(awk '$2 == "jobs_per_s" { print $3 }' "$out")" "$(awk '$2 == "latency_p50_ms" { print $3 }' "$out")" \
    "$(awk '$2 == "latency_p99_ms" { print $3 }' "$out")" "$wall_s" "$other_pct" >&2
}

modes=(backlog-durable backlog-fast backlog-durable-bt16 trickle-durable trickle-fast)
echo "bench-queue: $rounds round(s); $jobs backlog jobs, $trickle_jobs trickle jobs ($batch per call, $trickle_rate calls/s); $workers workers x max_concurrent_jobs $mcj; work dir $workdir" >&2
load=$(cut -d' ' -f1-3 /proc/loadavg) started=$(date +%s)
for ((round = 1; round <= rounds; round++)); do
  echo "round $round/$rounds" >&2
  commits=$(floor) || die "the commit floor (python3 sqlite3) failed"
  record floor commits_per_s "$commits"
  printf '  %-22s %8s commits/s (durable one-INSERT transactions)\n' floor "$commits" >&2
  n=${#modes[@]}
  for ((i = 0; i < n; i++)); do
    mode=${modes[$(((i + round - 1) % n))]}
    case $mode in
      backlog-durable) run "$mode" backlog ;;
      backlog-durable-bt16) run "$mode" backlog --blocking-threads 16 ;;
      backlog-fast) run "$mode" backlog --fast-commits ;;
      trickle-durable) run "$mode" trickle ;;
      trickle-fast) run "$mode" trickle --fast-commits ;;
    esac
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -----------------------------------------------------------------------------------
echo
echo "Segmentation queue benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average before $load, after $load_after; $(($(date +%s) - started)) s)"
echo "  cellhubd --workers 0 --loops 1 on core 1, cellhub-queue-bench on core 0; $workers no-op workers x max_concurrent_jobs $mcj"
echo "  backlog: $jobs jobs enqueued before the workers connect; latency = CompleteJob return -> next assignment (per worker)"
echo "  trickle: $trickle_jobs jobs, $batch per EnqueueSegmentation at $trickle_rate calls/s; latency = enqueue return -> assignment"
echo "  medians of $rounds round(s); floor = durable one-INSERT SQLite transactions/s on the same disk"
echo
"$py" - "$results" "${modes[@]}" <<'EOF'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
values = {}
for mode, rnd, key, value in rows:
    values.setdefault((mode, key), []).append(float(value))
med = lambda m, k: statistics.median(values[(m, k)]) if (m, k) in values else float("nan")
floor = med("floor", "commits_per_s")
print(f"{'mode':<22} {'jobs/s':>9} {'(min-max)':>15} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'vs floor/2':>10} {'srv CPU ms/job':>14}")
print(f"{'floor (commits/s)':<22} {floor:>9.0f} {'(%.0f-%.0f)' % (min(values[('floor', 'commits_per_s')]), max(values[('floor', 'commits_per_s')])):>15}")
for mode in sys.argv[2:]:
    if (mode, "jobs_per_s") not in values: continue
    js = values[(mode, "jobs_per_s")]
    print(f"{mode:<22} {med(mode, 'jobs_per_s'):>9.1f} {'(%.0f-%.0f)' % (min(js), max(js)):>15} {med(mode, 'latency_p50_ms'):>8.2f} "
          f"{med(mode, 'latency_p99_ms'):>8.2f} {med(mode, 'latency_max_ms'):>8.1f} {med(mode, 'jobs_per_s') / (floor / 2):>10.2f} "
          f"{med(mode, 'server_cpu_ms_per_job'):>14.3f}")
neg = [(m, int(sum(values.get((m, "latency_negative"), [])))) for m in sys.argv[2:]]
neg = [f"{m} {n}" for m, n in neg if n]
if neg:
    print("latency samples < 0 (assignment arrived before the response it is measured from), summed over rounds: " + ", ".join(neg))
for m in sys.argv[2:]:
    if (m, "enqueue_call_p50_ms") in values:
        print(f"{m}: EnqueueSegmentation call p50 {med(m, 'enqueue_call_p50_ms'):.2f} ms, p99 {med(m, 'enqueue_call_p99_ms'):.2f} ms; "
              f"call start late (client) p99 {med(m, 'enqueue_start_late_p99_ms'):.2f} ms")
EOF
if [[ -n $warnings ]]; then echo; echo "WARNINGS (numbers above may be off):"; printf '%s' "$warnings"; fi
echo
echo "Commands (PORT = the port printed on 'listening on 127.0.0.1:PORT'; DATA = a fresh copy of $template):"
echo "  $cellhubd users add queue-bench-user --data-dir DATA; $cellhubd users add queue-bench-worker --worker --data-dir DATA"
echo "  taskset -c 0 $bench setup 127.0.0.1:PORT --token USER_TOKEN --images $images --ids-file $workdir/ids"
echo "  taskset -c 1 $cellhubd serve --host 127.0.0.1 --port 0 --workers 0 --loops 1 --data-dir DATA [--fast-commits | --blocking-threads 16]"
echo "  taskset -c 0 $bench backlog 127.0.0.1:PORT --token USER_TOKEN --worker-token WORKER_TOKEN --project $project --jobs $jobs --workers $workers --max-concurrent-jobs $mcj"
echo "  taskset -c 0 $bench trickle 127.0.0.1:PORT --token USER_TOKEN --worker-token WORKER_TOKEN --project $project --ids-file $workdir/ids --jobs $trickle_jobs --batch $batch --rate $trickle_rate --workers $workers --max-concurrent-jobs $mcj"
echo "  floor: taskset -c 1 python3 (sqlite3; PRAGMA journal_mode=WAL; synchronous=FULL; BEGIN; INSERT one row; COMMIT) for ${floor_seconds}s"
echo "  tokens: $workdir/user.token, $workdir/worker.token; outputs of every run: $logs; per-round values: $results"
