/**
 * A control plane that runs things: kube-controller-manager (ServiceAccounts, ReplicaSets,
 * DaemonSets, garbage collection, ...), kube-scheduler (binds pods to nodes) and kwok (fake
 * nodes that report Ready and "run" the pods bound to them), next to the etcd + kube-apiserver
 * of `startControlPlane()`. No container runs: a pod is Running because kwok says so.
 */
import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  controlPlaneAvailable,
  launch,
  logTail,
  startReaper,
  terminate,
  type ControlPlane,
  type Managed,
} from "./control-plane.js";
import { TestkitError } from "./errors.js";
import { apiRequest } from "./kube.js";
import { freePorts } from "./ports.js";
import { findTool, SETUP_COMMAND } from "./tools.js";

const execFileAsync = promisify(execFile);

/**
 * A kwok port forward: `kubectl port-forward` (the API server's `pods/portforward`) to a
 * matching pod reaches `address:port` on this machine instead of a container.
 */
export interface PortForwardTarget {
  /** Pods in these namespaces (default: every namespace). */
  readonly namespaces?: readonly string[];
  /** Pods with these names (default: every pod). */
  readonly pods?: readonly string[];
  /** Pod ports this applies to (default: every port). */
  readonly ports?: readonly number[];
  readonly address: string;
  readonly port: number;
}

/** The annotation kwok is told to manage nodes by. */
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";

