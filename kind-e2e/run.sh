#!/usr/bin/env bash
# kind-e2e: hangar-agent end to end on a kind cluster with Cilium and Tetragon.
#
#   kind-e2e/run.sh [--keep] [--reuse-cluster] [--skip-build] [--help]
#
# Creates a kind cluster (kind-e2e/kind-config.yaml), installs Cilium and Tetragon from their
# Helm charts (pinned versions below), builds the agent and controller images and loads them
# into the nodes, installs ./helm/hangar-agent (audit mode), deploys the sample MCP server
# and a scripted MCP client that calls it through the hangar MCP proxy (ordinary calls, then a
# prompt-injected one), and asserts:
#   1. an alert for provider "sample" from an expected rule (hangar-ctl alerts -o json);
#   2. audit: an `audited` enforcement record and an EnforcementEvent in the controller's
#      log, and no policy object applied;
#   3. enforce (helm upgrade --set enforcement.mode=enforce, the attack again): an `applied`
#      enforcement record and the NetworkPolicy / CiliumNetworkPolicy object it names.
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
#   LEARN_SECONDS [70]         TIMEOUT_SECONDS [180] (per assertion)
#   WORK_DIR [${TMPDIR:-/tmp}/hangar-kind-e2e] (logs, JSON answers, diagnostics)
#   EXPECTED_RULES ["hangar.exec.shell_from_server hangar.cred.service_account_token_read"]
# Needs: docker (with buildx), kind, kubectl, helm.
# Exit codes: 0 all assertions held, 1 an assertion or a step failed, 2 usage or missing tools.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

CLUSTER_NAME="${CLUSTER_NAME:-hangar-e2e}"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-kindest/node:v1.33.1}"
CILIUM_VERSION="${CILIUM_VERSION:-1.18.0}"
TETRAGON_VERSION="${TETRAGON_VERSION:-1.5.0}"
IMAGE_TAG="${IMAGE_TAG:-e2e}"
LEARN_SECONDS="${LEARN_SECONDS:-70}"
TIMEOUT_SECONDS="${TIMEOUT_SECONDS:-180}"
EXPECTED_RULES="${EXPECTED_RULES:-hangar.exec.shell_from_server hangar.cred.service_account_token_read}"

CHART_REPO=https://helm.cilium.io
AGENT_IMAGE=ghcr.io/mcp-hangar/hangar-agent
CONTROLLER_IMAGE=ghcr.io/mcp-hangar/hangar-controller
RELEASE=hangar-agent
NS=hangar-system
DEMO_NS=mcp-demo
PROVIDER=sample
CONTROLLER=hangar-controller
API_PORT=8080
PROXY_PORT=8090

