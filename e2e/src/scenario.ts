/**
 * The end-to-end scenario, one list of steps and assertions for every cluster it runs on: the
 * real test node of this repository (e2e/test/node-e2e.test.ts) and kind with Cilium and
 * Tetragon (kind-e2e/run.sh, through `hangar-e2e`). What differs between them is a `Target`:
 * how to reach the cluster, the chart values of that cluster, and what it can observe from
 * outside (listeners at the addresses the sample server connects to, a SIEM, the node itself).
 *
 *  1. the sample MCP server (kind-e2e/manifests/sample-server.yaml), labelled
 *     mcp-hangar.io/provider=sample, in mcp-demo
 *  2. `helm install hangar-agent ./helm/hangar-agent --wait`: the agent DaemonSet pod and the
 *     controller pods Ready; enforcement in `enforce` mode for mcp-demo only
 *  2b. the chart's own NetworkPolicies: from a pod in another namespace the controller's hub,
 *     REST API and proxy ports are blocked while its metrics port (allowed by the values)
 *     connects; from the agent's pod the hub connects, the REST API and the sample server do not
 *  3. normal calls through the controller's MCP proxy Service by the official SDK client
 *     (kind-e2e/attack.mjs as a Job) until the provider's baseline is enforcing
 *  4. poisoned calls: the server's shell reads its service-account token and connects out
 *  5. the sensor's real exec, file read and connect of that pod's container (pod, container,
 *     provider), the alert naming caller → session → call → process → destination, and (when
 *     the target has a SIEM) the alert as CEF that mmnormalize parses
 *  6. the NetworkPolicy applied; the same connection from the pod fails, DNS and the baseline
 *     destination still work (when the target has listeners); `hangar-ctl enforcement revert`
 *     removes it and the connection works again
 *  7. `helm upgrade` keeps the generated tokens and certificates
 *  8. `helm uninstall` removes every object of the release; the node keeps no probe process, eBPF
 *     program or cgroup filter (when the target can look at the node)
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { REPO, waitFor } from "./kube.js";

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExternalConnection {
  readonly time: number;
  readonly local: string;
  readonly remote: string;
}

/** A CEF message as the SIEM received and parsed it. */
export interface SiemMessage {
  /** When the SIEM received it (RFC 3339). */
  readonly received: string;
  readonly msg: string;
  readonly cef?: {
    readonly SignatureID: string;
    readonly DeviceProduct: string;
    readonly Extensions: Readonly<Record<string, string>>;
  };
  readonly unparsed?: string;
}

export interface Target {
  /** "node" or "kind". */
  readonly name: string;
  kubectl(args: readonly string[], opts?: { input?: string }): Promise<CommandResult>;
  helm(args: readonly string[]): Promise<CommandResult>;
  /** Values files and `--set`s of this cluster, after e2e/values/scenario.yaml. */
  readonly values: readonly string[];
  readonly set: readonly string[];
  /** The controller image: the sample server and the MCP client run in it. */
  readonly controllerImage: string;
  /** The sensor whose events must show the pod's processes: "SENSOR_PROBE" or "SENSOR_TETRAGON". */
  readonly sensor: "SENSOR_PROBE" | "SENSOR_TETRAGON";
  /** Listeners at the sample server's destinations (203.0.113.66:443, 198.51.100.7:443). */
  readonly external?: { connections(): Promise<ExternalConnection[]> };
  /** The SIEM the chart's values send to (controller.siem.destinations). */
  readonly siem?: { received(): Promise<SiemMessage[]> };
  /** Looks at the node after uninstall: what the probe left (processes, eBPF programs, maps). */
  readonly node?: {
    probeLeftovers(): Promise<string[]>;
    /** CPU seconds and memory of a pod's cgroup, by pod uid. */
    podUsage(uid: string): Promise<{ cpuSeconds: number; memoryBytes: number; maxMemoryBytes: number }>;
  };
  /** The provider's learning window (the pod annotation); the normal calls last a little longer. */
  readonly learnSeconds: number;
  /** Poisoned calls in the attack (each one an exec → alert latency sample). Default 3. */
  readonly attacks?: number;
  /** Per wait (default 180 s). */
  readonly timeoutMs?: number;
  readonly log: (line: string) => void;
}

