#!/usr/bin/env bash
# Installs and builds what a real one-node Kubernetes cluster needs on this machine, for the
# end-to-end test (`npm run e2e:node`, testkit/src/node.ts), next to the control plane of
# scripts/setup-k8s-tools.sh (run that too). Go tools come from the Go module proxy only and
# are cached by version, as setup-k8s-tools.sh does:
#
#   ${HANGAR_CACHE:-$HOME/.cache/hangar}/bin/<tool>-<version>/<tool>
#
# Go tools (versions in testkit/src/versions.ts):
#   kubelet, kube-proxy, kubectl  k8s.io/kubernetes/cmd/<tool> in the throwaway module of
#                                 scripts/lib/go-tools.sh (KUBERNETES_VERSION; packages shared
#                                 with kube-apiserver come from the Go build cache)
#   crictl                        go install sigs.k8s.io/cri-tools/cmd/crictl@CRICTL_VERSION
#   coredns                       the cluster DNS (a pod from an image made here), built from
#                                 github.com/coredns/coredns@COREDNS_VERSION with only the plugins
#                                 the test node's Corefile uses (errors, health, ready, kubernetes,
#                                 cache, loop, forward, log): the stock build compiles every
#                                 plugin with its cloud SDKs (~7 min cold), this one ~2 min
#   kube-router                   go install github.com/cloudnativelabs/kube-router/v2/cmd/
#                                 kube-router@KUBE_ROUTER_VERSION: the NetworkPolicy enforcer of
#                                 the test node (firewall only: iptables + ipset). v2.1.0 is the
#                                 only version the proxy serves and has reported security flaws,
#                                 so it runs on the test node only, never in anything shipped.
# Debian packages (apt-get, as root, when missing): containerd (1.6) and runc, the CNI plugins
# (bridge, host-local, loopback, portmap in /usr/lib/cni), iptables, ipset, conntrack, iproute2,
# util-linux, buildah and mmdebstrap (the images: scripts/build-images.sh), gcc and libc6-dev
# (the pause image's static binary), bpftool (the check that no eBPF program is left behind).
#
# Usage: bash scripts/setup-node-tools.sh [--force] [--no-apt] [tool ...]
#   tool      one or more of: kubelet kube-proxy kubectl crictl coredns kube-router (default: all)
#   --force   rebuild even if cached
#   --no-apt  do not install Debian packages (only report the missing ones)
#
# Progress goes to stderr; stdout carries only KEY=/path lines (KUBELET=, KUBE_PROXY=, ...), also
# written to ${HANGAR_CACHE}/node-tools.env. Every tool is required: a failure names it and the
# script exits 1. Runs take the cache's lock, so while scripts/setup-k8s-tools.sh builds, this
# waits for it (and then reuses its Go build cache) instead of building the same packages twice.
#
# Environment: HANGAR_CACHE, HANGAR_GOPROXY, HANGAR_BUILD_JOBS, HANGAR_KUBERNETES_VERSION,
# HANGAR_CRICTL_VERSION, HANGAR_COREDNS_VERSION, HANGAR_KUBE_ROUTER_VERSION.
set -euo pipefail

SETUP_NAME=setup-node-tools
# shellcheck source=scripts/lib/go-tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-tools.sh"

KUBERNETES_VERSION="${HANGAR_KUBERNETES_VERSION:-$(read_version KUBERNETES_VERSION)}"
CRICTL_VERSION="${HANGAR_CRICTL_VERSION:-$(read_version CRICTL_VERSION)}"
COREDNS_VERSION="${HANGAR_COREDNS_VERSION:-$(read_version COREDNS_VERSION)}"
KUBE_ROUTER_VERSION="${HANGAR_KUBE_ROUTER_VERSION:-$(read_version KUBE_ROUTER_VERSION)}"

ALL_TOOLS=(kubelet kube-proxy kubectl crictl coredns kube-router)
# The commands built from k8s.io/kubernetes (one module, resolved once).
KUBE_CMDS=(kubelet kube-proxy kubectl)

force=0
apt=1
tools=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --no-apt) apt=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    kubelet | kube-proxy | kubectl | crictl | coredns | kube-router) tools+=("$arg") ;;
    *) die "unknown argument: $arg (see --help)" ;;
  esac
