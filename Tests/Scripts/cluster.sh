#!/usr/bin/env bash
# A CellHub cluster on this machine, to try: a temporary PostgreSQL (initdb, Unix socket),
# three `cellhubd serve` nodes on it sharing one --blob-dir (each with its own --data-dir),
# and nginx in front as the gRPC load balancer (grpc_pass to the nodes). Prints the endpoint,
# the admin token and how to add a user; Ctrl-C stops everything and removes the directory.
#
#   Tests/Scripts/cluster.sh [--nodes N] [--port P] [--keep] [--print-env] [-- serve args…]
#
# --print-env prints shell assignments (CELLHUB_ENDPOINT=…) instead, for scripts. The work is
# done by Tests/Python/cluster_support.py (the same code the cluster tests use). cellhubd is
# $CELLHUB_CELLHUBD, else .build/release/cellhubd (swift build -c release --product cellhubd).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python=$root/.venv/bin/python
[[ -x $python ]] || python=python3
export CELLHUB_CELLHUBD=${CELLHUB_CELLHUBD:-$root/.build/release/cellhubd}
[[ -x $CELLHUB_CELLHUBD ]] || { echo "no cellhubd at $CELLHUB_CELLHUBD: swift build -c release --product cellhubd, or set CELLHUB_CELLHUBD" >&2; exit 1; }
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || { echo "nginx is missing: Tests/Scripts/setup.sh installs it" >&2; exit 1; }
cd "$root/Tests/Python"
exec "$python" cluster_support.py "$@"
