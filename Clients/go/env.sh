# Sourced by build.sh, test.sh and generate.sh: the Debian packages the Go client needs and an
# offline GOPATH workspace for it. GOPATH mode, because everything Go comes from Debian packages
# under /usr/share/gocode (no module proxy, no go.sum to keep in sync).
#
# The workspace (${CELLHUB_GO_WORK:-<repo>/.build/go}, gitignored) holds only a symlink
# src/cellhub.dev/client -> Clients/go, the build cache and built binaries: delete it at will.

cellhub_go_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cellhub_repo=$(cd "$cellhub_go_dir/../.." && pwd)

# Debian packages (bookworm). golang-github-golang-protobuf-1-5-dev matters: without it
# golang-google-grpc-dev may pull the 1.3 github.com/golang/protobuf, which panics at the first call.
cellhub_go_packages=(golang-go golang-google-grpc-dev golang-google-protobuf-dev
                     golang-github-golang-protobuf-1-5-dev protoc-gen-go protoc-gen-go-grpc protobuf-compiler)

# Prints the missing packages and returns 1 if any (installing is Tests/Scripts/setup.sh's job).
cellhub_go_check_packages() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "install them with: apt-get install -y ${missing[*]}" >&2
    return 1
  fi
}

# Exports an offline GOPATH-mode environment and creates the workspace.
cellhub_go_env() {
  local work=${CELLHUB_GO_WORK:-$cellhub_repo/.build/go}
  mkdir -p "$work/src/cellhub.dev" "$work/bin" "$work/cache"
  work=$(cd "$work" && pwd)
  if [[ -e $work/src/cellhub.dev/client && ! -L $work/src/cellhub.dev/client ]]; then
    echo "$work/src/cellhub.dev/client is not a symlink: remove it" >&2
    return 1
  fi
  ln -sfn "$cellhub_go_dir" "$work/src/cellhub.dev/client"
  export GOPATH=$work:/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off GOCACHE=$work/cache
  export GOTOOLCHAIN=local  # newer go commands would otherwise try to download one
  cellhub_go_work=$work
}

# The import paths of every package under Clients/go (GOPATH mode does not follow the symlink for
# a cellhub.dev/client/... pattern, so list them).
cellhub_go_import_paths() {
  (cd "$cellhub_go_dir" && find . -name '*.go' -not -path './.*' -exec dirname {} \; | LC_ALL=C sort -u |
     sed 's#^\.#cellhub.dev/client#')
}
