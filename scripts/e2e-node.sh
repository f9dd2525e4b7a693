#!/usr/bin/env bash
# `npm run e2e:node`: the end-to-end test on a real one-node cluster built on this machine
# (e2e/README.md). Installs and builds what it needs, each step cached (a warm run only checks):
#   1. bash scripts/setup-k8s-tools.sh    etcd, kube-apiserver, kube-controller-manager,
#                                         kube-scheduler, helm (Go module proxy)
#   2. bash scripts/setup-node-tools.sh   kubelet, kube-proxy, kubectl, crictl, CoreDNS,
#                                         kube-router (Go module proxy); containerd, runc, CNI
#                                         plugins, iptables, ipset, buildah, mmdebstrap (Debian)
#   3. bash scripts/build-images.sh       the base, pause and CoreDNS images and the agent and
#                                         controller images of this checkout (buildah)
#   4. tsc -b e2e, then node --test e2e/dist/test/*.test.js: the node's bring-up and clean
#      teardown, then the scenario (e2e/src/scenario.ts) on it
# Needs root; without root (or another prerequisite) the tests report themselves skipped with the
# reason, and with HANGAR_REQUIRE_NODE=1 (CI) they fail instead. Extra arguments go to node --test
# (e.g. --test-name-pattern=scenario).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

t0=$SECONDS
step() { printf '── [%4ss] %s\n' "$((SECONDS - t0))" "$*"; }

if [ "$(id -u)" -eq 0 ]; then
  step "tools (scripts/setup-k8s-tools.sh, scripts/setup-node-tools.sh; cached by version)"
  bash scripts/setup-k8s-tools.sh etcd kube-apiserver kube-controller-manager kube-scheduler helm >/dev/null
  bash scripts/setup-node-tools.sh >/dev/null
  step "images (scripts/build-images.sh; cached by content)"
  bash scripts/build-images.sh >/dev/null
else
  step "not root: the tools and images are not built here; the tests will say what is missing"
fi
step "tsc -b e2e"
node=node_modules/.bin/node
[ -x "$node" ] || node=node
"$node" node_modules/typescript/bin/tsc -b e2e
step "node --test e2e/dist/test/*.test.js"
"$node" --test --test-reporter=spec --test-concurrency=1 "$@" e2e/dist/test/node-cluster.test.js e2e/dist/test/node-e2e.test.js
step "done"
