#!/usr/bin/env bash
# Builds the real Kubernetes control-plane binaries the tests run against, from the Go module
# proxy only (no GitHub, no Docker), and caches them outside the repository:
#
#   ${HANGAR_CACHE:-$HOME/.cache/hangar}/bin/<tool>-<version>/<tool>
#
# Tools: etcd and kube-apiserver (required), kube-controller-manager, kube-scheduler, helm and
# kwok (optional: a failure is reported and skipped). Versions come from testkit/src/versions.ts,
# which @hangar/testkit also uses to find the binaries. A tool whose binary is already cached
# is not rebuilt, so a second run takes well under a second.
#
# Usage: bash scripts/setup-k8s-tools.sh [--force] [tool ...]
#   tool     one or more of: etcd kube-apiserver kube-controller-manager kube-scheduler helm kwok
#            (default: all six)
#   --force  rebuild even if cached
#
# Progress goes to stderr; stdout carries only KEY=/path lines (ETCD=, KUBE_APISERVER=, ...),
# so `eval "$(bash scripts/setup-k8s-tools.sh)"` works. The same lines are written to
# ${HANGAR_CACHE}/k8s-tools.env. Each tool directory holds BUILD_INFO with the build time.
#
# Environment: HANGAR_CACHE, HANGAR_GOPROXY (default https://proxy.golang.org),
# HANGAR_BUILD_JOBS (go build -p, default nproc), HANGAR_ETCD_VERSION,
# HANGAR_KUBERNETES_VERSION, HANGAR_HELM_VERSION, HANGAR_KWOK_VERSION (override
# testkit/src/versions.ts).
#
# How each tool is built:
# - etcd: the main module go.etcd.io/etcd/v3 and go.etcd.io/etcd/server/v3 both carry
#   `replace` directives, so `go install …@version` refuses them. go.etcd.io/etcd/server/v3 has
#   a main package at its root (server/main.go -> etcdmain.Main), so a throwaway module in a
#   temp dir requires it and builds it; replace directives of dependencies are ignored there.
# - kube-apiserver, kube-controller-manager, kube-scheduler: k8s.io/kubernetes requires its
#   staging modules at v0.0.0 and replaces them with ./staging/src/...; a throwaway module
#   requires k8s.io/kubernetes vX.Y.Z and replaces every k8s.io/* staging module (the list is
#   read from that version's go.mod) with the published v0.Y.Z. Version variables are set with
#   -X so `kubectl version`/helm's kubeVersion checks see vX.Y.Z, not v0.0.0-master.
# - helm: `go install helm.sh/helm/v3/cmd/helm@vX.Y.Z` (its go.mod has no replace directives), with
#   the default Kubernetes version set from its client-go requirement as helm's Makefile does.
# - kwok: `go install sigs.k8s.io/kwok/cmd/kwok@vX.Y.Z` (no replace directives either). kwok does
#   nothing without Stage objects; the module ships its stock stages as YAML files, and the
#   ones the testkit uses (node initialize + heartbeat, pod ready/complete/delete) are copied
#   from the downloaded module into <tool dir>/stages.yaml, which testkit/src/cluster.ts passes
#   to `kwok --config`.
set -euo pipefail

SETUP_NAME=setup-k8s-tools
# shellcheck source=scripts/lib/go-tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tools.sh"

ETCD_VERSION="${HANGAR_ETCD_VERSION:-$(read_version ETCD_VERSION)}"
KUBERNETES_VERSION="${HANGAR_KUBERNETES_VERSION:-$(read_version KUBERNETES_VERSION)}"
HELM_VERSION="${HANGAR_HELM_VERSION:-$(read_version HELM_VERSION)}"
KWOK_VERSION="${HANGAR_KWOK_VERSION:-$(read_version KWOK_VERSION)}"

force=0
tools=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    etcd | kube-apiserver | kube-controller-manager | kube-scheduler | helm | kwok) tools+=("$arg") ;;
    *) die "unknown argument: $arg (see --help)" ;;
  esac
done
((${#tools[@]})) || tools=(etcd kube-apiserver kube-controller-manager kube-scheduler helm kwok)

is_required() { [[ "$1" == etcd || "$1" == kube-apiserver ]]; }
version_of() {
  case "$1" in
    etcd) printf '%s' "$ETCD_VERSION" ;;
    helm) printf '%s' "$HELM_VERSION" ;;
    kwok) printf '%s' "$KWOK_VERSION" ;;
    *) printf '%s' "$KUBERNETES_VERSION" ;;
  esac
}
# The control-plane commands this script builds from k8s.io/kubernetes.
KUBE_CMDS=(kube-apiserver kube-controller-manager kube-scheduler)

