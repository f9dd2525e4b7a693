/**
 * The local stack's parts, started and stopped together on one machine with no Kubernetes:
 *
 *   MCP client (SDK) → controller: MCP proxy → sample MCP server (pod mcp/weather-0)
 *                      controller: agent hub · enforcer (AUDIT, empty in-memory cluster) · REST API
 *   sensor → agent: rules from rules/ + baselines in <data-dir> → alerts, enforcement
 *          requests → hub → alert store / enforcer → REST API ← hangar-ctl
 *
 * The sensor is one of two (`sensor-mode.ts` decides):
 * - the simulator (no root): the sample server runs in this process and its tools report their
 *   effects to the sensor simulator (Tetragon + Hubble gRPC), which streams them to the agent;
 * - the eBPF probe (real mode, root): the sample server runs as a process of its own in a pod
 *   (`pod.ts`: cgroup, network and mount namespaces) and really does what its tools do; the
 *   agent's probe, its kernel filter following that pod, reports it.
 *
 * The controller is the same assembly `hangar-controller serve` runs (`createController`), on
 * an in-memory cluster; the agent is `startAgent` as `hangar-agent run` does it.
 */
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import {
  AgentError,
  DEFAULT_PROBE_PREFIXES,
  HubClient,
  McpPodTracker,
  defaultRulesDir,
  detectHierarchy,
  loadBaselineStore,
  loadRuleEngine,
  loaderMode,
  startAgent,
  type AgentOptions,
  type RunningAgent,
  type TestPod,
} from "@hangar/agent";
import {
  EXFIL,
  MemoryStore,
  NoBaselineView,
  SA_TOKEN,
  WEATHER_API,
  behavioralBaselineView,
  createController,
  startSampleServer,
  type BaselineViewPort,
  type ControllerLog,
  type EnforcementEventJson,
  type RunningController,
  type RunningSampleServer,
} from "@hangar/controller";
import {
  Counters,
  PROVIDER_LABEL,
  errorMessage,
  type Alert,
  type AlertSink,
  type BaselineStore,
  type Detector,
  type RuntimeEvent,
} from "@hangar/core";
import { pino } from "pino";
import { LocalCluster } from "./cluster.js";
import type { Output } from "./output.js";
import { createRealPod, leftovers, reapStalePods, SERVER_PORT, type RealPod } from "./pod.js";
import type { SensorDecision } from "./sensor-mode.js";
import { startLiveSensor, type LiveSensor, type PodIdentity } from "./sensor.js";

export const PROVIDER = "weather";
export const NODE = "local";
const AGENT_USER = "system:serviceaccount:hangar-system:hangar-agent";

/** The simulator's pod (real mode's has a real uid, container id and address). */
export const POD: PodIdentity = {
  node: NODE,
  namespace: "mcp",
  pod: "weather-0",
  podUid: "7f6c1f0e-4d3b-4c55-9a2e-6c1b7d0a0001",
  podIp: "10.244.0.17",
  labels: { app: PROVIDER, [PROVIDER_LABEL]: PROVIDER },
  container: {
    id: "containerd://5e1f0c9a7d3b2a11",
    name: "server",
    image: "ghcr.io/mcp-hangar/sample-weather:1.0",
  },
};

export interface StackOptions {
  /** The provider's learning window, and how it was written (for the pod label). */
  windowMs: number;
  windowText: string;
  dataDir: string;
  /** Forget the baseline an earlier run learned. */
  reset: boolean;
  /** Given addresses; without them the defaults, or a free port when a default is taken. */
  apiListen: string | undefined;
  proxyListen: string | undefined;
  /** The REST API's admin token. */
  token: string;
  /** Which sensor runs (sensor-mode.ts). */
  sensor: SensorDecision;
}

/** The baseline file of a sensor: what the simulator reports and what the probe sees differ. */
export function baselineFile(mode: SensorDecision["mode"]): string {
  return mode === "probe" ? "baseline.probe.duckdb" : "baseline.duckdb";
}