export interface ClusterOptions {
  /** Fake nodes to create: a count (`hangar-node-0`, ...) or names. Default 3. */
  readonly nodes?: number | readonly string[];
  /**
   * Run kwok (default true). Without it the nodes are created Ready once, pods get bound by
   * the scheduler but stay Pending, and the node lifecycle controller is told to wait an hour
   * before it marks them NotReady.
   */
  readonly kwok?: boolean;
  /**
   * Port forwards kwok serves as the nodes' kubelet (needs kwok). The nodes then have
   * 127.0.0.1 as InternalIP and kwok's TLS server as their kubelet endpoint, so start the
   * control plane with `apiserverArgs: ["--kubelet-preferred-address-types=InternalIP"]`.
   */
  readonly portForwards?: readonly PortForwardTarget[];
  /** How long the processes may take to do their first job (default 60 000 ms). */
  readonly readyTimeoutMs?: number;
  /**
   * Extra kube-controller-manager flags, appended last (so they override the defaults), e.g.
   * `--allocate-node-cidrs=true` for a real node.
   */
  readonly controllerManagerArgs?: readonly string[];
  /** Environment used to locate the tools. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface Cluster {
  /** Names of the fake nodes. */
  readonly nodes: readonly string[];
  /** Whether kwok runs (pods on the nodes become Running and Ready). */
  readonly kwok: boolean;
  readonly logFiles: Readonly<Record<string, string>>;
  readonly pids: Readonly<Record<string, number>>;
  /** Milliseconds until the nodes were Ready and the `default` ServiceAccount existed. */
  readonly readyMs: number;
  /** Stops kwok, the scheduler and the controller manager (not the control plane). */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export type ClusterAvailability =
  | {
      readonly ok: true;
      readonly kubeControllerManager: string;
      readonly kubeScheduler: string;
      /** kwok and its stages file, when built. */
      readonly kwok?: { readonly bin: string; readonly stages: string };
      /** Why kwok is not there, when it is not. */
      readonly kwokMissing?: string;
    }
  | { readonly ok: false; readonly reason: string };

/** Whether `startCluster()` can run (with or without kwok); `reason` says what is missing. */
export function clusterAvailable(env: NodeJS.ProcessEnv = process.env): ClusterAvailability {
  const reasons: string[] = [];
  const cp = controlPlaneAvailable({ env });
  if (!cp.ok) reasons.push(cp.reason);
  const kcm = findTool("kube-controller-manager", env);
  if (!kcm.ok) reasons.push(kcm.reason);
  const sched = findTool("kube-scheduler", env);
  if (!sched.ok) reasons.push(sched.reason);
  if (reasons.length > 0) return { ok: false, reason: reasons.join("; ") };
  const kwok = findTool("kwok", env);
  const stages = join(kwok.path, "..", "stages.yaml");
  if (!kwok.ok)
    return { ok: true, kubeControllerManager: kcm.path, kubeScheduler: sched.path, kwokMissing: kwok.reason };
  if (!isFile(stages))
    return {
      ok: true,
      kubeControllerManager: kcm.path,
      kubeScheduler: sched.path,
      kwokMissing: `kwok's stages file ${stages} is missing; run \`${SETUP_COMMAND} --force kwok\``,
    };
  return {
    ok: true,
    kubeControllerManager: kcm.path,
    kubeScheduler: sched.path,
    kwok: { bin: kwok.path, stages },
  };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * For `describe(name, { skip: skipUnlessCluster({ kwok: true }) }, ...)`: false when the
 * cluster can run here (with kwok when asked), otherwise the reason. With
 * `HANGAR_REQUIRE_K8S=1` (CI) it never skips.
 */
export function skipUnlessCluster(
  opts: { kwok?: boolean } = {},
  env: NodeJS.ProcessEnv = process.env,
): false | string {
  if (env["HANGAR_REQUIRE_K8S"] === "1") return false;
  const a = clusterAvailable(env);
  if (!a.ok)
    return `Kubernetes cluster (control plane + controller manager + scheduler) unavailable: ${a.reason}`;
  if (opts.kwok === true && a.kwok === undefined) return `kwok unavailable: ${a.kwokMissing ?? "not built"}`;
  return false;
}

/**
 * Starts kube-controller-manager, kube-scheduler and (by default) kwok against `cp`, creates
 * the fake nodes, and resolves once they are Ready and the controller manager has made the
 * `default` ServiceAccount. Start `cp` with `disableAdmissionPlugins: []` so pods get their
 * service-account tokens as in a real cluster. Stop the cluster before the control plane.
 */
export async function startCluster(cp: ControlPlane, opts: ClusterOptions = {}): Promise<Cluster> {
  const t0 = performance.now();
  const env = opts.env ?? process.env;
  const avail = clusterAvailable(env);
  if (!avail.ok)
    throw new TestkitError("HANGAR_ERR_TESTKIT_TOOL_MISSING", `cannot start a cluster: ${avail.reason}`, {
      details: { setup: SETUP_COMMAND },
    });
  const useKwok = opts.kwok ?? true;
  if (useKwok && avail.kwok === undefined)
    throw new TestkitError(
      "HANGAR_ERR_TESTKIT_TOOL_MISSING",
      `cannot start kwok: ${avail.kwokMissing ?? "not built"}`,
      {
        details: { setup: `${SETUP_COMMAND} kwok` },
      },
    );
  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const nodes =
    typeof opts.nodes === "object"
      ? [...opts.nodes]
      : Array.from({ length: opts.nodes ?? 3 }, (_, i) => `hangar-node-${i}`);

  const dir = join(cp.dir, "cluster");
  await mkdir(dir, { recursive: true });
  const processes: Managed[] = [];
  const reaper = startReaper(dir);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const p of [...processes].reverse()) await terminate(p, "SIGTERM", 3_000);
      reaper.dismiss();
    })();
    return stopping;
  };
  const start = (name: string, bin: string, args: string[]): Managed => {
    const p = launch(name, bin, args, dir);
    processes.push(p);
    reaper.watch(p.child.pid);
    return p;
  };

  try {
    start("kube-controller-manager", avail.kubeControllerManager, [
      `--kubeconfig=${cp.kubeconfigPath}`,
      `--service-account-private-key-file=${cp.serviceAccount.signingKeyFile}`,
      `--root-ca-file=${cp.caFile}`,
      "--use-service-account-credentials=false",
      "--leader-elect=false",
      "--secure-port=0",
      "--controllers=*",
      // Without kwok nobody heartbeats for the nodes: do not taint them NotReady mid-test.
      ...(useKwok ? [] : ["--node-monitor-grace-period=1h"]),
      ...(opts.controllerManagerArgs ?? []),
    ]);
    start("kube-scheduler", avail.kubeScheduler, [
      `--kubeconfig=${cp.kubeconfigPath}`,
      "--leader-elect=false",
      "--secure-port=0",
    ]);
    const kubelet: string[] = [];
    if (useKwok && opts.portForwards !== undefined && opts.portForwards.length > 0) {
      const [port] = await freePorts(1);
      const cert = join(dir, "kwok-kubelet.crt");
      const key = join(dir, "kwok-kubelet.key");
      try {
        await execFileAsync("openssl", [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          key,
          "-out",
          cert,
          "-days",
          "1",
          "-subj",
          "/CN=kwok-kubelet",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
        ]);
      } catch (cause) {
        throw new TestkitError(
          "HANGAR_ERR_TESTKIT_SETUP_FAILED",
          `openssl could not make kwok's kubelet certificate`,
          {
            cause,
          },
        );
      }
      const forwards = join(dir, "kwok-port-forwards.yaml");
      await writeFile(
        forwards,
        opts.portForwards.map((f, i) => clusterPortForward(`testkit-${i}`, f)).join("---\n"),
      );
      kubelet.push(
        `--config=${forwards}`,
        `--server-address=127.0.0.1:${port}`,
        `--tls-cert-file=${cert}`,
        `--tls-private-key-file=${key}`,
        "--node-ip=127.0.0.1",
        `--node-port=${port}`,
      );
    }
    if (useKwok && avail.kwok !== undefined)
      start("kwok", avail.kwok.bin, [
        `--kubeconfig=${cp.kubeconfigPath}`,
        `--config=${avail.kwok.stages}`,
        "--manage-all-nodes=false",
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
        "--manage-nodes-with-label-selector=",
        "--cidr=10.244.0.1/16",
        ...(kubelet.length > 0 ? kubelet : ["--node-ip=10.0.0.1"]),
      ]);

    for (const name of nodes) {
      const r = await apiRequest(cp, "POST", "/api/v1/nodes", { body: fakeNode(name, !useKwok) });
      if (r.status !== 201)
        throw new TestkitError(
          "HANGAR_ERR_TESTKIT_SETUP_FAILED",
          `creating node ${name}: HTTP ${r.status}: ${JSON.stringify(r.body)}`,
        );
      if (!useKwok) {
        const s = await apiRequest(cp, "PATCH", `/api/v1/nodes/${name}/status`, {
          body: { status: { conditions: [readyCondition()] } },
          contentType: "application/merge-patch+json",
        });
        if (s.status !== 200)
          throw new TestkitError(
            "HANGAR_ERR_TESTKIT_SETUP_FAILED",
            `marking node ${name} Ready: HTTP ${s.status}: ${JSON.stringify(s.body)}`,
          );
      }
    }

    const deadline = performance.now() + timeoutMs;
    let last = "";
    for (;;) {
      const dead = processes.find((p) => p.done);
      if (dead !== undefined)
        throw new TestkitError(
          "HANGAR_ERR_TESTKIT_PROCESS_EXITED",
          `${dead.name} ${await dead.exited} before the cluster was ready. Last lines of ${dead.logFile}:\n${await logTail(dead.logFile)}`,
          { details: { process: dead.name, log: dead.logFile } },
        );
      const list = await apiRequest(cp, "GET", "/api/v1/nodes");
      const items = (list.body as { items?: NodeLike[] } | undefined)?.items ?? [];
      const notReady = nodes.filter((n) => !isReady(items.find((i) => i.metadata?.name === n)));
      const sa = await apiRequest(cp, "GET", "/api/v1/namespaces/default/serviceaccounts/default");
      if (notReady.length === 0 && sa.status === 200) break;
      last = [
        notReady.length > 0 ? `nodes not Ready: ${notReady.join(", ")}` : "",
        sa.status !== 200 ? `ServiceAccount default/default: HTTP ${sa.status}` : "",
      ]
        .filter((x) => x !== "")
        .join("; ");
      if (performance.now() >= deadline) {
        const tails = await Promise.all(
          processes.map(async (p) => `${p.name}:\n${await logTail(p.logFile, 15)}`),
        );
        throw new TestkitError(
          "HANGAR_ERR_TESTKIT_READY_TIMEOUT",
          `the cluster was not ready within ${(timeoutMs / 1000).toFixed(1)}s (${last}).\n${tails.join("\n")}`,
          { details: { lastProbe: last } },
        );
      }
      await sleep(200);
    }
    return {
      nodes,
      kwok: useKwok,
      logFiles: Object.fromEntries(processes.map((p) => [p.name, p.logFile])),
      pids: Object.fromEntries(processes.map((p) => [p.name, p.child.pid ?? -1])),
      readyMs: performance.now() - t0,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A kwok ClusterPortForward (a kwok configuration document, not an API object). */
function clusterPortForward(name: string, f: PortForwardTarget): string {
  const list = (xs: readonly (string | number)[] | undefined, indent: string): string =>
    xs === undefined ? "" : xs.map((x) => `\n${indent}- ${JSON.stringify(x)}`).join("");
  const selector =
    f.namespaces === undefined && f.pods === undefined
      ? ""
      : `  selector:${f.namespaces === undefined ? "" : `\n    matchNamespaces:${list(f.namespaces, "    ")}`}${
          f.pods === undefined ? "" : `\n    matchNames:${list(f.pods, "    ")}`
        }\n`;
  return [
    "apiVersion: kwok.x-k8s.io/v1alpha1",
    "kind: ClusterPortForward",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    selector.trimEnd(),
    "  forwards:",
    `  - target:`,
    `      address: ${JSON.stringify(f.address)}`,
    `      port: ${f.port}`,
    ...(f.ports === undefined ? [] : [`    ports:${list(f.ports, "    ")}`]),
    "",
  ]
    .filter((l) => l !== "")
    .join("\n")
    .concat("\n");
}

interface NodeLike {
  metadata?: { name?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

function isReady(n: NodeLike | undefined): boolean {
  return n?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
}

function readyCondition(): Record<string, string> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return {
    type: "Ready",
    status: "True",
    reason: "KubeletReady",
    message: "testkit node without kwok",
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  };
}

/** A Node object for kwok to manage (or, without kwok, to sit there Ready). */
export function fakeNode(name: string, withoutKwok = false): Record<string, unknown> {
  const resources = { cpu: "16", memory: "64Gi", pods: "110" };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: withoutKwok ? {} : { [KWOK_NODE_ANNOTATION]: "fake" },
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        type: "kwok",
      },
    },
    status: { capacity: resources, allocatable: resources },
  };
}