export interface ScenarioResult {
  /** Step name → milliseconds. */
  readonly steps: Record<string, number>;
  /** Per poisoned call: ms from the real exec (kernel time of the sensor event) to the CEF at the SIEM. */
  readonly execToSiemMs: number[];
  /** The same calls: ms from the exec to the alert's own time (when the agent raised it). */
  readonly execToAlertMs: number[];
  /** The agent pod during learn + attack, when the target can look at the node. */
  readonly agentUsage?: {
    cpuCores: number;
    cpuSeconds: number;
    seconds: number;
    memoryBytes: number;
    maxMemoryBytes: number;
  };
  /** The rules that fired for the provider. */
  readonly rules: string[];
}

export const RELEASE = "hangar-agent";
export const NS = "hangar-system";
export const DEMO_NS = "mcp-demo";
export const PROVIDER = "sample";
export const EXFIL = { ip: "203.0.113.66", port: 443 } as const;
export const BASELINE_DEST = { ip: "198.51.100.7", port: 443 } as const;
export const SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";
const CHART = join(REPO, "helm", "hangar-agent");
const API = `http://hangar-controller.${NS}.svc:8080`;
const PROXY = `http://hangar-controller-mcp.${NS}.svc:8090/mcp/${PROVIDER}`;

interface Evidence {
  kind?: string;
  sensor?: string;
  time?: string;
  provider?: string;
  pod?: { namespace?: string; name?: string; uid?: string; container?: { id?: string; name?: string } };
  process?: { binary?: string; pid?: number; execId?: string; arguments?: string };
  connect?: { destinationIp?: string; destinationPort?: number };
  file?: { path?: string; operation?: string };
}

interface AlertJson {
  id: string;
  ruleId: string;
  provider?: string;
  message?: string;
  explanation?: string;
  evidence?: Evidence[];
  toolCalls?: { tool?: string; sessionId?: string; caller?: { subject?: string; clientName?: string } }[];
  time?: string;
}

interface EnforcementJson {
  id: string;
  state: string;
  provider?: string;
  namespace?: string;
  kind?: string;
  name?: string;
}

interface PodJson {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  status: {
    podIP?: string;
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; containerID?: string; ready?: boolean }[];
  };
}

/**
 * The chart's NetworkPolicies on real packets (e2e/values/scenario.yaml narrows the proxy's
 * callers to mcp-demo and lets hangar-np-check scrape metrics): from a pod in hangar-np-check
 * the leader's metrics port connects while its hub, REST API and MCP proxy ports do not; from
 * the agent's pod the hub connects while the controller's REST API and the sample server do
 * not. Each refusal is checked against an allowed connection to the same pod, so a broken
 * network cannot pass for a policy.
 */
