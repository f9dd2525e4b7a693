/**
 * Versions of the Kubernetes tools the testkit runs. This file is the single source of truth:
 * `scripts/setup-k8s-tools.sh` reads these lines with sed, so keep each one in the form
 * `export const NAME = "vX.Y.Z";` on a line of its own.
 *
 * kube-controller-manager and kube-scheduler are built from the same k8s.io/kubernetes module
 * as kube-apiserver, so they share KUBERNETES_VERSION.
 */
export const ETCD_VERSION = "v3.6.16";
// v1.37.2 is the newest 1.37 patch, but proxy.golang.org answers 403 "not available" for its
// module zip (its .mod is served), so the newest buildable patch is used.
export const KUBERNETES_VERSION = "v1.37.1";
export const HELM_VERSION = "v3.22.0";
// kwok (fake nodes whose pods "run") for the chart's install tests.
export const KWOK_VERSION = "v0.8.0";
// The real node of the end-to-end test (scripts/setup-node-tools.sh): kubelet, kube-proxy and
// kubectl share KUBERNETES_VERSION; crictl talks CRI to containerd; CoreDNS is the cluster DNS;
// kube-router (firewall only) enforces NetworkPolicies. v2.1.0 is the only kube-router version
// the Go module proxy serves and it has reported security flaws: it runs on the test node only,
// never in anything shipped.
export const CRICTL_VERSION = "v1.37.0";
export const COREDNS_VERSION = "v1.15.0";
export const KUBE_ROUTER_VERSION = "v2.1.0";
