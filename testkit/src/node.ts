/**
 * A real one-node Kubernetes cluster on this machine: the control plane of
 * `startControlPlane()` and the controller manager and scheduler of `startCluster()`, plus a
 * real node — containerd running runc containers, kubelet, kube-proxy (iptables), the CNI bridge
 * with host-local IPAM, CoreDNS as a pod, and kube-router as the NetworkPolicy enforcer — so
 * images built here run as users run them. Needs root.
 *
 * The node lives in its own network namespace (`hangar-node-<id>`), joined to the host by a veth
 * pair (host 10.243.<k>.1, node 10.243.<k>.2, the node's InternalIP): kube-proxy's and
 * kube-router's iptables rules, ipsets, the pod bridge and conntrack all live there and go when
 * it is deleted, two test runs on one machine do not meet, and the node has no default route, so
 * nothing in a pod can reach any address that the test did not route (traffic towards the host
 * is masqueraded to the node's address). kubelet, containerd, kube-proxy and kube-router are
 * started with `nsenter --net`, in the host's mount and PID namespaces, so the agent's
 * `hostPID` and `/sys/fs/cgroup` are the machine's. Pods' cgroups are under `/hangar-<id>` in
 * every hierarchy (cgroupfs driver; cgroup v1 hierarchies with cgroup2 at
 * /sys/fs/cgroup/unified are fine: `failCgroupV1: false`).
 *
 * `stop()` deletes the pods through the API (kubelet unmounts their volumes and stops their
 * sandboxes), stops the processes, removes what is left with crictl, unmounts anything under
 * the node's directory, deletes the namespaces, removes the cgroups and puts back the kernel
 * settings kubelet changed; `hostStateDiff(before, await hostState())` is then empty.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { clusterAvailable, startCluster, type Cluster } from "./cluster.js";
import {
  launch,
  logTail,
  startControlPlane,
  terminate,
  type ControlPlane,
  type Managed,
} from "./control-plane.js";
import { TestkitError } from "./errors.js";
import {
  inNetns,
  KUBELET_SYSCTLS,
  must,
  processesMentioning,
  readSysctls,
  run,
  type CommandResult,
} from "./host.js";
import { apiRequest } from "./kube.js";
import { writeTestCerts } from "./pki.js";
import { freePorts } from "./ports.js";
import { findNodeTool, hangarCacheDir, isExecutable, NODE_SETUP_COMMAND, type NodeTool } from "./tools.js";
import { COREDNS_VERSION } from "./versions.js";

export const NODE_POD_CIDR = "10.244.0.0/24";
export const NODE_CLUSTER_CIDR = "10.244.0.0/16";
export const NODE_SERVICE_CIDR = "10.96.0.0/16";
export const NODE_DNS_IP = "10.96.0.10";
export const PAUSE_IMAGE = "localhost/hangar-base/pause:3.10";
export const COREDNS_IMAGE = `localhost/hangar-base/coredns:${COREDNS_VERSION}`;
/** The command that builds the images and writes the list `startNode` imports. */
export const IMAGES_COMMAND = "bash scripts/build-images.sh";

/** An image for the node's containerd: its name and a docker-archive of it. */
export interface NodeImage {
  readonly name: string;
  readonly archive: string;
}

export interface NodeClusterOptions {
  /** Images to import (default: every line of `${HANGAR_CACHE}/images/node-images.txt`). */
  readonly images?: readonly NodeImage[];
  /** Default "hangar-node". */
  readonly nodeName?: string;
  /** How long each stage may take (default 120 000 ms). */
  readonly readyTimeoutMs?: number;
  /** Extra kubelet flags. */
  readonly kubeletArgs?: readonly string[];
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
}