done
((${#tools[@]})) || tools=("${ALL_TOOLS[@]}")

version_of() {
  case "$1" in
    crictl) printf '%s' "$CRICTL_VERSION" ;;
    coredns) printf '%s' "$COREDNS_VERSION" ;;
    kube-router) printf '%s' "$KUBE_ROUTER_VERSION" ;;
    *) printf '%s' "$KUBERNETES_VERSION" ;;
  esac
}

# ── Debian packages ───────────────────────────────────────────────────────────────────────
need=()
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] ||
  need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
command -v ipset >/dev/null || need+=(ipset)
command -v conntrack >/dev/null || need+=(conntrack)
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
command -v buildah >/dev/null || need+=(buildah)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v gcc >/dev/null || need+=(gcc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/aarch64-linux-gnu/libc.a ] || need+=(libc6-dev)
command -v bpftool >/dev/null || need+=(bpftool)
if ((${#need[@]})); then
  if ((!apt)); then
    die "missing Debian packages: ${need[*]} (apt-get install -y ${need[*]})"
  fi
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages ${need[*]} and not root: apt-get install -y ${need[*]}"
  log "installing ${need[*]} (apt-get)"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >&2
fi

# ── Go tools ──────────────────────────────────────────────────────────────────────────────
go_tools_init

build_crictl() {
  go_install_tool crictl "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" \
    "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${CRICTL_VERSION#v}"
}
# CoreDNS registers a plugin when its package is imported; the stock main imports all of them
# (core/plugin). A throwaway module's main imports coremain and only the plugins the Corefile of
# testkit/src/node.ts uses (the directive order stays CoreDNS's own, in core/dnsserver).
COREDNS_PLUGINS=(errors health ready kubernetes cache loop forward log)
build_coredns() {
  local mod="$work/coredns" start=$SECONDS p
  mkdir -p "$mod"
  log "coredns $COREDNS_VERSION: a main with the plugins ${COREDNS_PLUGINS[*]}"
  {
    printf 'package main\n\nimport (\n\t"github.com/coredns/coredns/coremain"\n'
    for p in "${COREDNS_PLUGINS[@]}"; do printf '\t_ "github.com/coredns/coredns/plugin/%s"\n' "$p"; done
    printf ')\n\nfunc main() { coremain.Run() }\n'
  } >"$mod/main.go"
  (cd "$mod" && go mod init hangar.local/coredns >/dev/null 2>&1 &&
    go get "github.com/coredns/coredns@$COREDNS_VERSION" >/dev/null 2>&1 &&
    go mod tidy >/dev/null 2>&1 &&
    go_build -ldflags="-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" -o "$mod/coredns" .) ||
    return 1
  install_built coredns "$mod/coredns" $((SECONDS - start))
}
build_kube_router() {
  go_install_tool kube-router "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION" \
    "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION"
}

total_start=$SECONDS
failed=()
for tool in "${tools[@]}"; do
  if ((!force)) && [[ -x "$(tool_bin "$tool")" ]]; then
    log "$tool $(version_of "$tool"): cached at $(tool_bin "$tool")"
    continue
  fi
  case "$tool" in
    crictl) build_crictl && ok=1 || ok=0 ;;
    coredns) build_coredns && ok=1 || ok=0 ;;
    kube-router) build_kube_router && ok=1 || ok=0 ;;
    *) build_kube "$tool" "${KUBE_CMDS[@]}" && ok=1 || ok=0 ;;
  esac
  ((ok)) || {
    failed+=("$tool")
    log "$tool $(version_of "$tool"): BUILD FAILED"
  }
done

env_file="$cache/node-tools.env"
{
  for tool in "${ALL_TOOLS[@]}"; do
    [[ -x "$(tool_bin "$tool")" ]] && printf '%s=%s\n' "$(env_key "$tool")" "$(tool_bin "$tool")"
  done
} >"$env_file.tmp"
mv -f "$env_file.tmp" "$env_file"
cat "$env_file"

log "done in $((SECONDS - total_start))s; paths written to $env_file"
((${#failed[@]} == 0)) || die "tools failed to build: ${failed[*]}"
