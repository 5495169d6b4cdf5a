#!/usr/bin/env bash
# Builds the Go client offline in GOPATH mode from Debian packages: every package under Clients/go
# and the example binary, installed as ${CELLHUB_GO_WORK:-<repo>/.build/go}/bin/cellhub-watch
# (its path is printed last). No arguments; works from any directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cellhub_go_check_packages "${cellhub_go_packages[@]}"
cellhub_go_env
mapfile -t pkgs < <(cellhub_go_import_paths)
cd "$cellhub_go_work"
go build "${pkgs[@]}"
go build -o "$cellhub_go_work/bin/cellhub-watch" cellhub.dev/client/examples/watch
echo "$cellhub_go_work/bin/cellhub-watch"