export interface NodeCluster {
  readonly cp: ControlPlane;
  readonly cluster: Cluster;
  readonly nodeName: string;
  /** The node's InternalIP (its end of the veth pair, in its network namespace). */
  readonly nodeIp: string;
  /** This machine's end of the veth pair: the address pods reach the host at (the API server, a SIEM). */
  readonly hostIp: string;
  /** The node's network namespace (`/run/netns/<netns>`). */
  readonly netns: string;
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly dnsIp: string;
  /** Admin kubeconfig (server https://127.0.0.1:<port>). */
  readonly kubeconfigPath: string;
  /** The node's directory: containerd's root and state, kubelet's root, CNI, logs. */
  readonly dir: string;
  /** The cgroup parent of the pods in every hierarchy, e.g. `/hangar-3f2a`. */
  readonly cgroupRoot: string;
  readonly logFiles: Readonly<Record<string, string>>;
  readonly pids: Readonly<Record<string, number>>;
  /** Milliseconds each stage took. */
  readonly timings: Readonly<Record<string, number>>;
  /** `kubectl` with the admin kubeconfig (built by setup-node-tools.sh). */
  kubectl(args: readonly string[], opts?: { input?: string }): Promise<CommandResult>;
  /** `crictl` against the node's containerd. */
  crictl(args: readonly string[]): Promise<CommandResult>;
  /** A command in the node's network namespace. */
  inNode(cmd: string, args: readonly string[]): Promise<CommandResult>;
  /** Tears everything down (see the module comment); safe to call more than once. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export type NodeAvailability =
  | { readonly ok: true; readonly images: readonly NodeImage[] }
  | { readonly ok: false; readonly reason: string };

const DEBIAN_TOOLS: readonly [string, string][] = [
  ["containerd", "containerd"],
  ["containerd-shim-runc-v2", "containerd"],
  ["ctr", "containerd"],
  ["runc", "runc"],
  ["iptables", "iptables"],
  ["ip6tables", "iptables"],
  ["ipset", "ipset"],
  ["conntrack", "conntrack"],
  ["ip", "iproute2"],
  ["nsenter", "util-linux"],
  ["findmnt", "util-linux"],
  ["umount", "mount"],
  ["bpftool", "bpftool"],
];
const CNI_PLUGINS = ["bridge", "host-local", "loopback", "portmap"];
const CNI_BIN_DIR = "/usr/lib/cni";

function onPath(cmd: string, env: NodeJS.ProcessEnv): boolean {
  const dirs = (env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":");
  for (const d of [...dirs, "/usr/sbin", "/sbin"]) if (isExecutable(join(d, cmd))) return true;
  return false;
}

/** The images `scripts/build-images.sh` listed (`<name> <archive>` lines), or why not. */
export function listedImages(env: NodeJS.ProcessEnv = process.env): NodeImage[] | string {
  const list = join(hangarCacheDir(env), "images", "node-images.txt");
  let text: string;
  try {
    text = readFileSync(list, "utf8");
  } catch {
    return `no image list at ${list}; run \`${IMAGES_COMMAND}\` (as root)`;
  }
  const out: NodeImage[] = [];
  for (const line of text.split("\n")) {
    const [name, archive] = line.trim().split(/\s+/);
    if (name !== undefined && archive !== undefined && name !== "") out.push({ name, archive });
  }
  return out;
}

/**
 * Whether `startNodeCluster()` can run here. Every missing prerequisite is named: root, the
 * control-plane and node tools, Debian packages, kernel features (br_netfilter, veth, a cgroup
 * memory hierarchy, BTF), and the images.
 */
export function nodeAvailable(
  opts: { images?: readonly NodeImage[]; requiredImages?: readonly string[] } = {},
  env: NodeJS.ProcessEnv = process.env,
): NodeAvailability {
  const reasons: string[] = [];
  if (process.getuid?.() !== 0)
    reasons.push("not root (containerd, kubelet and network namespaces need root)");
  if (process.platform !== "linux") reasons.push(`${process.platform} is not Linux`);
  const cl = clusterAvailable(env);
  if (!cl.ok) reasons.push(cl.reason);
  for (const t of ["kubelet", "kube-proxy", "kubectl", "crictl", "kube-router"] as NodeTool[]) {
    const f = findNodeTool(t, env);
    if (!f.ok) reasons.push(f.reason);
  }
  const missingPkgs = new Set<string>();
  for (const [cmd, pkg] of DEBIAN_TOOLS) if (!onPath(cmd, env)) missingPkgs.add(`${pkg} (${cmd})`);
  for (const p of CNI_PLUGINS)
    if (!isExecutable(join(CNI_BIN_DIR, p)))
      missingPkgs.add(`containernetworking-plugins (${CNI_BIN_DIR}/${p})`);
  if (missingPkgs.size > 0)
    reasons.push(`missing Debian packages: ${[...missingPkgs].join(", ")}; run \`${NODE_SETUP_COMMAND}\``);
  if (!existsSync("/proc/sys/net/bridge/bridge-nf-call-iptables"))
    reasons.push("the br_netfilter kernel module is not loaded (modprobe br_netfilter)");
  if (!existsSync("/sys/fs/cgroup/memory") && !existsSync("/sys/fs/cgroup/cgroup.controllers"))
    reasons.push("no cgroup memory hierarchy and no cgroup2 at /sys/fs/cgroup");
  const images = opts.images ?? listedImages(env);
  if (typeof images === "string") reasons.push(images);
  else {
    const want = [PAUSE_IMAGE, COREDNS_IMAGE, ...(opts.requiredImages ?? [])];
    for (const w of want) {
      const img = images.find((i) => i.name === w);
      if (img === undefined) reasons.push(`image ${w} is not built; run \`${IMAGES_COMMAND}\``);
      else if (!existsSync(img.archive))
        reasons.push(`image archive ${img.archive} is missing; run \`${IMAGES_COMMAND}\``);
    }
  }
  if (reasons.length > 0 || typeof images === "string") return { ok: false, reason: reasons.join("; ") };
  return { ok: true, images };
}

/**
 * For `describe(name, { skip: skipUnlessNode() }, …)`: false when a real node can run here,
 * otherwise the reason. With `HANGAR_REQUIRE_NODE=1` (CI) it never skips: the test then fails
 * with the reason.
 */
export function skipUnlessNode(
  opts: { requiredImages?: readonly string[] } = {},
  env: NodeJS.ProcessEnv = process.env,
): false | string {
  if (env["HANGAR_REQUIRE_NODE"] === "1") return false;
  const a = nodeAvailable(opts, env);
  return a.ok ? false : `real Kubernetes node unavailable: ${a.reason}`;
}

interface Ctx {
  readonly id: string;
  readonly dir: string;
  readonly netns: string;
  readonly hostVeth: string;
  readonly nodeVeth: string;
  readonly hostIp: string;
  readonly nodeIp: string;
  readonly cgroupRoot: string;
  readonly log: (l: string) => void;
  readonly processes: Managed[];
  readonly timings: Record<string, number>;
}

/** A free 10.243.<k>.0/30 for the veth pair (k not used by any address of this machine). */
async function pickLinkSubnet(): Promise<number> {
  const used = await run("ip", ["-4", "-o", "addr", "show"]);
  for (let tries = 0; tries < 50; tries++) {
    const k = 1 + (randomBytes(1)[0]! % 250);
    if (!used.stdout.includes(`10.243.${k}.`)) return k;
  }
  throw new TestkitError(
    "HANGAR_ERR_TESTKIT_SETUP_FAILED",
    "no free 10.243.<k>.0/30 for the node's veth pair",
  );
}

function kubeconfigFor(server: string, caData: string, auth: { token: string }): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: hangar",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority-data: ${caData}`,
    "users:",
    "- name: hangar",
    "  user:",
    `    token: ${auth.token}`,
    "contexts:",
    "- name: hangar",
    "  context:",
    "    cluster: hangar",
    "    user: hangar",
    "current-context: hangar",
    "",
  ].join("\n");
}

function containerdConfig(ctx: Ctx): string {
  const d = (p: string): string => JSON.stringify(join(ctx.dir, p));
  return `# written by @hangar/testkit node.ts for one test node
version = 2
root = ${d("containerd/root")}
state = ${d("containerd/state")}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = ${d("containerd/containerd.sock")}
[ttrpc]
  address = ${d("containerd/containerd.sock.ttrpc")}
[plugins."io.containerd.internal.v1.opt"]
  path = ${d("containerd/opt")}
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${JSON.stringify(PAUSE_IMAGE)}
  disable_apparmor = true
  # This machine refuses a lower oom_score_adj even to root (kubelet logs "Failed to
  # ApplyOOMScoreAdj"): runc's init then dies ("can't get final child's PID from pipe") unless
  # containerd keeps pods' oom_score_adj at or above its own.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ${d("containerd/runc")}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${JSON.stringify(CNI_BIN_DIR)}
    conf_dir = ${d("cni/net.d")}
`;
}

