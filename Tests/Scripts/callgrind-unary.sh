#!/usr/bin/env bash
# Instructions per unary call, counted by valgrind's callgrind (a count the machine's noise does
# not move): release cellhubd (`serve --interop --loops 1 --busy-poll-us 0`, UnaryCall with a
# 14-byte reply) next to the bare C server on libnghttp2 (../shared/peers/ceiling/h2canned.c,
# canned 94-byte reply), the same h2load load (-c 16 -m 32 -t 1) on each: 5,000 calls to warm
# up, a callgrind dump, N calls, a second dump; the second dump's instructions (every thread)
# divided by N. The difference is what Swift, our runtime and our codec add over nghttp2.
# Busy polling is off: a spinning loop would count instructions that do no work. With --tls,
# cellhubd is counted a second time serving TLS 1.3 (certificates from Tests/Python/tls_pki.py,
# h2load's https, reused connections): what TLS adds to a call, free of the machine's noise.
#
# Usage: Tests/Scripts/callgrind-unary.sh [--calls N] [--no-build] [--top K] [--tls]
#   --calls N    calls counted per server (default 20000)
#   --no-build   use the release cellhubd already built
#   --top K      also print cellhubd's K most expensive functions (self instructions per call)
#   --tls        also count cellhubd over TLS
#   --keep FILE  keep cellhubd's callgrind dump (for callgrind_annotate --tree=caller ...)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
calls=20000 build=1 top=0 tls=0 keep=
die() { echo "callgrind-unary: $*" >&2; exit 1; }
while (($#)); do
  case $1 in
    --calls) calls=${2:?}; shift 2 ;;
    --no-build) build=0; shift ;;
    --top) top=${2:?}; shift 2 ;;
    --tls) tls=1; shift ;;
    --keep) keep=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
for tool in valgrind callgrind_control h2load gcc objcopy; do command -v $tool >/dev/null || die "$tool is needed"; done
ceiling_src=$root/../shared/peers/ceiling/h2canned.c
[[ -f $ceiling_src ]] || die "the ceiling server's source is missing ($ceiling_src)"
if ((build)); then (cd "$root" && swift build -c release --product cellhubd >&2) || die "release build failed"; fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cellhub-callgrind.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
py=$root/.venv/bin/python
[[ -x $py ]] || py=python3
"$py" "$root/Tests/Scripts/bench/benchtool.py" bodies "$work" --unary-size 10 --stream-count 1 --stream-size 1 >/dev/null ||
  die "cannot write the request body (run Tests/Scripts/setup.sh)"
gcc -O2 -o "$work/h2canned" "$ceiling_src" -lnghttp2 || die "cannot build the ceiling server"
# valgrind 3.19 cannot read the Swift toolchain's debug info: count a copy without it.
objcopy --strip-debug "$root/.build/release/cellhubd" "$work/cellhubd"

scheme=http
load() { # port path calls
  h2load -n "$3" -c 16 -m 32 -t 1 -H content-type:application/grpc -H te:trailers -d "$work/unary-request.bin" \
    "$scheme://127.0.0.1:$1$2" | grep -q "$3 succeeded" || die "h2load: not all $3 calls succeeded on $2"
}

count() { # name port path command...
  local name=$1 port=$2 path=$3; shift 3
  valgrind --tool=callgrind --callgrind-out-file="$work/$name.%p" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  local pid=$!
  for _ in $(seq 240); do
    [[ $port != 0 ]] && nc -z 127.0.0.1 "$port" 2>/dev/null && break
    grep -q '^listening on' "$work/$name.out" 2>/dev/null && break
    kill -0 $pid 2>/dev/null || { cat "$work/$name.err" >&2; die "$name exited at startup"; }
    sleep 0.5
  done
  [[ $port == 0 ]] && port=$(grep -oP 'listening on 127.0.0.1:\K[0-9]+' "$work/$name.out")
  load "$port" "$path" 5000
  callgrind_control -d $pid >/dev/null
  load "$port" "$path" "$calls"
  callgrind_control -d $pid >/dev/null
  sleep 1
  kill $pid; wait $pid 2>/dev/null || true
  local ir; ir=$(grep -h '^summary' "$work/$name.$pid.2" | awk '{print $2}')
  [[ -n $ir ]] || die "no second callgrind dump for $name"
  echo "$ir" >"$work/$name.ir"
  cp "$work/$name.$pid.2" "$work/$name.dump"
}

port=$(( (RANDOM % 20000) + 30000 ))
count ceiling "$port" /bench.v1.Bench/Unary "$work/h2canned" "$port"
count cellhubd 0 /grpc.testing.TestService/UnaryCall "$work/cellhubd" serve --host 127.0.0.1 --port 0 \
  --data-dir "$work/data" --interop --loops 1 --busy-poll-us 0 --workers 0

if ((tls)); then
  "$py" "$root/Tests/Python/tls_pki.py" "$work/pki" >/dev/null || die "cannot make the test certificates (openssl CLI?)"
  scheme=https
  count cellhubd-tls 0 /grpc.testing.TestService/UnaryCall "$work/cellhubd" serve --host 127.0.0.1 --port 0 \
    --data-dir "$work/data-tls" --interop --loops 1 --busy-poll-us 0 --workers 0 \
    --tls-cert "$work/pki/server-chain.pem" --tls-key "$work/pki/server.key"
fi

c=$(cat "$work/ceiling.ir") s=$(cat "$work/cellhubd.ir")
echo "instructions per unary call (callgrind, $calls calls after 5,000 to warm up, every thread):"
printf '  %-40s %10d\n' "ceiling (C on libnghttp2, canned reply)" $((c / calls))
printf '  %-40s %10d   %.2fx the ceiling\n' "cellhubd (interop UnaryCall)" $((s / calls)) "$(echo "$s / $c" | bc -l)"
if ((tls)); then
  t=$(cat "$work/cellhubd-tls.ir")
  printf '  %-40s %10d   %+.1f %% over cleartext cellhubd\n' "cellhubd over TLS 1.3" $((t / calls)) "$(echo "($t - $s) * 100 / $s" | bc -l)"
fi
[[ -z $keep ]] || cp "$work/cellhubd.dump" "$keep"
if ((top > 0)); then
  echo "cellhubd's most expensive functions, self instructions per call:"
  callgrind_annotate --inclusive=no --threshold=100 "$work/cellhubd.dump" 2>/dev/null |
    grep -E '^ *[0-9,]+ \(' | grep -v 'PROGRAM TOTALS\|clone.S\|start_thread\|GroupC9loopCount' |
    # awk reads to the end (no `head`): an early-closed pipe would fail the script under pipefail
    awk -v n="$calls" -v top="$top" 'NR <= top { gsub(",", "", $1); ir = $1; $1 = ""; $2 = ""; printf "  %8.0f %s\n", ir / n, substr($0, 3, 150) }'
fi
