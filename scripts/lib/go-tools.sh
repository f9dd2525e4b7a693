# shellcheck shell=bash
# Shared by the setup scripts that build tools from the Go module proxy into the hangar cache
# (scripts/setup-k8s-tools.sh, scripts/setup-node-tools.sh): logging, versions read from
# testkit/src/versions.ts, the cache layout, the Go environment, one lock per cache, atomic
# installs, and the throwaway module that builds binaries of k8s.io/kubernetes.
#
#   ${HANGAR_CACHE:-$HOME/.cache/hangar}/bin/<tool>-<version>/<tool>   (+ BUILD_INFO)
#
# The sourcing script sets SETUP_NAME (its log prefix) and defines `version_of TOOL` before it
# calls install_built; it calls go_tools_init once, after parsing its arguments.

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
versions_file="$repo_root/testkit/src/versions.ts"
cache="${HANGAR_CACHE:-$HOME/.cache/hangar}"
bin_root="$cache/bin"
jobs="${HANGAR_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"

log() { printf '[%s %s] %s\n' "${SETUP_NAME:-setup}" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# read_version NAME: the "vX.Y.Z" of `export const NAME = "vX.Y.Z";` in testkit/src/versions.ts.
read_version() {
  local v
  v="$(sed -n "s/^export const $1 = \"\(v[^\"]*\)\";.*/\1/p" "$versions_file")"
  [[ -n "$v" ]] || die "could not read $1 from $versions_file"
  printf '%s' "$v"
}

tool_dir() { printf '%s/%s-%s' "$bin_root" "$1" "$(version_of "$1")"; }
tool_bin() { printf '%s/%s' "$(tool_dir "$1")" "$1"; }
env_key() { printf '%s' "$1" | tr 'a-z-' 'A-Z_'; }

# go_tools_init: checks Go, sets the build environment, takes the cache's lock (one setup at a
# time: a second script waits for the first one's binaries instead of building them twice) and
# makes the temp dir $work (removed on exit).
go_tools_init() {
  command -v go >/dev/null || die "Go is required (https://go.dev/dl/, or apt-get install golang-go if new enough); none on PATH"
  # Only the module proxy (which also proxies sum.golang.org); never `direct` VCS fetches.
  export GOPROXY="${HANGAR_GOPROXY:-https://proxy.golang.org}"
  export GOFLAGS="-trimpath -buildvcs=false"
  export CGO_ENABLED=0
  export GOWORK=off
  mkdir -p "$bin_root"
  if command -v flock >/dev/null; then
    exec 9>"$cache/.setup.lock"
    if ! flock -n 9; then
      log "another setup holds $cache/.setup.lock (building tools); waiting for it"
      flock 9
    fi
  fi
  work="$(mktemp -d "${TMPDIR:-/tmp}/hangar-go-tools.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: $work is fixed from here on
  trap "rm -rf '$work'" EXIT
  case "$work/" in "$repo_root"/*) die "temp dir $work is inside the repository; set TMPDIR" ;; esac
}

# install_built TOOL BUILT-BINARY SECONDS: moves the binary into its cache dir atomically.
install_built() {
  local tool="$1" built="$2" secs="$3" dir
  dir="$(tool_dir "$tool")"
  mkdir -p "$dir"
  mv -f "$built" "$dir/.$tool.tmp"
  mv -f "$dir/.$tool.tmp" "$dir/$tool"
  cat >"$dir/BUILD_INFO" <<INFO
tool=$tool
version=$(version_of "$tool")
build_seconds=$secs
go=$(go env GOVERSION)
built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
jobs=$jobs
INFO
  log "$tool $(version_of "$tool"): built in ${secs}s -> $dir/$tool"
}

go_build() { go build -p "$jobs" "$@"; }

# go_install_tool TOOL PACKAGE@VERSION [LDFLAGS]: `go install` of a module without replace
# directives into the cache.
go_install_tool() {
  local tool="$1" pkg="$2" ldflags="${3:--s -w}" start=$SECONDS gobin="$work/$1-bin"
  log "$tool $(version_of "$tool"): go install $pkg"
  (cd "$work" && GOBIN="$gobin" go install -p "$jobs" -ldflags="$ldflags" "$pkg") || return 1
  install_built "$tool" "$gobin/$(basename "${pkg%@*}")" $((SECONDS - start))
}

# module_dir MODULE@VERSION: the module's directory in the module cache (downloads it).
module_dir() {
  local json
  json="$(cd "$work" && go mod download -json "$1")" || return 1
  printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

# The throwaway module that builds commands of k8s.io/kubernetes. k8s.io/kubernetes requires its
# staging modules at v0.0.0 and replaces them with ./staging/src/...; this module requires
# k8s.io/kubernetes $KUBERNETES_VERSION and replaces every k8s.io/* staging module (the list is
# read from that version's go.mod) with the published v0.Y.Z. `prepare_kube_module CMD...`
# lists the commands (cmd/<name>) as tools so `go mod tidy` keeps their dependencies; call it
# once per script. 0 = not tried, 1 = ready, 2 = failed.
kube_mod_state=0
prepare_kube_module() {
  case "$kube_mod_state" in 1) return 0 ;; 2) return 1 ;; esac
  kube_mod_state=2
  local mod="$work/kubernetes" json gomod staging cmd
  mkdir -p "$mod"
  log "kubernetes $KUBERNETES_VERSION: downloading k8s.io/kubernetes from the module proxy (~22 MB zip, once per version)"
  json="$(cd "$work" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION")" || {
    log "could not download k8s.io/kubernetes@$KUBERNETES_VERSION from $GOPROXY:"
    printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Error": //p' >&2
    return 1
  }
  gomod="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f "$gomod" ]] || { log "go mod download gave no go.mod for k8s.io/kubernetes@$KUBERNETES_VERSION"; return 1; }
  staging="v0.${KUBERNETES_VERSION#v1.}"
  {
    echo "module hangar.local/kubernetes-build"
    grep -E '^(go|godebug) ' "$gomod"
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/src/k8s\.io/.*#\t\1 => \1 '"$staging"'#p' "$gomod"
    echo ")"
    echo "tool ("
    for cmd in "$@"; do printf '\tk8s.io/kubernetes/cmd/%s\n' "$cmd"; done
    echo ")"
  } >"$mod/go.mod"
  log "kubernetes $KUBERNETES_VERSION: $(grep -c '=> k8s.io/' "$mod/go.mod") staging modules pinned to $staging; resolving dependencies"
  (cd "$mod" && go mod tidy) || return 1
  kube_mod_state=1
}

# Version variables set with -X, so `kubectl version`/helm's kubeVersion checks and the node's
# kubeletVersion see vX.Y.Z, not v0.0.0-master.
kube_ldflags() {
  local minor="${KUBERNETES_VERSION#v1.}" x="" pkg
  minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    x+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "-s -w$x"
}

# build_kube CMD ALL-CMDS...: compiles k8s.io/kubernetes/cmd/CMD in the throwaway module.
build_kube() {
  local tool="$1" mod="$work/kubernetes" start=$SECONDS
  shift
  prepare_kube_module "$@" || return 1
  log "$tool $KUBERNETES_VERSION: compiling (packages shared with earlier kube builds come from the Go build cache)"
  (cd "$mod" && go_build -ldflags="$(kube_ldflags)" -o "$mod/$tool.out" "k8s.io/kubernetes/cmd/$tool") || return 1
  install_built "$tool" "$mod/$tool.out" $((SECONDS - start))
}