async function checkOwnPolicies(
  t: Target,
  h: {
    k: (args: readonly string[], input?: string) => Promise<string>;
    json: <T>(args: readonly string[]) => Promise<T>;
    timeout: number;
  },
): Promise<void> {
  const CHECK_NS = "hangar-np-check";
  const connectFrom = async (ns: string, pod: string, container: string, ip: string, port: number) => {
    const r = await t.kubectl([
      "-n",
      ns,
      "exec",
      pod,
      "-c",
      container,
      "--",
      "node",
      "-e",
      `const s=require("net").connect(${port},${JSON.stringify(ip)});s.setTimeout(2500,()=>{console.log("timeout");process.exit(3)});s.on("connect",()=>{console.log("connected");s.destroy();process.exit(0)});s.on("error",(e)=>{console.log(e.code);process.exit(4)})`,
    ]);
    return r.code === 0 && r.stdout.includes("connected") ? "connected" : r.stdout.trim() || `exit ${r.code}`;
  };
  const podsOf = async (ns: string, selector: string) =>
    (await h.json<{ items: PodJson[] }>(["-n", ns, "get", "pods", "-l", selector])).items;
  const leader = (
    await podsOf(NS, "app.kubernetes.io/component=controller,mcp-hangar.io/controller-role=leader")
  )[0];
  const agent = (await podsOf(NS, "app.kubernetes.io/component=agent"))[0];
  const sample = (await podsOf(DEMO_NS, "app.kubernetes.io/name=sample-mcp"))[0];
  assert.ok(leader?.status.podIP !== undefined && agent !== undefined && sample?.status.podIP !== undefined);
  const ctlIp = leader.status.podIP;

  await h.k(["create", "namespace", CHECK_NS]);
  try {
    await h.k(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "np-check", namespace: CHECK_NS },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [
            {
              name: "check",
              image: t.controllerImage,
              imagePullPolicy: "IfNotPresent",
              command: ["node", "-e", "setInterval(() => {}, 1 << 30)"],
            },
          ],
        },
      }),
    );
    await h.k([
      "-n",
      CHECK_NS,
      "wait",
      "pod/np-check",
      "--for=condition=Ready",
      `--timeout=${h.timeout / 1000}s`,
    ]);
    const from = (ip: string, port: number) => connectFrom(CHECK_NS, "np-check", "check", ip, port);
    const fromAgent = (ip: string, port: number) => connectFrom(NS, agent.metadata.name, "agent", ip, port);
    const results: Record<string, string> = {
      "np-check → controller metrics 9090 (allowed)": await from(ctlIp, 9090),
      "np-check → controller hub 8443": await from(ctlIp, 8443),
      "np-check → controller API 8080": await from(ctlIp, 8080),
      "np-check → controller MCP proxy 8090": await from(ctlIp, 8090),
      "agent → controller hub 8443 (allowed)": await fromAgent(ctlIp, 8443),
      "agent → controller API 8080": await fromAgent(ctlIp, 8080),
      "agent → sample server 8000": await fromAgent(sample.status.podIP, 8000),
    };
    for (const [what, r] of Object.entries(results)) t.log(`   ${what}: ${r}`);
    for (const [what, r] of Object.entries(results))
      if (what.endsWith("(allowed)")) assert.equal(r, "connected", `${what}: ${r}`);
      // Dropped (timeout: Cilium) or rejected (ECONNREFUSED: kube-router's REJECT); every
      // refused port has a listener, so a refusal can only come from the policy.
      else
        assert.ok(
          ["timeout", "ECONNREFUSED", "EHOSTUNREACH"].includes(r),
          `${what} must be blocked by the chart's NetworkPolicy, got ${r}`,
        );
  } finally {
    await t.kubectl(["delete", "namespace", CHECK_NS, "--wait=false"]);
  }
}

export async function runScenario(t: Target): Promise<ScenarioResult> {
  try {
    return await scenario(t);
  } catch (err) {
    await diagnostics(t).catch((e: unknown) => t.log(`(diagnostics failed: ${String(e)})`));
    throw err;
  }
}

/** What to look at when a step failed: pods, events, the logs of the scenario's namespaces. */
async function diagnostics(t: Target): Promise<void> {
  t.log("── diagnostics");
  const show = async (args: string[]): Promise<void> => {
    const r = await t.kubectl(args);
    t.log(`$ kubectl ${args.join(" ")}\n${r.stdout}${r.stderr}`);
  };
  await show(["get", "nodes,pods,svc,networkpolicies", "-A", "-o", "wide"]);
  await show(["get", "events", "-A", "--sort-by=.lastTimestamp"]);
  for (const ns of [NS, DEMO_NS]) {
    await show(["-n", ns, "describe", "pods"]);
    const pods = (await t.kubectl(["-n", ns, "get", "pods", "-o", "name"])).stdout
      .split("\n")
      .filter((x) => x !== "");
    for (const p of pods) {
      const r = await t.kubectl(["-n", ns, "logs", p, "--all-containers", "--tail=80"]);
      t.log(`$ kubectl -n ${ns} logs ${p}\n${r.stdout}${r.stderr}`);
    }
  }
}

