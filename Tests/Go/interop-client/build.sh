#!/usr/bin/env bash
# Builds the grpc-go interop client (main.go) offline from Debian's Go packages, the way
# /work/shared/peers/build.sh builds the grpc-go reference server: GOPATH mode, no module proxy,
# the grpc.testing stubs generated from Protos/grpc/testing into a temporary GOPATH.
# Usage: build.sh [OUTDIR]   (default: ${TMPDIR:-/tmp}/cellhub-go-interop); prints the binary's path last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
out=${1:-${TMPDIR:-/tmp}/cellhub-go-interop}
pkgs=(golang-go golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev
      protoc-gen-go protoc-gen-go-grpc protobuf-compiler)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  if ((EUID != 0)); then
    echo "missing Debian packages (install them as root): ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
# golang-google-grpc-dev may pull the 1.3 protobuf runtime, which panics at the first request; 1-5 replaces it.
gw=$out/go
export GOPATH=$gw:/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off GOCACHE=$out/gocache
pb=$gw/src/example.com/interoppb
# Regenerated on every build: cheap, and never stale against Protos/.
rm -rf "$pb" && mkdir -p "$pb"
m="Mgrpc/testing/test.proto=example.com/interoppb,Mgrpc/testing/messages.proto=example.com/interoppb,Mgrpc/testing/empty.proto=example.com/interoppb"
protoc -I "$repo/Protos" --go_out="$pb" --go_opt="paths=source_relative,$m" \
       --go-grpc_out="$pb" --go-grpc_opt="paths=source_relative,$m" \
       grpc/testing/test.proto grpc/testing/messages.proto grpc/testing/empty.proto
mv "$pb"/grpc/testing/*.go "$pb"/ && rm -r "$pb/grpc"
mkdir -p "$gw/src/cellhubgointerop" "$out/bin"
cp "$here/main.go" "$gw/src/cellhubgointerop/main.go"
(cd "$gw" && go build -o "$out/bin/interop-client" cellhubgointerop) >&2
echo "$out/bin/interop-client"