go_tools_init

build_etcd() {
  local mod="$work/etcd" start=$SECONDS
  mkdir -p "$mod"
  log "etcd $ETCD_VERSION: resolving go.etcd.io/etcd/server/v3 in a throwaway module ($mod)"
  (
    # Subshells on the left of || run without errexit, hence the && chain.
    cd "$mod" &&
      go mod init hangar.local/etcd-build 2>/dev/null &&
      go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION" -tool=go.etcd.io/etcd/server/v3 &&
      go mod tidy &&
      log "etcd $ETCD_VERSION: compiling" &&
      go_build -ldflags="-s -w" -o "$mod/etcd.out" go.etcd.io/etcd/server/v3
  ) || return 1
  install_built etcd "$mod/etcd.out" $((SECONDS - start))
}

build_helm() {
  local start=$SECONDS gobin="$work/helm-bin" json gomod minor x=""
  # Like helm's Makefile: the Kubernetes version `helm template`/`lint` assume without a
  # cluster is that of the client-go helm is built with (else it is v1.20.0, and charts with
  # a kubeVersion constraint fail to render).
  json="$(cd "$work" && go mod download -json "helm.sh/helm/v3@$HELM_VERSION")" || return 1
  gomod="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  minor="$(sed -n 's/^[[:space:]]*k8s\.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod" | head -n 1)"
  if [[ -n "$minor" ]]; then
    for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
      x+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
    done
  else
    log "helm $HELM_VERSION: could not read the client-go version from its go.mod; helm will assume Kubernetes v1.20"
  fi
  log "helm $HELM_VERSION: go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION (default Kubernetes version 1.${minor:-20})"
  (cd "$work" && GOBIN="$gobin" go install -p "$jobs" \
    -ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION$x" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") || return 1
  install_built helm "$gobin/helm" $((SECONDS - start))
}

build_kwok() {
  local start=$SECONDS gobin="$work/kwok-bin" json dir stages
  log "kwok $KWOK_VERSION: go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  (cd "$work" && GOBIN="$gobin" go install -p "$jobs" -ldflags="-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION") || return 1
  # The stock stages, from the module just downloaded (already in the module cache).
  json="$(cd "$work" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION")" || return 1
  dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  stages="$work/kwok-stages.yaml"
  : >"$stages"
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [[ -f "$dir/kustomize/stage/$f" ]] || { log "kwok $KWOK_VERSION: the module has no kustomize/stage/$f"; return 1; }
    { echo "---"; cat "$dir/kustomize/stage/$f"; } >>"$stages"
  done
  mkdir -p "$(tool_dir kwok)"
  mv -f "$stages" "$(tool_dir kwok)/stages.yaml"
  install_built kwok "$gobin/kwok" $((SECONDS - start))
}

total_start=$SECONDS
failed_required=()
skipped=()
for tool in "${tools[@]}"; do
  if ((!force)) && [[ -x "$(tool_bin "$tool")" ]]; then
    log "$tool $(version_of "$tool"): cached at $(tool_bin "$tool")"
    continue
  fi
  case "$tool" in
    etcd) build_etcd && ok=1 || ok=0 ;;
    helm) build_helm && ok=1 || ok=0 ;;
    kwok) build_kwok && ok=1 || ok=0 ;;
    *) build_kube "$tool" "${KUBE_CMDS[@]}" && ok=1 || ok=0 ;;
  esac
  if ((!ok)); then
    if is_required "$tool"; then
      failed_required+=("$tool")
      log "$tool $(version_of "$tool"): BUILD FAILED (required)"
    else
      skipped+=("$tool")
      log "$tool $(version_of "$tool"): build failed; skipped (optional, only needed by later helm install tests)"
    fi
  fi
done

env_file="$cache/k8s-tools.env"
{
  for tool in etcd kube-apiserver kube-controller-manager kube-scheduler helm kwok; do
    [[ -x "$(tool_bin "$tool")" ]] && printf '%s=%s\n' "$(env_key "$tool")" "$(tool_bin "$tool")"
  done
} >"$env_file.tmp"
mv -f "$env_file.tmp" "$env_file"
cat "$env_file"

log "done in $((SECONDS - total_start))s; paths written to $env_file"
((${#skipped[@]} == 0)) || log "skipped optional tools: ${skipped[*]}"
((${#failed_required[@]} == 0)) || die "required tools failed to build: ${failed_required[*]}"
