#!/usr/bin/env bash
# Installs what CellHub needs on a fresh Debian/Ubuntu machine with Swift 6: the C libraries
# and tools from Debian, and a Python venv (.venv) with the pinned test/codegen packages.
# Idempotent and quick when everything is already there.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
packages=(libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler zlib1g-dev
          libsqlite3-dev postgresql libpq-dev libssl-dev openssl libpng-dev libjpeg62-turbo-dev libtiff-dev nghttp2-client nginx python3-venv valgrind
          golang-go golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev protoc-gen-go protoc-gen-go-grpc)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
venv=$root/.venv
stamp=$venv/.requirements
if ! cmp -s "$root/Tests/Python/requirements.txt" "$stamp" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/Tests/Python/requirements.txt"
  cp "$root/Tests/Python/requirements.txt" "$stamp"
fi
# The Python client, editable: the examples and tests import `cellhub` from Clients/python.
client_stamp=$venv/.client-pyproject
if ! cmp -s "$root/Clients/python/pyproject.toml" "$client_stamp" 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check -e "$root/Clients/python"
  cp "$root/Clients/python/pyproject.toml" "$client_stamp"
fi
