#!/usr/bin/env bash
# Builds (build.sh), vets and tests the Go client against a real cellhubd:
# $CELLHUB_CELLHUBD, default <repo>/.build/release/cellhubd. Extra arguments go to `go test`
# (e.g. -run Restart -count=3). Exits non-zero on any failure or missing Debian package.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/env.sh"
cellhub_go_check_packages "${cellhub_go_packages[@]}"
"$here/build.sh" >/dev/null
cellhub_go_env
bin=${CELLHUB_CELLHUBD:-$here/../../.build/release/cellhubd}
[[ -x $bin ]] || { echo "test.sh: cellhubd not found at $bin: build it or set CELLHUB_CELLHUBD" >&2; exit 1; }
export CELLHUB_CELLHUBD=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
mapfile -t pkgs < <(cellhub_go_import_paths)
# Hand-written sources must be gofmt-clean (the generated ones are by construction).
unformatted=$(cd "$here" && gofmt -l $(find . -name '*.go' -not -path './cellhubv1/*'))
if [[ -n $unformatted ]]; then echo "test.sh: not gofmt-formatted: $unformatted" >&2; exit 1; fi
cd "$cellhub_go_work"
go vet "${pkgs[@]}"
go test -count=1 "$@" "${pkgs[@]}"
