#!/usr/bin/env bash
# kind-e2e: hangar-agent end to end on a kind cluster with Cilium and Tetragon.
#
#   kind-e2e/run.sh [--keep] [--reuse-cluster] [--skip-build] [--help]
#
# Creates a kind cluster (kind-e2e/kind-config.yaml), installs Cilium and Tetragon from their
# Helm charts (pinned versions below), builds the agent and controller images and loads them
# into the nodes, then runs the end-to-end scenario that the real test node of this repository
# runs too (e2e/src/scenario.ts, through `node e2e/dist/src/cli.js`): the sample MCP server,
# `helm install ./helm/hangar-agent` (enforce mode for mcp-demo only), normal then poisoned MCP
# calls through the proxy by the official SDK client, the alerts with Tetragon's events of the
# pod's container and the tool call behind them, the applied NetworkPolicy and its revert,
# `helm upgrade` keeping the generated secrets, `helm uninstall` leaving nothing of the release.
# On failure it dumps diagnostics (kubectl get/describe/logs, helm status, kind logs) into
# $WORK_DIR/diagnostics-<time>/. The cluster is deleted at the end unless --keep.
#
# Options:
#   --keep            keep the cluster (to look around: kubectl --context kind-$CLUSTER_NAME)
#   --reuse-cluster   use an existing cluster of that name instead of creating one
#   --skip-build      do not build the images (they must exist locally with IMAGE_TAG)
#   -h, --help        this text
# Environment (defaults in brackets):
#   CLUSTER_NAME [hangar-e2e]  KIND_NODE_IMAGE [kindest/node:v1.33.1]
#   CILIUM_VERSION [1.18.0]    TETRAGON_VERSION [1.5.0]    IMAGE_TAG [e2e]
#   LEARN_SECONDS [60] (the provider's learning window)  TIMEOUT_SECONDS [180] (per wait)
#   ATTACKS [3] (poisoned calls)
#   WORK_DIR [${TMPDIR:-/tmp}/hangar-kind-e2e] (diagnostics)
# Needs: docker (with buildx), kind, kubectl, helm, and Node 24 with this checkout's `npm ci`
# (the scenario runs from e2e/; this script compiles it).
# Exit codes: 0 all assertions held, 1 an assertion or a step failed, 2 usage or missing tools.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

CLUSTER_NAME="${CLUSTER_NAME:-hangar-e2e}"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-kindest/node:v1.33.1}"
CILIUM_VERSION="${CILIUM_VERSION:-1.18.0}"
TETRAGON_VERSION="${TETRAGON_VERSION:-1.5.0}"
IMAGE_TAG="${IMAGE_TAG:-e2e}"
LEARN_SECONDS="${LEARN_SECONDS:-60}"
TIMEOUT_SECONDS="${TIMEOUT_SECONDS:-180}"
ATTACKS="${ATTACKS:-3}"

CHART_REPO=https://helm.cilium.io
AGENT_IMAGE=ghcr.io/mcp-hangar/hangar-agent
CONTROLLER_IMAGE=ghcr.io/mcp-hangar/hangar-controller
RELEASE=hangar-agent
NS=hangar-system
DEMO_NS=mcp-demo

keep=0
reuse=0
build=1
for a in "$@"; do
  case "$a" in
    --keep) keep=1 ;;
    --reuse-cluster) reuse=1 ;;
    --skip-build) build=0 ;;
    -h | --help)
      sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "run.sh: unknown argument: $a (see --help)" >&2
      exit 2
      ;;
  esac
done

work="${WORK_DIR:-${TMPDIR:-/tmp}/hangar-kind-e2e}"
mkdir -p "$work"
ctx="kind-$CLUSTER_NAME"
started=$SECONDS

step() { printf '\n── [%4ss] %s\n' "$((SECONDS - started))" "$*"; }
note() { printf '   %s\n' "$*"; }
fail() {
  printf '\n✗ %s\n' "$*" >&2
  exit 1
}
k() { kubectl --context "$ctx" "$@"; }
h() { helm --kube-context "$ctx" "$@"; }

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || {
    echo "run.sh: $tool is not installed (needs docker, kind, kubectl, helm, node)" >&2
    exit 2
  }
done
node="$repo/node_modules/.bin/node"
[ -x "$node" ] || {
  echo "run.sh: no $node: run npm ci in $repo first (Node 24 comes from the node devDependency)" >&2
  exit 2
}