keep=0
reuse=0
build=1
for a in "$@"; do
  case "$a" in
    --keep) keep=1 ;;
    --reuse-cluster) reuse=1 ;;
    --skip-build) build=0 ;;
    -h | --help)
      sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'
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
rm -f "$work"/*.json "$work"/*.log # the previous run's answers
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
    echo "run.sh: $tool is not installed (needs docker, kind, kubectl, helm)" >&2
    exit 2
  }
done

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
  cp "$work"/*.json "$work"/*.log "$dir/" 2>/dev/null || true
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

# wait_for DESCRIPTION COMMAND...: runs COMMAND every 5 s until it succeeds or TIMEOUT_SECONDS pass.
wait_for() {
  local what="$1"
  shift
  local deadline=$((SECONDS + TIMEOUT_SECONDS))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${TIMEOUT_SECONDS}s waiting for $what"
    sleep 5
  done
}

# ── talking to the controller ────────────────────────────────────────────────────────────
# hangar-ctl runs inside the controller pod, against its own API, with the static admin token
# the chart generated (the Secret key admin.admin).
api_token() {
  k -n "$NS" get secrets -o go-template='{{range .items}}{{with .data}}{{with index . "admin.admin"}}{{.}}{{"\n"}}{{end}}{{end}}{{end}}' |
    head -n1 | base64 -d
}
ctl() {
  k -n "$NS" exec "deploy/$CONTROLLER" -- hangar-ctl "$@" --server "http://127.0.0.1:$API_PORT" --token "$TOKEN"
}
# json_eval FILE EXPR: evaluates a JavaScript expression over the JSON in FILE (bound to d)
# with the Node of the controller image, so the runner needs no jq.
json_eval() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  k -n "$NS" exec -i "deploy/$CONTROLLER" -- node -e '
    let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => {
      const d = JSON.parse(s); process.stdout.write(String(eval(process.argv[1])) + "\n");
    });' "$2" <"$1"
}

alerts_ok() {
  ctl alerts --provider "$PROVIDER" -o json >"$work/alerts.json" 2>"$work/alerts.err" || return 1
  local rules
  rules="$(json_eval "$work/alerts.json" '[...new Set(d.map((a) => a.ruleId))].sort().join(" ")')"
  note "alerts for $PROVIDER so far: ${rules:-none}"
  local want
  for want in $EXPECTED_RULES; do
    case " $rules " in *" $want "*) return 0 ;; esac
  done
  return 1
}

# enforcements_ok STATE: at least one enforcement record of the provider in STATE.
enforcements_ok() {
  ctl enforcement list --provider "$PROVIDER" --state "$1" -o json >"$work/enforcements-$1.json" 2>"$work/enforcements.err" || return 1
  local n
  n="$(json_eval "$work/enforcements-$1.json" 'd.length')"
  note "enforcement records in state $1: $n"
  [ "$n" -gt 0 ]
}

# The policy objects the controller applied in the provider's namespace (its label).
managed_policies() {
  local kinds=networkpolicies
  if k get crd ciliumnetworkpolicies.cilium.io >/dev/null 2>&1; then kinds="$kinds,ciliumnetworkpolicies"; fi
  k -n "$DEMO_NS" get "$kinds" -l app.kubernetes.io/managed-by=hangar-controller -o name
}

policies_exist() { [ -n "$(managed_policies)" ]; }

run_attack() {
  local learn="$1" log="$2"
  k -n "$DEMO_NS" delete job mcp-attack --ignore-not-found --wait >/dev/null
  k -n "$DEMO_NS" create configmap mcp-attack --from-file=attack.mjs="$here/attack.mjs" --dry-run=client -o yaml |
    k apply -f - >/dev/null
  k set env --local -f "$here/manifests/attack-job.yaml" -o yaml \
    MCP_URL="$PROXY_URL" LEARN_SECONDS="$learn" ATTACK=1 | k create -f - >/dev/null
  note "MCP client: $learn s of ordinary calls, then the injected run_report call (log: $log)"
  if ! k -n "$DEMO_NS" wait --for=condition=complete job/mcp-attack --timeout="$((learn + 120))s" >/dev/null; then
    k -n "$DEMO_NS" logs job/mcp-attack >"$log" 2>&1 || true
    fail "the MCP client job did not complete (see $log)"
  fi
  k -n "$DEMO_NS" logs job/mcp-attack >"$log"
  tail -n 2 "$log" | sed 's/^/   /'
}

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

# ── 4. the sample MCP server ──────────────────────────────────────────────────────────────
step "deploying the sample MCP server (provider $PROVIDER in $DEMO_NS)"
sed "s|ghcr.io/mcp-hangar/hangar-controller:e2e|$CONTROLLER_IMAGE:$IMAGE_TAG|" "$here/manifests/sample-server.yaml" |
  k apply -f -
k -n "$DEMO_NS" rollout status deploy/sample-mcp --timeout=3m

# ── 5. hangar-agent ───────────────────────────────────────────────────────────────────────
step "installing hangar-agent from ./helm/hangar-agent (audit mode)"
h upgrade --install "$RELEASE" "$repo/helm/hangar-agent" -n "$NS" --create-namespace \
  -f "$here/values/hangar-agent.yaml" \
  --set agent.image.tag="$IMAGE_TAG" --set controller.image.tag="$IMAGE_TAG" \
  --wait --timeout 5m
k -n "$NS" rollout status "deploy/$CONTROLLER" --timeout=3m
k -n "$NS" rollout status ds/hangar-agent --timeout=3m
TOKEN="$(api_token)"
[ -n "$TOKEN" ] || fail "no Secret in $NS with an admin.admin API token (helm value controller.api.tokens)"
# shellcheck disable=SC2016 # a Go template, not shell
svc_template='{{range .items}}{{$n := .metadata.name}}{{range .spec.ports}}{{if eq (printf "%v" .port) "PORT"}}{{$n}}{{"\n"}}{{end}}{{end}}{{end}}'
proxy_svc="$(k -n "$NS" get svc -o go-template="${svc_template/PORT/$PROXY_PORT}" | head -n1)"
[ -n "$proxy_svc" ] || fail "no Service in $NS with the MCP proxy port $PROXY_PORT (helm value proxy.enabled)"
PROXY_URL="http://$proxy_svc.$NS.svc:$PROXY_PORT/mcp/$PROVIDER"
note "MCP proxy: $PROXY_URL"

# ── 6. audit ──────────────────────────────────────────────────────────────────────────────
step "attack in audit mode (learning window 60s: ordinary calls first)"
run_attack "$LEARN_SECONDS" "$work/attack-audit.log"
step "asserting the alert (one of: $EXPECTED_RULES)"
wait_for "an alert for provider $PROVIDER" alerts_ok
step "asserting the audit-mode enforcement (nothing applied)"
wait_for "an audited enforcement record" enforcements_ok audited
k -n "$NS" logs "deploy/$CONTROLLER" >"$work/controller-audit.log"
grep -q '"kind":"EnforcementEvent"' "$work/controller-audit.log" ||
  fail "no EnforcementEvent line in the controller's log ($work/controller-audit.log)"
grep '"kind":"EnforcementEvent"' "$work/controller-audit.log" | tail -n 3 | cut -c1-240 | sed 's/^/   /'
applied="$(managed_policies)"
[ -z "$applied" ] || fail "audit mode applied policy objects: $applied"
note "no policy object applied in $DEMO_NS"

# ── 7. enforce ────────────────────────────────────────────────────────────────────────────
step "switching to enforce mode (helm upgrade --set enforcement.mode=enforce)"
h upgrade "$RELEASE" "$repo/helm/hangar-agent" -n "$NS" --reuse-values \
  --set enforcement.mode=enforce --wait --timeout 5m
k -n "$NS" rollout status "deploy/$CONTROLLER" --timeout=3m
step "attack in enforce mode"
run_attack 0 "$work/attack-enforce.log"
step "asserting the applied enforcement and its policy object"
wait_for "an applied enforcement record" enforcements_ok applied
wait_for "a policy object labelled app.kubernetes.io/managed-by=hangar-controller in $DEMO_NS" policies_exist
managed_policies | sed 's/^/   applied: /'

printf '\n✓ kind-e2e passed in %ss\n' "$((SECONDS - started))"