/** The pod network: a bridge with host-local IPAM, no masquerade (the node has no way out). */
function cniConfig(ctx: Ctx): string {
  return `${JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "hangar",
      plugins: [
        {
          type: "bridge",
          bridge: "hangar-cni0",
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: NODE_POD_CIDR, gateway: "10.244.0.1" }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: join(ctx.dir, "cni", "ipam"),
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

function kubeletConfig(ctx: Ctx, pki: { ca: string; cert: string; key: string }, port: number): string {
  const j = JSON.stringify;
  return [
    "apiVersion: kubelet.config.k8s.io/v1beta1",
    "kind: KubeletConfiguration",
    "authentication:",
    "  anonymous: {enabled: false}",
    "  webhook: {enabled: true}",
    `  x509: {clientCAFile: ${j(pki.ca)}}`,
    "authorization: {mode: Webhook}",
    `address: ${ctx.nodeIp}`,
    `port: ${port}`,
    "readOnlyPort: 0",
    "healthzBindAddress: 127.0.0.1",
    "healthzPort: 10248",
    `tlsCertFile: ${j(pki.cert)}`,
    `tlsPrivateKeyFile: ${j(pki.key)}`,
    `containerRuntimeEndpoint: ${j(`unix://${join(ctx.dir, "containerd", "containerd.sock")}`)}`,
    "cgroupDriver: cgroupfs",
    `cgroupRoot: ${ctx.cgroupRoot}`,
    "cgroupsPerQOS: true",
    "failCgroupV1: false",
    "failSwapOn: false",
    `clusterDNS: [${NODE_DNS_IP}]`,
    "clusterDomain: cluster.local",
    `resolvConf: ${j(join(ctx.dir, "resolv.conf"))}`,
    `podLogsDir: ${j(join(ctx.dir, "pod-logs"))}`,
    `podCIDR: ${NODE_POD_CIDR}`,
    "maxPods: 40",
    "serializeImagePulls: false",
    // No registry: never collect the imported images.
    "imageGCHighThresholdPercent: 100",
    "imageGCLowThresholdPercent: 99",
    "evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}",
    "rotateCertificates: false",
    "serverTLSBootstrap: false",
    "registerNode: true",
    "syncFrequency: 10s",
    "fileCheckFrequency: 10s",
    "",
  ].join("\n");
}

function kubeProxyConfig(ctx: Ctx, kubeconfig: string, nodeName: string): string {
  return [
    "apiVersion: kubeproxy.config.k8s.io/v1alpha1",
    "kind: KubeProxyConfiguration",
    `clientConnection: {kubeconfig: ${JSON.stringify(kubeconfig)}}`,
    `hostnameOverride: ${nodeName}`,
    "mode: iptables",
    `clusterCIDR: ${NODE_CLUSTER_CIDR}`,
    "healthzBindAddress: 127.0.0.1:10256",
    "metricsBindAddress: 127.0.0.1:10249",
    // 0: leave the machine's conntrack table size and timeouts alone.
    "conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}",
    "",
  ].join("\n");
}

/** CoreDNS as the cluster DNS: `cluster.local` from the API, nothing forwarded (no way out). */
function corednsObjects(): Record<string, unknown>[] {
  const labels = { "k8s-app": "kube-dns" };
  const meta = (name: string): Record<string, unknown> => ({ name, namespace: "kube-system", labels });
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta("coredns") },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "hangar:coredns", labels },
      rules: [
        {
          apiGroups: [""],
          resources: ["endpoints", "services", "pods", "namespaces"],
          verbs: ["list", "watch"],
        },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "hangar:coredns", labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "hangar:coredns" },
      subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: "kube-system" }],
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta("coredns"),
      data: {
        Corefile: [
          ".:53 {",
          "    errors",
          "    health :8080",
          "    ready :8181",
          "    kubernetes cluster.local in-addr.arpa ip6.arpa {",
          "        pods insecure",
          "        fallthrough in-addr.arpa ip6.arpa",
          "    }",
          "    cache 30",
          "    loop",
          "}",
          "",
        ].join("\n"),
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta("coredns"),
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: "coredns",
            priorityClassName: "system-cluster-critical",
            dnsPolicy: "Default",
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              runAsGroup: 65532,
              seccompProfile: { type: "RuntimeDefault" },
              sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }],
            },
            containers: [
              {
                name: "coredns",
                image: COREDNS_IMAGE,
                imagePullPolicy: "Never",
                args: ["-conf", "/etc/coredns/Corefile"],
                ports: [
                  { name: "dns", containerPort: 53, protocol: "UDP" },
                  { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
                ],
                readinessProbe: { httpGet: { path: "/ready", port: 8181 }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: "/health", port: 8080 }, periodSeconds: 10 },
                resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                },
                volumeMounts: [{ name: "config", mountPath: "/etc/coredns", readOnly: true }],
              },
            ],
            volumes: [{ name: "config", configMap: { name: "coredns" } }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta("kube-dns"),
      spec: {
        selector: labels,
        clusterIP: NODE_DNS_IP,
        ports: [
          { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
          { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 },
        ],
      },
    },
  ];
}

/** The REST path of an object for POST. */
function collectionPath(o: Record<string, unknown>): string {
  const apiVersion = o["apiVersion"] as string;
  const kind = o["kind"] as string;
  const ns = (o["metadata"] as { namespace?: string }).namespace;
  const plural = `${kind.toLowerCase()}${kind.endsWith("s") ? "es" : "s"}`;
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return ns === undefined ? `${base}/${plural}` : `${base}/namespaces/${ns}/${plural}`;
}

async function createAll(cp: ControlPlane, objects: readonly Record<string, unknown>[]): Promise<void> {
  for (const o of objects) {
    const r = await apiRequest(cp, "POST", collectionPath(o), { body: o });
    if (r.status !== 201 && r.status !== 409)
      throw new TestkitError(
        "HANGAR_ERR_TESTKIT_SETUP_FAILED",
        `creating ${String(o["kind"])} ${JSON.stringify(o["metadata"])}: HTTP ${r.status}: ${JSON.stringify(r.body)}`,
      );
  }
}

async function poll<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  processes: readonly Managed[],
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const dead = processes.find((p) => p.done);
    if (dead !== undefined)
      throw new TestkitError(
        "HANGAR_ERR_TESTKIT_PROCESS_EXITED",
        `${dead.name} ${await dead.exited} while waiting for ${what}. Last lines of ${dead.logFile}:\n${await logTail(dead.logFile)}`,
        { details: { process: dead.name, log: dead.logFile } },
      );
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (performance.now() > deadline) {
      const tails = await Promise.all(
        processes.map(async (p) => `${p.name}:\n${await logTail(p.logFile, 12)}`),
      );
      throw new TestkitError(
        "HANGAR_ERR_TESTKIT_READY_TIMEOUT",
        `timed out after ${(timeoutMs / 1000).toFixed(0)}s waiting for ${what}.\n${tails.join("\n")}`,
      );
    }
    await sleep(250);
  }
}

interface PodList {
  items: {
    metadata: { name: string; namespace: string };
    status?: { phase?: string; conditions?: { type: string; status: string }[] };
  }[];
}

/** Starts the control plane, the cluster processes and the node; resolves when CoreDNS is Ready. */
export async function startNodeCluster(opts: NodeClusterOptions = {}): Promise<NodeCluster> {
  const env = opts.env ?? process.env;
  const avail = nodeAvailable(opts.images === undefined ? {} : { images: opts.images }, env);
  if (!avail.ok)
    throw new TestkitError("HANGAR_ERR_TESTKIT_TOOL_MISSING", `cannot start a real node: ${avail.reason}`, {
      details: { setup: `${NODE_SETUP_COMMAND} && ${IMAGES_COMMAND}` },
    });
  const tool = (t: NodeTool): string => findNodeTool(t, env).path;
  const timeoutMs = opts.readyTimeoutMs ?? 120_000;
  const nodeName = opts.nodeName ?? "hangar-node";
  const id = randomBytes(3).toString("hex");
  const k = await pickLinkSubnet();
  const dir = await mkdtemp(join(tmpdir(), "hangar-node-"));
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const mark = (name: string): void => {
    timings[name] = Math.round(performance.now() - t0);
  };
  const ctx: Ctx = {
    id,
    dir,
    netns: `hangar-node-${id}`,
    hostVeth: `hgr${id}h`,
    nodeVeth: `hgr${id}n`,
    hostIp: `10.243.${k}.1`,
    nodeIp: `10.243.${k}.2`,
    cgroupRoot: `/hangar-${id}`,
    log: opts.log ?? (() => undefined),
    processes: [],
    timings,
  };
  const sysctlsBefore = await readSysctls(KUBELET_SYSCTLS);
  // Held while the node starts: a run once ended with "Promise resolution is still pending but
  // the event loop has already resolved" while it waited for CoreDNS; this keeps the loop alive
  // whatever the wait is on, so such a wait times out with logs instead.
  const keepAlive = setInterval(() => undefined, 1_000);
  const reaper = startNodeReaper(dir, id, sysctlsBefore);
  let cp: ControlPlane | undefined;
  let cluster: Cluster | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= teardown(ctx, { cp, cluster, sysctlsBefore, tool, reaper });
    return stopping;
  };
  const start = (name: string, bin: string, args: readonly string[], netns = true): Managed => {
    const [cmd, argv] = netns ? inNetns(ctx.netns, bin, args) : [bin, [...args]];
    const p = launch(name, cmd, argv, dir);
    ctx.processes.push(p);
    reaper.watch(p.child.pid);
    return p;
  };

  try {
    // ── the node's network namespace ────────────────────────────────────────────────────────
    ctx.log(
      `node network namespace ${ctx.netns}: veth ${ctx.hostVeth} ${ctx.hostIp} ⇄ ${ctx.nodeVeth} ${ctx.nodeIp}`,
    );
    const ip = (...a: string[]): Promise<string> => must("ip", a, "setting up the node's network");
    await ip("netns", "add", ctx.netns);
    await ip("link", "add", ctx.hostVeth, "type", "veth", "peer", "name", ctx.nodeVeth, "netns", ctx.netns);
    await ip("addr", "add", `${ctx.hostIp}/30`, "dev", ctx.hostVeth);
    await ip("link", "set", ctx.hostVeth, "up");
    await ip("-n", ctx.netns, "link", "set", "lo", "up");
    await ip("-n", ctx.netns, "addr", "add", `${ctx.nodeIp}/30`, "dev", ctx.nodeVeth);
    await ip("-n", ctx.netns, "link", "set", ctx.nodeVeth, "up");
    const nodeSh = async (what: string, cmd: string, ...a: string[]): Promise<void> => {
      const [c, argv] = inNetns(ctx.netns, cmd, a);
      await must(c, argv, what);
    };
    // Per network namespace: forwarding, bridged traffic through iptables (kube-proxy,
    // NetworkPolicies between pods on the bridge), and the way to the host masqueraded to the
    // node's address (so the host needs no route to the pod network).
    await nodeSh("forwarding in the node", "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    await nodeSh("br_netfilter in the node", "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1");
    await nodeSh("br_netfilter in the node", "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-ip6tables=1");
    await nodeSh(
      "masquerade towards the host",
      "iptables",
      "-t",
      "nat",
      "-A",
      "POSTROUTING",
      "-o",
      ctx.nodeVeth,
      "-j",
      "MASQUERADE",
    );
    mark("netns");

    // ── PKI: apiserver → kubelet client certificate, kubelet serving certificate ─────────────
    await mkdir(join(dir, "pki"), { recursive: true });
    const kpki = writeTestCerts(join(dir, "pki"), {
      caCn: "hangar-node-ca",
      serverCn: nodeName,
      serverSan: `IP:${ctx.nodeIp},DNS:${nodeName}`,
      clientCn: "kube-apiserver-kubelet-client",
    });
    const tokens = {
      kubelet: randomBytes(24).toString("hex"),
      proxy: randomBytes(24).toString("hex"),
    };

    // ── control plane, controller manager, scheduler ────────────────────────────────────────
    ctx.log("control plane (etcd, kube-apiserver on 0.0.0.0 advertising the host's veth address)");
    cp = await startControlPlane({
      disableAdmissionPlugins: [],
      tokens: [
        { token: tokens.kubelet, user: `system:node:${nodeName}`, groups: ["system:nodes"] },
        { token: tokens.proxy, user: "system:kube-proxy" },
      ],
      servingSans: [
        `IP:${ctx.hostIp}`,
        "IP:10.96.0.1",
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.cluster.local",
      ],
      apiserverArgs: [
        "--bind-address=0.0.0.0",
        `--advertise-address=${ctx.hostIp}`,
        "--endpoint-reconciler-type=lease",
        "--enable-admission-plugins=NodeRestriction",
        `--kubelet-client-certificate=${kpki.clientCert}`,
        `--kubelet-client-key=${kpki.clientKey}`,
        `--kubelet-certificate-authority=${kpki.ca}`,
        "--kubelet-preferred-address-types=InternalIP",
      ],
      env,
    });
    reaper.watch(cp.pids.etcd);
    reaper.watch(cp.pids.kubeApiserver);
    mark("controlPlane");
    cluster = await startCluster(cp, {
      nodes: [],
      kwok: false,
      env,
      controllerManagerArgs: [
        "--allocate-node-cidrs=true",
        `--cluster-cidr=${NODE_CLUSTER_CIDR}`,
        "--node-cidr-mask-size=24",
        `--service-cluster-ip-range=${NODE_SERVICE_CIDR}`,
        "--node-monitor-grace-period=40s",
      ],
    });
    for (const pid of Object.values(cluster.pids)) reaper.watch(pid);
    mark("cluster");
    await createAll(cp, [
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "hangar:apiserver-kubelet-client" },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "system:kubelet-api-admin",
        },
        subjects: [
          { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "kube-apiserver-kubelet-client" },
        ],
      },
      // The kubelet's identity (system:node:<name>, group system:nodes) gets the system:node
      // role by RBAC: the testkit's API server authorizes with RBAC only (its flag cannot be
      // given twice), and NodeRestriction admission still limits what the kubelet may change.
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "hangar:nodes" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:node" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" }],
      },
    ]);
    const apiPort = new URL(cp.server).port;
    const nodeServer = `https://${ctx.hostIp}:${apiPort}`;
    const writeKc = async (name: string, token: string): Promise<string> => {
      const p = join(dir, name);
      await writeFile(p, kubeconfigFor(nodeServer, cp!.caData, { token }), { mode: 0o600 });
      return p;
    };
    const kubeletKc = await writeKc("kubelet.kubeconfig", tokens.kubelet);
    const proxyKc = await writeKc("kube-proxy.kubeconfig", tokens.proxy);
    const adminKc = await writeKc("admin-node.kubeconfig", cp.token);

    // ── containerd and the images ───────────────────────────────────────────────────────────
    for (const sub of ["containerd", "cni/net.d", "cni/ipam", "kubelet", "pod-logs"])
      await mkdir(join(dir, sub), { recursive: true });
    await writeFile(join(dir, "containerd", "config.toml"), containerdConfig(ctx));
    await writeFile(join(dir, "cni", "net.d", "10-hangar.conflist"), cniConfig(ctx));
    await writeFile(join(dir, "resolv.conf"), "");
    const sock = join(dir, "containerd", "containerd.sock");
    ctx.log("containerd");
    start("containerd", "containerd", [
      "--config",
      join(dir, "containerd", "config.toml"),
      "--log-level",
      "info",
    ]);
    await poll(
      "containerd's socket",
      timeoutMs,
      () => Promise.resolve(existsSync(sock) ? true : undefined),
      ctx.processes,
    );
    const ctr = (...a: string[]): Promise<CommandResult> =>
      run("ctr", ["--address", sock, "-n", "k8s.io", ...a]);
    await poll(
      "containerd to answer",
      timeoutMs,
      async () => ((await ctr("version")).code === 0 ? true : undefined),
      ctx.processes,
    );
    for (const img of avail.images) {
      const t = performance.now();
      const r = await ctr("images", "import", img.archive);
      if (r.code !== 0)
        throw new TestkitError(
          "HANGAR_ERR_TESTKIT_SETUP_FAILED",
          `ctr images import ${img.archive} (${img.name}): ${r.stderr.trim()}`,
        );
      ctx.log(`imported ${img.name} in ${((performance.now() - t) / 1000).toFixed(1)}s`);
    }
    mark("images");

    // ── cgroups: the pods' parent in every hierarchy ────────────────────────────────────────
    for (const h of await cgroupHierarchies()) {
      await mkdir(join(h, ctx.cgroupRoot), { recursive: true });
      // A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and nothing can join it
      // (runc's init then dies: "can't get final child's PID from pipe"): give it the root's.
      if (existsSync(join(h, "cpuset.cpus")))
        for (const f of ["cpuset.cpus", "cpuset.mems"])
          await writeFile(join(h, ctx.cgroupRoot, f), await readFile(join(h, f), "utf8"));
    }

    // ── kubelet ─────────────────────────────────────────────────────────────────────────────
    const [kubeletPort] = await freePorts(1);
    await writeFile(
      join(dir, "kubelet", "config.yaml"),
      kubeletConfig(ctx, { ca: kpki.ca, cert: kpki.serverCert, key: kpki.serverKey }, kubeletPort ?? 10250),
    );
    ctx.log("kubelet");
    start("kubelet", tool("kubelet"), [
      `--config=${join(dir, "kubelet", "config.yaml")}`,
      `--kubeconfig=${kubeletKc}`,
      `--root-dir=${join(dir, "kubelet")}`,
      `--cert-dir=${join(dir, "kubelet", "pki")}`,
      `--hostname-override=${nodeName}`,
      `--node-ip=${ctx.nodeIp}`,
      "--v=1",
      ...(opts.kubeletArgs ?? []),
    ]);
    ctx.log("kube-proxy");
    await writeFile(join(dir, "kube-proxy.yaml"), kubeProxyConfig(ctx, proxyKc, nodeName));
    start("kube-proxy", tool("kube-proxy"), [`--config=${join(dir, "kube-proxy.yaml")}`, "--v=1"]);
    await poll(
      `node ${nodeName} Ready`,
      timeoutMs,
      async () => {
        const r = await apiRequest(cp!, "GET", `/api/v1/nodes/${nodeName}`);
        const conds = (r.body as { status?: { conditions?: { type: string; status: string }[] } }).status
          ?.conditions;
        return conds?.some((c) => c.type === "Ready" && c.status === "True") === true ? true : undefined;
      },
      ctx.processes,
    );
    mark("nodeReady");
    // kube-router finds its node by name at start: after kubelet registered it.
    ctx.log("kube-router (NetworkPolicy enforcer)");
    start("kube-router", tool("kube-router"), [
      `--kubeconfig=${adminKc}`,
      "--run-firewall=true",
      "--run-router=false",
      "--run-service-proxy=false",
      `--hostname-override=${nodeName}`,
      `--service-cluster-ip-range=${NODE_SERVICE_CIDR}`,
      "--enable-ipv4=true",
      "--enable-ipv6=false",
      "--health-port=0",
      "--metrics-port=0",
      "--v=1",
    ]);

    // ── cluster DNS ─────────────────────────────────────────────────────────────────────────
    ctx.log("CoreDNS");
    await createAll(cp, corednsObjects());
    await poll(
      "CoreDNS Ready (kube-system, k8s-app=kube-dns)",
      timeoutMs,
      async () => {
        const r = await apiRequest(
          cp!,
          "GET",
          "/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns",
        );
        const items = (r.body as PodList).items;
        return items.some((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
          ? true
          : undefined;
      },
      ctx.processes,
    );
    mark("dnsReady");
    ctx.log(`node ready in ${(timings["dnsReady"]! / 1000).toFixed(1)}s`);
    clearInterval(keepAlive);

    const kubectlBin = tool("kubectl");
    const control = cp;
    const clusterProcs = cluster;
    return {
      cp: control,
      cluster: clusterProcs,
      nodeName,
      nodeIp: ctx.nodeIp,
      hostIp: ctx.hostIp,
      netns: ctx.netns,
      podCidr: NODE_POD_CIDR,
      serviceCidr: NODE_SERVICE_CIDR,
      dnsIp: NODE_DNS_IP,
      kubeconfigPath: control.kubeconfigPath,
      dir,
      cgroupRoot: ctx.cgroupRoot,
      logFiles: Object.fromEntries(ctx.processes.map((p) => [p.name, p.logFile])),
      pids: Object.fromEntries(ctx.processes.map((p) => [p.name, p.child.pid ?? -1])),
      timings,
      kubectl: (args, o = {}) =>
        run(
          kubectlBin,
          ["--kubeconfig", control.kubeconfigPath, ...args],
          o.input === undefined ? {} : { input: o.input },
        ),
      crictl: (args) => run(tool("crictl"), ["--runtime-endpoint", `unix://${sock}`, ...args]),
      inNode: (cmd, args) => {
        const [c, a] = inNetns(ctx.netns, cmd, args);
        return run(c, a);
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    clearInterval(keepAlive);
    await stop().catch((e: unknown) => ctx.log(`teardown after a failed start: ${String(e)}`));
    throw err;
  }
}

/**
 * The safety net when the test process dies without `stop()` (crash, timeout, SIGKILL): a
 * detached `sh` that collects pids from a pipe and, when the pipe closes, kills them and every
 * process that names the node's directory (containerd's shims), unmounts what is under that
 * directory, deletes the node's network namespaces (their iptables rules, ipsets and links go
 * with them), removes its cgroups and the directory. `stop()` dismisses it.
 */
function startNodeReaper(
  dir: string,
  id: string,
  sysctls: Readonly<Record<string, string>>,
): { watch(pid: number | undefined): void; dismiss(): void } {
  const cgroupMounts =
    "awk '{ for (i = 7; i < NF; i++) if ($i == \"-\") { if ($(i + 1) ~ /^cgroup2?$/) print $5; break } }' /proc/self/mountinfo";
  const script = [
    "dir=$0; id=$1; shift 2",
    'pids=""; while read -r pid; do pids="$pids $pid"; done',
    "kill -9 $pids 2>/dev/null",
    // containerd's shims and anything else started with the node's directory in its arguments
    'for f in /proc/[0-9]*/cmdline; do p=${f#/proc/}; p=${p%/cmdline}; [ "$p" = "$$" ] && continue;',
    '  tr "\\0" " " <"$f" 2>/dev/null | grep -q -- "$dir" && kill -9 "$p" 2>/dev/null; done',
    // the containers themselves (children of the shims): every process in the pods' cgroups
    `for h in $(${cgroupMounts}); do [ -d "$h/hangar-$id" ] && find "$h/hangar-$id" -name cgroup.procs -exec cat {} + 2>/dev/null; done | sort -u | xargs -r kill -9 2>/dev/null`,
    "sleep 1",
    'awk -v d="$dir/" \'index($5, d) == 1 { print $5 }\' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done',
    'ip netns del "hangar-node-$id" 2>/dev/null; ip netns del "hangar-ext-$id" 2>/dev/null',
    `for h in $(${cgroupMounts}); do [ -d "$h/hangar-$id" ] && find "$h/hangar-$id" -depth -type d -exec rmdir {} + 2>/dev/null; done`,
    // the kernel settings kubelet changed, as they were
    'for kv in "$@"; do printf "%s\\n" "${kv#*=}" >"/proc/sys/${kv%%=*}" 2>/dev/null; done',
    'rm -rf -- "$dir"',
  ].join("\n");
  const settings = Object.entries(sysctls)
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `${k}=${v}`);
  const reaper = spawn("sh", ["-c", script, dir, id, ...settings], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
  });
  reaper.on("error", () => undefined);
  reaper.stdin.on("error", () => undefined);
  reaper.unref();
  (reaper.stdin as Partial<Socket>).unref?.();
  return {
    watch: (pid) => {
      if (pid !== undefined) reaper.stdin.write(`${pid}\n`);
    },
    dismiss: () => {
      reaper.kill("SIGKILL");
    },
  };
}

/** Mount points of the cgroup hierarchies (v1 controllers, named ones, cgroup2). */
async function cgroupHierarchies(): Promise<string[]> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  const out: string[] = [];
  for (const line of info.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(" ")[0];
    if (fstype === "cgroup" || fstype === "cgroup2") out.push(line.slice(0, sep).split(" ")[4] ?? "");
  }
  return out.filter((m) => m !== "");
}

