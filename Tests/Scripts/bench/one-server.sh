# Sourced by the client benchmarks (bench-cli.sh, bench-python-client.sh): one release
# cellhubd --workers 0 on core 1 with a fresh data directory and one user, stopped on exit.
# Sets: work (a temporary directory), server (its pid), address (HOST:PORT), token.
work=$(mktemp -d "${TMPDIR:-/tmp}/cellhub-bench.XXXXXX")
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
token=$(.build/release/cellhubd users add bench --data-dir "$work/data" 2>/dev/null)
taskset -c 1 .build/release/cellhubd serve --host 127.0.0.1 --port 0 --data-dir "$work/data" --workers 0 \
  >"$work/stdout" 2>"$work/stderr" &
server=$!
for _ in $(seq 100); do grep -q listening "$work/stdout" 2>/dev/null && break; sleep 0.1; done
address=$(sed -n 's/^listening on //p' "$work/stdout")
[[ -n $address ]] || { cat "$work/stderr" >&2; exit 1; }