/** The running stack: the controller, the agent, the sensor and the sample server. */
export class LocalStack {
  readonly #o: StackOptions;
  readonly #output: Output;
  readonly #runtime = mkdtempSync(join(tmpdir(), "hangar-local-"));
  /** "probe": the sample server in a real pod, seen by the eBPF probe; "simulator": reported. */
  readonly mode: SensorDecision["mode"];
  /** The pod the proxy routes to, as the sensor reports it. */
  pod: PodIdentity = POD;
  /** The agent's baseline file, which the controller's baseline view reads too. */
  readonly db: string;
  /** Alerts the agent raised, in order. */
  readonly alerts: Alert[] = [];
  /** Enforcement events the enforcer recorded, in order. */
  readonly events: EnforcementEventJson[] = [];
  /** Whether an earlier run's baseline file was there. */
  reused = false;
  /** Print alerts and enforcement events as they come (after the scenario). */
  printLive = false;
  cluster: LocalCluster | undefined;
  view: BaselineViewPort | undefined;
  controller: RunningController | undefined;
  /** The agent's baseline engine (undefined when the build has none). */
  baseline: BaselineStore | undefined;
  #sensor: LiveSensor | undefined;
  #sample: RunningSampleServer | undefined;
  /** Real mode: the pod (from its creation) and its running server. */
  #testPod: TestPod | undefined;
  #real: RealPod | undefined;
  /** Real mode: the pod's events as the probe reported them (the latest ones). */
  readonly #seen: RuntimeEvent[] = [];
  /** Whether the data dir was made by this run (given back to the sudo user with what is in it). */
  #madeDataDir = false;
  #agent: RunningAgent | undefined;
  #hubClient: HubClient | undefined;
  #stopped = false;

  constructor(o: StackOptions, output: Output) {
    this.#o = o;
    this.#output = output;
    this.mode = o.sensor.mode;
    this.db = join(o.dataDir, baselineFile(this.mode));
  }

  /** `p` relative to the working directory when it is below it. */
  rel(p: string): string {
    const r = relative(process.cwd(), p);
    return r === "" ? "." : r.startsWith("..") ? p.replace(/(.)\/+$/, "$1") : r;
  }

  /** The proxy's endpoint of the sample provider. */
  get endpoint(): string {
    return `${this.controller?.proxy?.url ?? ""}/mcp/${PROVIDER}`;
  }