/** Removes a cgroup directory tree, children first (only empty cgroups can be removed). */
async function rmCgroupTree(path: string): Promise<string[]> {
  const failed: string[] = [];
  const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined);
  if (entries === undefined) return failed;
  for (const e of entries) if (e.isDirectory()) failed.push(...(await rmCgroupTree(join(path, e.name))));
  for (let i = 0; i < 20; i++) {
    try {
      await rmdir(path);
      return failed;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return failed;
      await sleep(100);
    }
  }
  failed.push(path);
  return failed;
}

async function teardown(
  ctx: Ctx,
  s: {
    cp: ControlPlane | undefined;
    cluster: Cluster | undefined;
    sysctlsBefore: Record<string, string>;
    tool: (t: NodeTool) => string;
    reaper: { dismiss(): void };
  },
): Promise<void> {
  const problems: string[] = [];
  const sock = join(ctx.dir, "containerd", "containerd.sock");
  const kubelet = ctx.processes.find((p) => p.name === "kubelet");
  // 1. Pods away through the API while kubelet runs: it stops their containers, unmounts their
  //    volumes and stops their sandboxes (CNI DEL). Controllers first, so nothing comes back.
  if (s.cluster !== undefined) await s.cluster.stop();
  if (s.cp !== undefined && kubelet !== undefined && !kubelet.done) {
    const cp = s.cp;
    await apiRequest(cp, "DELETE", "/api/v1/pods?gracePeriodSeconds=2").catch(() => undefined);
    const nsList = await apiRequest(cp, "GET", "/api/v1/namespaces").catch(() => undefined);
    for (const ns of (nsList?.body as { items?: { metadata: { name: string } }[] } | undefined)?.items ?? [])
      await apiRequest(
        cp,
        "DELETE",
        `/api/v1/namespaces/${ns.metadata.name}/pods?gracePeriodSeconds=2`,
      ).catch(() => undefined);
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline) {
      const r = await apiRequest(cp, "GET", "/api/v1/pods").catch(() => undefined);
      if ((r?.body as PodList | undefined)?.items.length === 0) break;
      await sleep(500);
    }
  }
  // 2. The node's processes (kubelet first), then whatever sandboxes are left, with crictl.
  for (const name of ["kubelet", "kube-router", "kube-proxy"]) {
    const p = ctx.processes.find((x) => x.name === name);
    if (p !== undefined) await terminate(p, "SIGTERM", 10_000);
  }
  const containerd = ctx.processes.find((p) => p.name === "containerd");
  if (containerd !== undefined && !containerd.done) {
    const crictl = (...a: string[]): Promise<CommandResult> =>
      run(s.tool("crictl"), ["--runtime-endpoint", `unix://${sock}`, "--timeout", "20s", ...a]).catch(() => ({
        code: 1,
        stdout: "",
        stderr: "crictl missing",
      }));
    const pods = await crictl("pods", "-q");
    for (const podId of pods.stdout.split("\n").filter((x) => x !== "")) {
      await crictl("stopp", podId);
      const r = await crictl("rmp", "-f", podId);
      if (r.code !== 0) problems.push(`crictl rmp ${podId}: ${r.stderr.trim()}`);
    }
    await terminate(containerd, "SIGTERM", 10_000);
  }
  // 3. Shims and anything else still running from the node's directory.
  for (let i = 0; i < 3; i++) {
    const left = await processesMentioning(ctx.dir);
    const ours = left.filter((p) => p.pid !== process.pid);
    if (ours.length === 0) break;
    for (const p of ours) {
      try {
        process.kill(p.pid, i === 0 ? "SIGTERM" : "SIGKILL");
      } catch {
        // gone already
      }
    }
    await sleep(500);
  }
  for (const p of ctx.processes) if (!p.done) await terminate(p, "SIGKILL", 2_000);
  // 4. Mounts under the node's directory (volumes, rootfs overlays, sandbox shm, netns), deepest first.
  for (let i = 0; i < 3; i++) {
    const info = await readFile("/proc/self/mountinfo", "utf8");
    const mounts = info
      .split("\n")
      .map((l) => (l.split(" ")[4] ?? "").replace(/\\040/g, " "))
      .filter((m) => m.startsWith(`${ctx.dir}/`))
      .sort((a, b) => b.length - a.length);
    if (mounts.length === 0) break;
    for (const m of mounts) {
      const r = await run("umount", ["-l", m]);
      if (r.code !== 0 && i === 2) problems.push(`umount ${m}: ${r.stderr.trim()}`);
    }
  }
  // 5. The network namespaces (with them go the veth pairs, the bridge, every iptables rule,
  //    ipset and conntrack entry of the node).
  for (const ns of await readdir("/run/netns").catch(() => [] as string[]))
    if (ns === ctx.netns || ns.startsWith(`hangar-ext-${ctx.id}`)) {
      const r = await run("ip", ["netns", "del", ns]);
      if (r.code !== 0) problems.push(`ip netns del ${ns}: ${r.stderr.trim()}`);
    }
  await run("ip", ["link", "del", ctx.hostVeth]).catch(() => undefined);
  // 6. The pods' cgroups.
  for (const h of await cgroupHierarchies()) {
    const failed = await rmCgroupTree(join(h, ctx.cgroupRoot));
    if (failed.length > 0) problems.push(`cgroups not removed: ${failed.join(", ")}`);
  }
  // 7. Kernel settings kubelet changed.
  const now = await readSysctls(KUBELET_SYSCTLS);
  for (const [name, value] of Object.entries(s.sysctlsBefore))
    if (value !== "" && now[name] !== value)
      await writeFile(`/proc/sys/${name}`, value).catch(() => undefined);
  // 8. The control plane, the reaper and the directory (the logs kept first when asked).
  const keep = process.env["HANGAR_NODE_LOGS_DIR"];
  if (keep !== undefined && keep !== "") {
    const to = join(keep, `hangar-node-${ctx.id}`);
    await mkdir(to, { recursive: true }).catch(() => undefined);
    for (const p of ctx.processes)
      await copyFile(p.logFile, join(to, `${p.name}.log`)).catch(() => undefined);
    if (s.cp !== undefined)
      for (const [n, f] of Object.entries(s.cp.logFiles))
        await copyFile(f, join(to, `${n}.log`)).catch(() => undefined);
    for (const [n, f] of Object.entries(s.cluster?.logFiles ?? {}))
      await copyFile(f, join(to, `${n}.log`)).catch(() => undefined);
    await cp(join(ctx.dir, "pod-logs"), join(to, "pod-logs"), { recursive: true }).catch(() => undefined);
  }
  if (s.cp !== undefined) await s.cp.stop();
  s.reaper.dismiss();
  await rm(ctx.dir, { recursive: true, force: true }).catch((e: unknown) =>
    problems.push(`rm ${ctx.dir}: ${String(e)}`),
  );
  if (problems.length > 0)
    throw new TestkitError(
      "HANGAR_ERR_TESTKIT_SETUP_FAILED",
      `tearing down the node left:\n${problems.join("\n")}`,
    );
}