async function scenario(t: Target): Promise<ScenarioResult> {
  const timeout = t.timeoutMs ?? 180_000;
  const attacks = t.attacks ?? 3;
  const steps: Record<string, number> = {};
  const started = Date.now();
  let stepStart = started;
  const step = (name: string): void => {
    const now = Date.now();
    t.log(`── [${Math.round((now - started) / 1000)}s] ${name}`);
    stepStart = now;
  };
  const done = (name: string): void => {
    steps[name] = Date.now() - stepStart;
  };
  const k = async (args: readonly string[], input?: string): Promise<string> => {
    const r = await t.kubectl(args, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const h = async (args: readonly string[]): Promise<string> => {
    const r = await t.helm(args);
    if (r.code !== 0) throw new Error(`helm ${args.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const json = async <T>(args: readonly string[]): Promise<T> =>
    JSON.parse(await k([...args, "-o", "json"])) as T;
  let token = "";
  /** hangar-ctl in a controller pod, against the leader through the API Service. */
  const ctl = async <T>(...args: string[]): Promise<T> => {
    const out = await k([
      "-n",
      NS,
      "exec",
      "deploy/hangar-controller",
      "-c",
      "controller",
      "--",
      "hangar-ctl",
      ...args,
      "-o",
      "json",
      "--server",
      API,
      "--token",
      token,
    ]);
    return JSON.parse(out) as T;
  };
  /** A Node one-liner in the sample server's container (its own binary, so no shell alert). */
  const inSample = async (script: string): Promise<CommandResult> =>
    t.kubectl(["-n", DEMO_NS, "exec", "deploy/sample-mcp", "-c", "server", "--", "node", "-e", script]);
  const tryConnect = async (ip: string, port: number): Promise<boolean> => {
    const r = await inSample(
      `const s=require("net").connect(${port},${JSON.stringify(ip)});s.setTimeout(2500,()=>{console.log("timeout");process.exit(3)});s.on("connect",()=>{console.log("connected");s.destroy();process.exit(0)});s.on("error",(e)=>{console.log(e.code);process.exit(4)})`,
    );
    return r.code === 0 && r.stdout.includes("connected");
  };

  // ── 1. the sample MCP server ─────────────────────────────────────────────────────────────
  step(`sample MCP server (provider ${PROVIDER} in ${DEMO_NS}, learning window ${t.learnSeconds}s)`);
  const sample = readFileSync(join(REPO, "kind-e2e", "manifests", "sample-server.yaml"), "utf8")
    .replaceAll("ghcr.io/mcp-hangar/hangar-controller:e2e", t.controllerImage)
    .replace(/mcp-hangar\.io\/learning-window: \S+/, `mcp-hangar.io/learning-window: ${t.learnSeconds}s`);
  await k(["apply", "-f", "-"], sample);
  await k(["-n", DEMO_NS, "rollout", "status", "deploy/sample-mcp", `--timeout=${timeout / 1000}s`]);
  done("sample");

  // ── 2. helm install ─────────────────────────────────────────────────────────────────────
  step("helm install hangar-agent ./helm/hangar-agent --wait");
  const valueArgs = [
    "-f",
    join(REPO, "e2e", "values", "scenario.yaml"),
    ...t.values.flatMap((v) => ["-f", v]),
    ...t.set.flatMap((s) => ["--set", s]),
  ];
  await h([
    "install",
    RELEASE,
    CHART,
    "-n",
    NS,
    "--create-namespace",
    ...valueArgs,
    "--wait",
    "--timeout",
    "5m",
  ]);
  const ready = (p: PodJson): boolean =>
    p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
  const nodes = (await json<{ items: unknown[] }>(["get", "nodes"])).items;
  const podsOf = async (component: string): Promise<PodJson[]> =>
    (
      await json<{ items: PodJson[] }>([
        "-n",
        NS,
        "get",
        "pods",
        "-l",
        `app.kubernetes.io/component=${component}`,
      ])
    ).items;
  // helm --wait saw them ready; they must stay so (a probe that fails after start shows here).
  const agents = await waitFor("one Ready agent pod per node", timeout, async () => {
    const a = await podsOf("agent");
    return a.length === nodes.length && a.every(ready) ? a : undefined;
  });
  const controllers = await waitFor("the controller pods Ready", timeout, async () => {
    const c = await podsOf("controller");
    return c.length >= 1 && c.every(ready) ? c : undefined;
  });
  t.log(`   Ready: ${[...agents, ...controllers].map((p) => p.metadata.name).join(", ")}`);
  // The Services select the replica holding the Lease, which labels its own pod: until then
  // they have no endpoints (helm --wait does not look at that).
  await waitFor("the controller's Services routing to the leader", timeout, async () => {
    const slices = await json<{
      items: {
        metadata: { labels?: Record<string, string> };
        endpoints?: { conditions?: { ready?: boolean } }[];
      }[];
    }>(["-n", NS, "get", "endpointslices"]);
    const readyFor = (svc: string): boolean =>
      slices.items.some(
        (x) =>
          x.metadata.labels?.["kubernetes.io/service-name"] === svc &&
          (x.endpoints ?? []).some((e) => e.conditions?.ready !== false),
      );
    return readyFor("hangar-controller") && readyFor("hangar-controller-mcp") ? true : undefined;
  });
  const secrets = async (): Promise<Record<string, Record<string, string>>> => {
    const list = await json<{ items: { metadata: { name: string }; data?: Record<string, string> }[] }>([
      "-n",
      NS,
      "get",
      "secrets",
      "-l",
      `app.kubernetes.io/instance=${RELEASE}`,
    ]);
    return Object.fromEntries(list.items.map((s) => [s.metadata.name, s.data ?? {}]));
  };
  const secretsBefore = await secrets();
  assert.ok(
    Object.keys(secretsBefore).length >= 2,
    `the release's Secrets: ${Object.keys(secretsBefore).join(", ")}`,
  );
  const tokenSecret = Object.values(secretsBefore).find((d) => d["admin.admin"] !== undefined);
  assert.ok(tokenSecret !== undefined, "a Secret with the admin.admin API token");
  token = Buffer.from(tokenSecret["admin.admin"]!, "base64").toString("utf8");
  done("install");

  // ── 2b. the chart's own NetworkPolicies (on by default) ──────────────────────────────────
  step(`the chart's NetworkPolicies: what they forbid is blocked, what they allow connects`);
  await checkOwnPolicies(t, { k, json, timeout });
  done("ownPolicies");

  // ── 3. normal calls while the baseline learns ──────────────────────────────────────────
  const samplePod = (
    await json<{ items: PodJson[] }>([
      "-n",
      DEMO_NS,
      "get",
      "pods",
      "-l",
      "app.kubernetes.io/name=sample-mcp",
    ])
  ).items.find(ready);
  assert.ok(samplePod !== undefined, "the sample server's pod is Ready");
  const containerId = (
    samplePod.status.containerStatuses?.find((c) => c.name === "server")?.containerID ?? ""
  ).replace(/^[a-z]+:\/\//, "");
  const agentUid = agents[0]!.metadata.uid;
  const usageStart =
    t.node === undefined ? undefined : { at: Date.now(), ...(await t.node.podUsage(agentUid)) };
  await k(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "mcp-attack", namespace: DEMO_NS },
      data: { "attack.mjs": readFileSync(join(REPO, "kind-e2e", "attack.mjs"), "utf8") },
    }),
  );
  const runClient = async (name: string, env: Record<string, string>): Promise<string[]> => {
    const job = parse(readFileSync(join(REPO, "kind-e2e", "manifests", "attack-job.yaml"), "utf8")) as {
      metadata: { name: string };
      spec: {
        template: {
          spec: {
            containers: {
              image: string;
              command: string[];
              env: { name: string; value: string }[];
              volumeMounts: { name: string; mountPath: string; subPath?: string }[];
            }[];
          };
        };
      };
    };
    job.metadata.name = name;
    const c = job.spec.template.spec.containers[0]!;
    c.image = t.controllerImage;
    c.env = Object.entries({ MCP_URL: PROXY, ...env }).map(([n, value]) => ({ name: n, value }));
    await k(["-n", DEMO_NS, "delete", "job", name, "--ignore-not-found", "--wait"]);
    await k(["apply", "-f", "-"], JSON.stringify(job));
    const budget = Number(env["LEARN_SECONDS"] ?? "0") * 1000 + timeout;
    const outcome = await waitFor(
      `job ${name} finished`,
      budget,
      async () => {
        const j = await json<{ status: { succeeded?: number; failed?: number } }>([
          "-n",
          DEMO_NS,
          "get",
          "job",
          name,
        ]);
        return (j.status.failed ?? 0) > 0
          ? "failed"
          : (j.status.succeeded ?? 0) > 0
            ? "succeeded"
            : undefined;
      },
      1000,
    );
    if (outcome === "failed")
      throw new Error(
        `job ${name} failed:\n${(await t.kubectl(["-n", DEMO_NS, "logs", `job/${name}`])).stdout}`,
      );
    const lines = (await k(["-n", DEMO_NS, "logs", `job/${name}`])).trim().split("\n");
    for (const l of lines.slice(-2)) t.log(`   ${l.slice(0, 200)}`);
    return lines;
  };
  step(`normal calls through the MCP proxy (${PROXY}) by the SDK client for ${t.learnSeconds + 5}s`);
  await runClient("mcp-learn", { LEARN_SECONDS: String(t.learnSeconds + 5), ATTACK: "0" });
  await waitFor(
    `provider ${PROVIDER}'s baseline enforcing`,
    timeout,
    async () => {
      const list = await ctl<{ provider?: string; name?: string; state?: string }[]>("providers");
      const p = list.find((x) => (x.provider ?? x.name) === PROVIDER);
      t.log(`   baseline: ${p?.state ?? "not yet"}`);
      return p?.state === "enforcing" ? true : undefined;
    },
    3000,
  );
  done("learn");

  // ── 4. the poisoned calls ───────────────────────────────────────────────────────────────
  step(`${attacks} poisoned run_report calls`);
  const connectionsBefore = (await t.external?.connections())?.length ?? 0;
  const attackLog = await runClient("mcp-attack", {
    LEARN_SECONDS: "0",
    ATTACK: "1",
    ATTACKS: String(attacks),
    ATTACK_INTERVAL_MS: "4000",
    SETTLE_MS: "3000",
  });
  const injectedCalls = attackLog
    .map((l) => JSON.parse(l) as { step: string; tool?: string; text?: string; start?: number })
    .filter((x) => x.step === "call" && x.tool === "run_report" && x.text?.includes("extra output") === true);
  assert.equal(injectedCalls.length, attacks, "every poisoned call took the server's vulnerable path");
  const usageEnd =
    t.node === undefined ? undefined : { at: Date.now(), ...(await t.node.podUsage(agentUid)) };
  done("attack");

  // ── 5. the sensor's events, the alert, the SIEM ─────────────────────────────────────────
  step("alerts: the real exec, file read and connect of the sample pod's container, tied to the call");
  // hangar.exec.shell_from_server is not required: with the probe the server's own exec predates
  // the agent, so the shell's parent binary is unknown to the rule (and its first exec is folded
  // into baseline/new-binary); the reverse shell holds the exec and the connect of that shell.
  const want = ["hangar.cred.service_account_token_read", "hangar.exec.reverse_shell"];
  const alerts = await waitFor(
    "the alerts of the attack",
    timeout,
    async () => {
      const list = await ctl<AlertJson[]>("alerts", "--provider", PROVIDER);
      const rules = new Set(list.map((a) => a.ruleId));
      t.log(`   alerts so far: ${[...rules].sort().join(" ") || "none"}`);
      return want.every((r) => rules.has(r)) ? list : undefined;
    },
    3000,
  );
  const evidence = alerts.flatMap((a) => (a.evidence ?? []).map((e) => ({ alert: a, e })));
  const ofPod = (e: Evidence): boolean =>
    e.sensor === t.sensor &&
    e.provider === PROVIDER &&
    e.pod?.namespace === DEMO_NS &&
    e.pod.name === samplePod.metadata.name &&
    e.pod.uid === samplePod.metadata.uid &&
    // The container by its runtime id (the sensor's) and its name (from the pod's status).
    containerId !== "" &&
    (e.pod.container?.id ?? "").endsWith(containerId) &&
    e.pod.container?.name === "server";
  const exec = evidence.find(
    ({ e }) => e.kind === "EVENT_KIND_EXEC" && e.process?.binary === "/bin/bash" && ofPod(e),
  );
  assert.ok(
    exec !== undefined,
    `an exec of /bin/bash in ${samplePod.metadata.name}/server by ${t.sensor}: ${JSON.stringify(evidence.map(({ e }) => e).slice(0, 4))}`,
  );
  const read = evidence.find(
    ({ e }) => e.kind === "EVENT_KIND_FILE" && e.file?.path === SA_TOKEN && ofPod(e),
  );
  assert.ok(read !== undefined, `a read of ${SA_TOKEN} in the pod's container`);
  // The reverse shell's alert: the shell's exec and its connect, tied to the call.
  const conn = evidence.find(
    ({ alert, e }) =>
      alert.ruleId === "hangar.exec.reverse_shell" &&
      e.kind === "EVENT_KIND_CONNECT" &&
      e.connect?.destinationIp === EXFIL.ip &&
      e.connect.destinationPort === EXFIL.port &&
      ofPod(e),
  );
  assert.ok(conn !== undefined, `a connect to ${EXFIL.ip}:${EXFIL.port} from the pod's container`);
  const chain = conn.alert;
  const call = chain.toolCalls?.[0];
  assert.equal(call?.tool, "run_report", "the alert names the tool call");
  assert.ok((call.sessionId ?? "") !== "", "the alert names the MCP session");
  for (const part of ["e2e-travel-planner", call.sessionId ?? "", "run_report", "/bin/bash", EXFIL.ip])
    assert.ok(
      (chain.explanation ?? "").includes(part),
      `the explanation names ${part}: ${chain.explanation ?? ""}`,
    );
  t.log(`   ${chain.ruleId}: ${(chain.explanation ?? "").split("\n")[0]?.slice(0, 300)}`);
  const execToSiemMs: number[] = [];
  const execToAlertMs: number[] = [];
  if (t.siem !== undefined) {
    const siem = t.siem;
    const byId = await waitFor("the alerts as CEF at the SIEM", timeout, async () => {
      const got = await siem.received();
      const ids = new Map(
        got.filter((m) => m.cef !== undefined).map((m) => [m.cef!.Extensions["externalId"], m]),
      );
      return alerts.every((a) => ids.has(a.id)) ? ids : undefined;
    });
    const cef = byId.get(chain.id)!;
    assert.equal(cef.unparsed, undefined, "mmnormalize parsed the CEF");
    assert.equal(cef.cef?.SignatureID, chain.ruleId);
    assert.equal(cef.cef?.Extensions["dst"], EXFIL.ip);
    assert.ok(Object.values(cef.cef?.Extensions ?? {}).includes(PROVIDER), "the CEF names the provider");
    // One reverse-shell alert per poisoned call: the shell's exec (kernel time) → the CEF's arrival.
    for (const a of alerts.filter((x) => x.ruleId === "hangar.exec.reverse_shell")) {
      const ex = (a.evidence ?? []).find(
        (e) => e.kind === "EVENT_KIND_EXEC" && e.process?.binary === "/bin/bash",
      );
      const m = byId.get(a.id);
      if (ex?.time === undefined || m === undefined) continue;
      execToSiemMs.push(Date.parse(m.received) - Date.parse(ex.time));
      if (a.time !== undefined) execToAlertMs.push(Date.parse(a.time) - Date.parse(ex.time));
    }
    t.log(
      `   exec → CEF at the SIEM (ms): ${execToSiemMs.join(", ")}; exec → alert raised (ms): ${execToAlertMs.join(", ")}`,
    );
  } else t.log("   (this target has no SIEM receiver: the CEF check is skipped)");
  if (t.external !== undefined) {
    const got = (await t.external.connections()).slice(connectionsBefore);
    assert.ok(
      got.some(
        (c) => c.local === `${EXFIL.ip}:${EXFIL.port}` && c.remote.startsWith(`${samplePod.status.podIP}:`),
      ),
      `the listener at ${EXFIL.ip}:${EXFIL.port} saw the pod (${samplePod.status.podIP}) connect before enforcement: ${JSON.stringify(got)}`,
    );
  }
  done("alerts");

  // ── 6. enforcement ──────────────────────────────────────────────────────────────────────
  step("enforcement: the NetworkPolicy is applied and stops the connection");
  const applied = await waitFor(
    "an applied enforcement",
    timeout,
    async () => {
      const list = await ctl<EnforcementJson[]>(
        "enforcement",
        "list",
        "--provider",
        PROVIDER,
        "--state",
        "applied",
      );
      return list.length > 0 ? list : undefined;
    },
    2000,
  );
  const policies = async (): Promise<string[]> =>
    (
      await k([
        "-n",
        DEMO_NS,
        "get",
        "networkpolicies",
        "-l",
        "app.kubernetes.io/managed-by=hangar-controller",
        "-o",
        "name",
      ])
    )
      .split("\n")
      .filter((x) => x !== "");
  assert.ok((await policies()).length > 0, "a NetworkPolicy managed by the controller in mcp-demo");
  t.log(`   applied: ${applied.map((e) => e.id).join(", ")} → ${(await policies()).join(", ")}`);
  if (t.external !== undefined) {
    const ext = t.external;
    await waitFor(
      `the connection to ${EXFIL.ip}:${EXFIL.port} refused by the enforcer`,
      timeout,
      async () => ((await tryConnect(EXFIL.ip, EXFIL.port)) ? undefined : true),
      2000,
    );
    const mark = (await ext.connections()).length;
    await runClient("mcp-attack-again", { LEARN_SECONDS: "0", ATTACK: "1", ATTACKS: "1", SETTLE_MS: "3000" });
    const after = (await ext.connections()).slice(mark);
    assert.deepEqual(
      after.filter((c) => c.local === `${EXFIL.ip}:${EXFIL.port}`),
      [],
      "the poisoned call's connection no longer reaches the listener",
    );
    const dns = await inSample(
      `require("dns").promises.lookup("kubernetes.default.svc.cluster.local").then((a)=>console.log(a.address),(e)=>{console.log(e.code);process.exit(5)})`,
    );
    assert.equal(dns.code, 0, `DNS still works under the policy: ${dns.stdout}${dns.stderr}`);
    assert.ok(
      await tryConnect(BASELINE_DEST.ip, BASELINE_DEST.port),
      `the baseline destination ${BASELINE_DEST.ip}:${BASELINE_DEST.port} still works`,
    );
  } else
    t.log("   (this target has no listeners at the sample's destinations: the packet checks are skipped)");
  done("enforce");

  step("hangar-ctl enforcement revert");
  for (const e of applied) await ctl("enforcement", "revert", e.id);
  await waitFor("the NetworkPolicy removed", timeout, async () =>
    (await policies()).length === 0 ? true : undefined,
  );
  if (t.external !== undefined)
    await waitFor(
      `the connection to ${EXFIL.ip}:${EXFIL.port} working again`,
      timeout,
      async () => ((await tryConnect(EXFIL.ip, EXFIL.port)) ? true : undefined),
      2000,
    );
  done("revert");

  // ── 7. upgrade ──────────────────────────────────────────────────────────────────────────
  step("helm upgrade keeps the generated tokens and certificates");
  await h([
    "upgrade",
    RELEASE,
    CHART,
    "-n",
    NS,
    "--reuse-values",
    "--set",
    "agent.logLevel=info",
    "--wait",
    "--timeout",
    "5m",
  ]);
  assert.deepEqual(await secrets(), secretsBefore, "the Secrets' data after helm upgrade");
  done("upgrade");

  // ── 8. uninstall ────────────────────────────────────────────────────────────────────────
  step("helm uninstall removes every object; the node keeps no probe");
  await h(["uninstall", RELEASE, "-n", NS, "--wait", "--timeout", "5m"]);
  const kinds = (await k(["api-resources", "--verbs=list", "-o", "name"]))
    .split("\n")
    .filter((x) => x !== "" && !x.startsWith("events") && !x.startsWith("componentstatuses"));
  const left = await waitFor("the release's objects gone", timeout, async () => {
    const r = await t.kubectl([
      "get",
      kinds.join(","),
      "-A",
      "-l",
      `app.kubernetes.io/instance=${RELEASE}`,
      "-o",
      "name",
    ]);
    const names = r.stdout.split("\n").filter((x) => x !== "");
    return names.length === 0 ? names : undefined;
  });
  assert.deepEqual(left, []);
  if (t.node !== undefined) {
    const node = t.node;
    const leftovers = await waitFor("no probe left on the node", 60_000, async () => {
      const l = await node.probeLeftovers();
      return l.length === 0 ? l : undefined;
    });
    assert.deepEqual(leftovers, []);
  }
  done("uninstall");

  const result: ScenarioResult = {
    steps,
    execToSiemMs,
    execToAlertMs,
    rules: [...new Set(alerts.map((a) => a.ruleId))].sort(),
    ...(usageStart !== undefined && usageEnd !== undefined
      ? {
          agentUsage: {
            seconds: (usageEnd.at - usageStart.at) / 1000,
            cpuSeconds: usageEnd.cpuSeconds - usageStart.cpuSeconds,
            cpuCores: (usageEnd.cpuSeconds - usageStart.cpuSeconds) / ((usageEnd.at - usageStart.at) / 1000),
            memoryBytes: usageEnd.memoryBytes,
            maxMemoryBytes: usageEnd.maxMemoryBytes,
          },
        }
      : {}),
  };
  t.log(`── done in ${Math.round((Date.now() - started) / 1000)}s`);
  return result;
}

/** The median of a list of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