# ── diagnostics and cleanup ──────────────────────────────────────────────────────────────
dump_diagnostics() {
  local dir
  dir="$work/diagnostics-$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$dir"
  echo "   diagnostics → $dir" >&2
  k get nodes -o wide >"$dir/nodes.txt" 2>&1 || true
  k get all,networkpolicies,configmaps,leases -A -o wide >"$dir/get-all.txt" 2>&1 || true
  k get ciliumnetworkpolicies,tracingpolicies -A -o yaml >"$dir/cilium-tetragon-policies.yaml" 2>&1 || true
  k get events -A --sort-by=.lastTimestamp >"$dir/events.txt" 2>&1 || true
  local ns pod
  for ns in "$NS" "$DEMO_NS" kube-system; do
    k -n "$ns" describe pods >"$dir/describe-pods-$ns.txt" 2>&1 || true
    for pod in $(k -n "$ns" get pods -o name 2>/dev/null); do
      k -n "$ns" logs "$pod" --all-containers --timestamps >"$dir/logs-$ns-${pod#pod/}.txt" 2>&1 || true
      k -n "$ns" logs "$pod" --all-containers --timestamps --previous >"$dir/logs-$ns-${pod#pod/}-previous.txt" 2>/dev/null ||
        rm -f "$dir/logs-$ns-${pod#pod/}-previous.txt"
    done
  done
  h list -A >"$dir/helm-list.txt" 2>&1 || true
  h -n "$NS" status "$RELEASE" --show-resources >"$dir/helm-status.txt" 2>&1 || true
  h -n "$NS" get values "$RELEASE" --all >"$dir/helm-values.yaml" 2>&1 || true
  kind export logs "$dir/kind" --name "$CLUSTER_NAME" >/dev/null 2>&1 || true
}

on_exit() {
  local rc=$?
  trap - EXIT
  if [ "$rc" -ne 0 ]; then
    printf '\n✗ kind-e2e failed (exit %s) after %ss\n' "$rc" "$((SECONDS - started))" >&2
    if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then dump_diagnostics; fi
  fi
  if [ "$keep" = 1 ]; then
    echo "   keeping cluster $CLUSTER_NAME (kubectl --context $ctx …; kind delete cluster --name $CLUSTER_NAME)" >&2
  elif [ "$reuse" = 0 ]; then
    kind delete cluster --name "$CLUSTER_NAME" >/dev/null 2>&1 || true
  fi
  exit "$rc"
}
trap on_exit EXIT

# ── 1. cluster ────────────────────────────────────────────────────────────────────────────
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  [ "$reuse" = 1 ] || fail "a kind cluster named $CLUSTER_NAME exists: delete it, or pass --reuse-cluster"
  step "reusing kind cluster $CLUSTER_NAME"
else
  [ "$reuse" = 0 ] || fail "--reuse-cluster: no kind cluster named $CLUSTER_NAME"
  step "creating kind cluster $CLUSTER_NAME ($KIND_NODE_IMAGE)"
  kind create cluster --name "$CLUSTER_NAME" --image "$KIND_NODE_IMAGE" --config "$here/kind-config.yaml" --wait 0s
fi

# ── 2. Cilium and Tetragon ─────────────────────────────────────────────────────────────────
step "installing Cilium $CILIUM_VERSION and Tetragon $TETRAGON_VERSION (helm charts from $CHART_REPO)"
h upgrade --install cilium cilium --repo "$CHART_REPO" --version "$CILIUM_VERSION" -n kube-system \
  -f "$here/values/cilium.yaml" --wait --timeout 10m
k -n kube-system rollout status ds/cilium --timeout=5m
k wait --for=condition=Ready nodes --all --timeout=5m
h upgrade --install tetragon tetragon --repo "$CHART_REPO" --version "$TETRAGON_VERSION" -n kube-system \
  -f "$here/values/tetragon.yaml" --wait --timeout 10m
k -n kube-system rollout status ds/tetragon --timeout=5m

# ── 3. images ─────────────────────────────────────────────────────────────────────────────
if [ "$build" = 1 ]; then
  step "building $AGENT_IMAGE:$IMAGE_TAG and $CONTROLLER_IMAGE:$IMAGE_TAG (context: $repo)"
  docker buildx build --load -f "$repo/agent/Dockerfile" -t "$AGENT_IMAGE:$IMAGE_TAG" "$repo"
  docker buildx build --load -f "$repo/controller/Dockerfile" -t "$CONTROLLER_IMAGE:$IMAGE_TAG" "$repo"
fi
step "loading the images into the nodes (kind load docker-image)"
kind load docker-image --name "$CLUSTER_NAME" "$AGENT_IMAGE:$IMAGE_TAG" "$CONTROLLER_IMAGE:$IMAGE_TAG"

# ── 4. the scenario (e2e/src/scenario.ts), as on the real test node ─────────────────────────
step "compiling the scenario (tsc -b e2e)"
"$node" "$repo/node_modules/typescript/bin/tsc" -b "$repo/e2e"
step "the end-to-end scenario (Tetragon as the sensor)"
"$node" "$repo/e2e/dist/src/cli.js" --context "$ctx" --values "$here/values/hangar-agent.yaml" \
  --image-tag "$IMAGE_TAG" --sensor tetragon --learn-seconds "$LEARN_SECONDS" --attacks "$ATTACKS" \
  --timeout-seconds "$TIMEOUT_SECONDS"

printf '\n✓ kind-e2e passed in %ss\n' "$((SECONDS - started))"