  async start(): Promise<void> {
    const o = this.#o;
    this.#madeDataDir = !existsSync(o.dataDir);
    mkdirSync(o.dataDir, { recursive: true });
    const file = baselineFile(this.mode);
    if (o.reset)
      for (const f of readdirSync(o.dataDir))
        if (f.startsWith(file)) rmSync(join(o.dataDir, f), { force: true });
    this.reused = existsSync(this.db);
    const agentToken = randomBytes(24).toString("base64url");
    const tokenFile = join(this.#runtime, "agent.token");
    writeFileSync(tokenFile, agentToken, { mode: 0o600 });
    this.cluster = new LocalCluster({
      tokens: [{ token: agentToken, username: AGENT_USER, audiences: ["hangar-controller"], node: NODE }],
    });
    if (this.mode === "probe") await this.#startReal(tokenFile);
    else await this.#startSimulated(tokenFile);
  }

  /** The sensor simulator, and the sample server (in this process) whose tools report their effects to it. */
  async #startSimulated(tokenFile: string): Promise<void> {
    const serverProcess = { pid: 4100, binary: "/usr/local/bin/node", args: "/app/server.js" };
    const pod = { ...POD, labels: { ...POD.labels, "mcp-hangar.io/learning-window": this.#o.windowText } };
    const sensor = await startLiveSensor({
      socket: join(this.#runtime, "sensor.sock"),
      pod,
      server: serverProcess,
    });
    this.#sensor = sensor;
    const sample = await startSampleServer({
      effects: "simulated",
      serverProcess,
      onEffect: (e) => sensor.push(e),
    });
    this.#sample = sample;
    const viewNote = await this.#startController(sample.url);
    const engines = await this.#startAgent(tokenFile, {
      tetragon: { address: sensor.address },
      hubble: { address: sensor.address },
    });
    await within(sensor.ready, 15_000, "the agent did not connect to the sensor simulator in 15 s");
    this.#announce(sample.url, engines, viewNote, [
      `  sensors     the sensor simulator (Tetragon and Hubble gRPC APIs on ${sensor.address}), fed by what the sample server's tools do; the eBPF probe is not used`,
    ]);
  }

  /**
   * Real mode: the pod and its outside world, the controller with the pod's address as the
   * provider's endpoint, the agent with the probe (its kernel filter holding the pod's cgroup),
   * then the sample server in the pod, so that its own exec is seen.
   */
  async #startReal(tokenFile: string): Promise<void> {
    for (const r of await reapStalePods())
      this.#output.out(`removed what an earlier run left behind (it ended without its teardown): ${r}\n`, {
        kind: "reaped",
        what: r,
      });
    const hierarchy = detectHierarchy("auto");
    const { pod, start } = await createRealPod({
      alsoRemove: [this.#runtime],
      hierarchy,
      namespace: POD.namespace,
      name: POD.pod,
      provider: PROVIDER,
      labels: { app: PROVIDER, "mcp-hangar.io/learning-window": this.#o.windowText },
      image: POD.container.image,
    });
    this.#testPod = pod;
    const info = pod.podInfo();
    this.pod = {
      node: NODE,
      namespace: info.namespace,
      pod: info.name,
      podUid: info.uid,
      podIp: pod.podIp,
      labels: { ...info.labels },
      container: {
        id: info.containers[0]?.id ?? "",
        name: info.containers[0]?.name ?? "server",
        image: info.containers[0]?.image ?? "",
      },
    };
    const url = `http://${pod.podIp}:${SERVER_PORT}/mcp`;
    const viewNote = await this.#startController(url);
    const counters = new Counters();
    const resolver = new McpPodTracker(counters);
    resolver.upsert(info);
    let synced: () => void = () => undefined;
    const inFilter = new Promise<void>((r) => (synced = r));
    const engines = await this.#startAgent(tokenFile, {
      counters,
      resolver,
      probe: {
        cgroupMode: loaderMode(hierarchy),
        prefixes: DEFAULT_PROBE_PREFIXES,
        required: true,
        onSynced: (i) => {
          if (i.pods > 0) synced();
        },
      },
      onEvent: (ev) => {
        if (ev.pod?.uid !== info.uid) return;
        this.#seen.push(ev);
        if (this.#seen.length > 2000) this.#seen.splice(0, 1000);
      },
    });
    const agent = this.#agent as RunningAgent;
    const failed = agent.done.then(
      () => Promise.reject(new AgentError("HANGAR_ERR_PROBE_UNAVAILABLE", "the eBPF probe ended")),
      (err: unknown) => Promise.reject(AgentError.from(err, "HANGAR_ERR_PROBE_UNAVAILABLE", "probe")),
    );
    await Promise.race([
      within(inFilter, 15_000, "the eBPF probe's kernel filter did not take the pod's cgroup in 15 s"),
      failed,
    ]);
    this.#real = await start();
    const real = this.#real;
    this.#announce(real.url, engines, viewNote, [
      `  pod         ${info.namespace}/${info.name} (uid ${info.uid}), container server ${(this.pod.container.id.split("//")[1] ?? "").slice(0, 12)}: the sample server, pid ${real.server.pid} (${real.serverBinary})`,
      `              cgroup ${pod.cgroupDir}`,
      `              network namespace ${pod.netns} (${pod.podIp}; a veth to this machine at ${pod.hostIp ?? ""}, no default route)`,
      `              its own mount namespace: the service-account token at ${SA_TOKEN}`,
      `  outside     network namespace ${pod.peerNetns}: ${WEATHER_API.ip}:${WEATHER_API.port} (${WEATHER_API.host}) and ${EXFIL.ip}:${EXFIL.port} (the attacker), one listener; routed from the pod only, so nothing leaves this machine`,
      `  sensors     the eBPF probe (${this.rel(this.#o.sensor.mode === "probe" ? this.#o.sensor.loader : "")}): exec, exit, connect, and opens under ${SA_TOKEN.split("/").slice(0, 4).join("/")}/ and ${DEFAULT_PROBE_PREFIXES.length - 1} other credential paths, reported in the kernel for the pod's cgroup only (${loaderMode(hierarchy)}); no simulator`,
    ]);
  }

  /** The controller on the in-memory cluster; returns what its baseline view reads. */
  async #startController(sampleUrl: string): Promise<string> {
    const o = this.#o;
    const cluster = this.cluster as LocalCluster;
    let viewNote = `baselines from ${this.rel(this.db)}`;
    try {
      this.view = await behavioralBaselineView(this.db);
    } catch (err) {
      this.view = new NoBaselineView();
      viewNote = `no baselines (${errorMessage(err).split("\n")[0] ?? ""})`;
    }
    const warn = (m: string): void => this.#output.io.stderr(`warning: ${m}\n`);
    // The controller's warnings and errors (its info lines are what the banner says).
    const log: ControllerLog = (level, msg, extra) => {
      const error = extra?.["error"];
      if (level === "warn" || level === "error")
        warn(`${msg}${typeof error === "string" ? `: ${error}` : ""}`);
    };
    this.controller = await createController({
      kube: cluster,
      namespace: "hangar-system",
      identity: "local",
      store: new MemoryStore(),
      baselines: { view: this.view },
      hub: { listen: "127.0.0.1:0", tokens: { allowedUsers: [AGENT_USER] } },
      proxy: {
        config: {
          listen: o.proxyListen ?? "127.0.0.1:8081",
          providers: [{ provider: PROVIDER, namespace: this.pod.namespace, service: PROVIDER }],
          staticEndpoints: {
            [PROVIDER]: [{ url: sampleUrl, pod: this.pod.pod, namespace: this.pod.namespace, node: NODE }],
          },
        },
        freePortIfTaken: o.proxyListen === undefined,
      },
      api: {
        listen: o.apiListen ?? "127.0.0.1:8080",
        freePortIfTaken: o.apiListen === undefined,
        staticTokens: [{ user: "local-admin", role: "admin", token: o.token }],
        ready: () =>
          Promise.resolve({
            ready: true,
            checks: { kubernetes: "none: the local stack's empty in-memory cluster" },
          }),
      },
      onEnforcement: (e) => {
        this.events.push(e);
        if (this.printLive) this.#output.enforcement(e);
      },
      log,
    });
    return viewNote;
  }

  /**
   * The agent: rules from rules/, baselines in the data dir, the sensor (`sensor`: the
   * simulator's gRPC APIs, or the probe), call traces and alerts over the hub stream. Returns
   * what it runs with.
   */
  async #startAgent(
    tokenFile: string,
    sensor: Pick<AgentOptions, "tetragon" | "hubble" | "probe" | "resolver" | "counters" | "onEvent">,
  ): Promise<string> {
    const o = this.#o;
    const warn = (m: string): void => this.#output.io.stderr(`warning: ${m}\n`);
    let engines = "";
    let detector: Detector | undefined;
    try {
      this.baseline = await loadBaselineStore({ db: this.db, learn: false, onWarning: warn });
      // As a pod watch does with the annotation mcp-hangar.io/learning-window (the first event of
      // the provider may be a call trace, which carries no pod labels).
      this.baseline.configureProvider(PROVIDER, {
        learningWindowMs: o.windowMs,
        source: "hangar-local --learning-window",
      });
      engines = `baselines in ${this.rel(this.db)}${this.reused ? " (reused from an earlier run)" : " (new)"}`;
    } catch (err) {
      engines = `no baseline engine (${errorMessage(err).split("\n")[0] ?? ""})`;
    }
    const rulesDir = defaultRulesDir();
    try {
      detector = await loadRuleEngine({
        paths: [rulesDir],
        ...(this.baseline === undefined ? {} : { baseline: this.baseline }),
      });
      engines = `rules from ${this.rel(rulesDir)}/ · ${engines}`;
    } catch (err) {
      engines = `no rule engine (${errorMessage(err).split("\n")[0] ?? ""}) · ${engines}`;
    }
    const hubClient = new HubClient({
      address: `127.0.0.1:${this.controller?.hubPort ?? 0}`,
      node: NODE,
      tokenFile,
      onError: (err) => warn(`agent hub stream: ${errorMessage(err)}`),
    });
    this.#hubClient = hubClient;
    this.#agent = await startAgent({
      node: NODE,
      ...sensor,
      traceSource: hubClient,
      namespaces: [],
      sinks: [hubClient, this.#sink()],
      ...(detector === undefined ? {} : { detector }),
      ...(this.baseline === undefined ? {} : { baseline: this.baseline }),
      onEnforcement: (r) => void hubClient.requestEnforcement(r),
      logger: pino({ level: "warn" }, pino.destination({ fd: 2, sync: true })),
    });
    return engines;
  }

  #announce(sampleUrl: string, engines: string, viewNote: string, sensorLines: string[]): void {
    const o = this.#o;
    const c = this.controller as RunningController;
    const hub = `127.0.0.1:${c.hubPort}`;
    const pod = this.#testPod;
    const real = this.#real;
    this.#output.out(
      [
        `hangar local stack — the controller and the agent on this machine, embedded defaults, no Kubernetes`,
        ``,
        `  controller  REST API ${c.api.url}${c.moved.api ? " (8080 was taken)" : ""} · agent hub ${hub} · enforcer in AUDIT mode (computes NetworkPolicies, applies nothing)`,
        `  MCP proxy   ${this.endpoint}${c.moved.proxy ? " (8081 was taken)" : ""}  →  sample MCP server ${sampleUrl} (pod ${this.pod.namespace}/${this.pod.pod} on node ${NODE})`,
        ...sensorLines.filter((l) => !l.startsWith("  sensors")),
        `  agent       node ${NODE} · ${engines}`,
        ...sensorLines.filter((l) => l.startsWith("  sensors")),
        `  data        ${this.rel(o.dataDir)}/ (${viewNote})`,
        ``,
      ].join("\n") + "\n",
      {
        kind: "stack",
        sensor: this.mode,
        api: c.api.url,
        token: o.token,
        proxy: this.endpoint,
        sampleServer: sampleUrl,
        hub,
        dataDir: o.dataDir,
        db: this.db,
        reused: this.reused,
        engines,
        ...(pod === undefined || real === undefined
          ? {}
          : {
              pod: {
                namespace: this.pod.namespace,
                name: this.pod.pod,
                uid: this.pod.podUid,
                containerId: this.pod.container.id,
                ip: pod.podIp,
                hostIp: pod.hostIp,
                hostLink: pod.hostLink,
                cgroup: pod.cgroupDir,
                cgroupBase: pod.cgroupBase,
                netns: pod.netns,
                serverPid: real.server.pid,
                serverBinary: real.serverBinary,
                token: SA_TOKEN,
              },
              outside: {
                netns: pod.peerNetns,
                listenerPid: pod.listenerPid,
                listeners: pod.peerHosts.map((h) => `${h}:${pod.peerPort}`),
              },
              runtime: this.#runtime,
            }),
      },
    );
  }

  /** The agent's alerts: kept for the scenario, printed live once it is over. */
  #sink(): AlertSink {
    return {
      write: (a: Alert) => {
        this.alerts.push(a);
        if (this.printLive) this.#output.alert(a, "later");
      },
      flush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
  }

  /**
   * What the poisoned call (made at `since`) did. Real mode: the processes the probe saw in the
   * pod and the connection the outside world's listener accepted (waits up to 3 s for both).
   */
  async effects(since: number): Promise<{ text: string; json: Record<string, unknown> }> {
    const real = this.#real;
    if (real === undefined)
      return {
        text: `  the server's tool took its command-injection path: bash read the service-account token and connected to ${EXFIL.ip}:${EXFIL.port} (simulated: the sensor simulator reports it, nothing runs)\n`,
        json: { kind: "effects", real: false },
      };
    const at = (ev: RuntimeEvent): number =>
      Number(ev.time?.seconds ?? 0n) * 1000 + (ev.time?.nanos ?? 0) / 1e6;
    const exfil = `${EXFIL.ip}:${EXFIL.port}`;
    const look = () => {
      const evs = this.#seen.filter((e) => at(e) >= since - 1000);
      return {
        shell: evs.find((e) => e.detail.case === "exec" && e.process?.binary === "/bin/bash"),
        cat: evs.find((e) => e.detail.case === "exec" && /\/cat$/.test(e.process?.binary ?? "")),
        read: evs.find((e) => e.detail.case === "file" && e.detail.value.path === SA_TOKEN),
        connect: evs.find(
          (e) =>
            e.detail.case === "connect" &&
            `${e.detail.value.destinationIp}:${e.detail.value.destinationPort}` === exfil,
        ),
        accepted: real.connections().find((c) => c.local === exfil && c.time >= since - 1000),
        ended: real.log.find((l) => l.msg === "process ended" && Date.parse(l.time) >= since - 1000),
      };
    };
    let got = look();
    for (const until = Date.now() + 3000; Date.now() < until; got = look()) {
      if (
        got.shell !== undefined &&
        got.connect !== undefined &&
        got.accepted !== undefined &&
        got.ended !== undefined
      )
        break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const pid = (e: RuntimeEvent | undefined): string =>
      e?.process === undefined ? "?" : String(e.process.pid);
    const text =
      `  the server's tool took its command-injection path, for real: the server (pid ${real.server.pid}) started /bin/bash (pid ${pid(got.shell)}), ` +
      `which ran ${got.cat?.process?.binary ?? "cat"} (pid ${pid(got.cat)}) on the pod's service-account token and connected to ${exfil}\n` +
      (got.accepted === undefined
        ? `  the listener at ${exfil} saw no connection (yet)\n`
        : `  the attacker's listener (network namespace ${real.pod.peerNetns}) accepted it from ${got.accepted.remote}; the kernel's events above come from the probe\n`);
    const proc = (e: RuntimeEvent | undefined) =>
      e?.process === undefined
        ? undefined
        : { pid: e.process.pid, binary: e.process.binary, args: e.process.arguments };
    return {
      text,
      json: {
        kind: "effects",
        real: true,
        serverPid: real.server.pid,
        shell: proc(got.shell),
        cat: proc(got.cat),
        tokenRead: got.read !== undefined,
        connect:
          got.connect?.detail.case === "connect"
            ? {
                pid: got.connect.process?.pid,
                source: `${got.connect.detail.value.sourceIp}:${got.connect.detail.value.sourcePort}`,
                destination: exfil,
                result: got.connect.detail.value.result,
              }
            : undefined,
        accepted: got.accepted,
        serverLog: got.ended,
      },
    };
  }

  /** Real mode: the commands that show the pod while it runs. */
  podCommands(): string[] {
    const pod = this.#testPod;
    if (pod === undefined) return [];
    return [
      `cat ${pod.cgroupDir}/cgroup.procs   (the pod's processes)`,
      `ip netns exec ${pod.netns} ss -tn   (the pod's connections)`,
      `ip netns exec ${pod.peerNetns} ss -tln   (the outside world's listener)`,
    ];
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.printLive = false;
    const c = this.#agent?.counters;
    await this.#agent?.stop().catch(() => undefined);
    await this.#hubClient?.shutdown().catch(() => undefined);
    await this.controller?.stop().catch(() => undefined);
    await this.#sample?.close().catch(() => undefined);
    this.#sensor?.stop();
    // Real mode: the server, everything else in the pod's cgroup, the namespaces, the link, the cgroups.
    let left: string[] | undefined;
    if (this.#testPod !== undefined) {
      await (this.#real ?? this.#testPod).close().catch(() => undefined);
      left = await leftovers(this.#testPod);
    }
    rmSync(this.#runtime, { recursive: true, force: true });
    this.#giveBack();
    const podNote =
      left === undefined
        ? ""
        : left.length === 0
          ? "; the pod is gone (its processes, namespaces, link and cgroups)"
          : `; LEFT BEHIND: ${left.join(", ")}`;
    if (c !== undefined)
      this.#output.out(
        `\nstopped: ${c.get("kept")} events kept, ${this.alerts.length} alerts, ${this.events.length} enforcement events; the baseline stays in ${this.rel(this.db)}${podNote}\n`,
        {
          kind: "stopped",
          events: c.get("kept"),
          alerts: this.alerts.length,
          enforcements: this.events.length,
          db: this.db,
          ...(left === undefined ? {} : { left }),
        },
      );
    else if (left !== undefined && left.length > 0)
      this.#output.io.stderr(`hangar-local: left behind: ${left.join(", ")}\n`);
  }

  /**
   * Under sudo, the data dir (when this run made it) and the baseline files go back to the user
   * who ran sudo, so that a later run without root can use them.
   */
  #giveBack(): void {
    const uid = Number(process.env["SUDO_UID"] ?? "");
    const gid = Number(process.env["SUDO_GID"] ?? "");
    if (process.getuid?.() !== 0 || !Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid)) return;
    const dir = this.#o.dataDir;
    try {
      if (this.#madeDataDir) chownSync(dir, uid, gid);
      for (const f of readdirSync(dir)) if (f.startsWith("baseline")) chownSync(join(dir, f), uid, gid);
    } catch {
      // best effort: the files stay root's
    }
  }
}

/** `p`, or a rejection with `message` after `ms`. */
function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref()),
  ]);
}