/** A host outside the cluster that pods can reach: addresses in a network namespace of the test. */
export interface ExternalHosts {
  readonly netns: string;
  /** Every accepted TCP connection so far. */
  connections(): Promise<ExternalConnection[]>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface ExternalConnection {
  /** Milliseconds since the epoch. */
  readonly time: number;
  /** `ip:port` that was connected to. */
  readonly local: string;
  /** `ip:port` of the connecting side (a pod's address: nothing is masqueraded on the way). */
  readonly remote: string;
}

/**
 * TCP listeners on `addresses` × `ports` in a network namespace of their own, routed from the
 * node (and only from the node: these addresses exist nowhere else on this machine, and the node
 * has no other way out). What connects is recorded.
 */
export async function startExternalHosts(
  node: NodeCluster,
  hosts: { readonly addresses: readonly string[]; readonly ports: readonly number[] },
): Promise<ExternalHosts> {
  const id = /hangar-node-([0-9a-f]+)/.exec(node.netns)?.[1] ?? randomBytes(3).toString("hex");
  const ns = `hangar-ext-${id}`;
  const [a, b] = [`hgx${id}a`, `hgx${id}b`];
  const dir = await mkdtemp(join(tmpdir(), "hangar-ext-"));
  const ip = (...args: string[]): Promise<string> => must("ip", args, "setting up the external hosts");
  const out = join(dir, "connections.jsonl");
  let child: Managed | undefined;
  const stop = async (): Promise<void> => {
    if (child !== undefined) await terminate(child, "SIGTERM", 2_000);
    await run("ip", ["netns", "del", ns]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await ip("netns", "add", ns);
    await ip("-n", node.netns, "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns);
    await ip("-n", node.netns, "addr", "add", "10.242.0.1/30", "dev", a);
    await ip("-n", node.netns, "link", "set", a, "up");
    await ip("-n", ns, "addr", "add", "10.242.0.2/30", "dev", b);
    await ip("-n", ns, "link", "set", b, "up");
    await ip("-n", ns, "link", "set", "lo", "up");
    await ip("-n", ns, "route", "add", "default", "via", "10.242.0.1");
    for (const addr of hosts.addresses) {
      await ip("-n", ns, "addr", "add", `${addr}/32`, "dev", "lo");
      await ip("-n", node.netns, "route", "add", `${addr}/32`, "via", "10.242.0.2");
    }
    const script = join(dir, "listener.mjs");
    await writeFile(
      script,
      `// TCP listeners of the test's external hosts: one JSON line per accepted connection.
import { createServer } from "node:net";
import { appendFileSync } from "node:fs";
const [out, ...targets] = process.argv.slice(2).filter((a) => !a.startsWith("--node="));
let ready = 0;
for (const t of targets) {
  const i = t.lastIndexOf(":");
  const srv = createServer((s) => {
    appendFileSync(out, JSON.stringify({ time: Date.now(), local: t, remote: s.remoteAddress + ":" + s.remotePort }) + "\\n");
    s.on("error", () => {});
    s.setTimeout(5000, () => s.destroy());
    s.on("data", () => {});
  });
  srv.listen(Number(t.slice(i + 1)), t.slice(0, i), () => { if (++ready === targets.length) console.log("ready"); });
}
process.on("SIGTERM", () => process.exit(0));
`,
    );
    const targets = hosts.addresses.flatMap((addr) => hosts.ports.map((p) => `${addr}:${p}`));
    // The node's directory in the command line: the node's reaper (a crashed test) kills it too.
    const [cmd, argv] = inNetns(ns, process.execPath, [script, out, ...targets, `--node=${node.dir}`]);
    child = launch("external-hosts", cmd, argv, dir);
    const deadline = Date.now() + 10_000;
    while (!(await readFile(child.logFile, "utf8").catch(() => "")).includes("ready")) {
      if (child.done || Date.now() > deadline)
        throw new TestkitError(
          "HANGAR_ERR_TESTKIT_SETUP_FAILED",
          `the external hosts' listener did not start: ${await logTail(child.logFile)}`,
        );
      await sleep(50);
    }
    return {
      netns: ns,
      connections: async () =>
        (await readFile(out, "utf8").catch(() => ""))
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as ExternalConnection),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
