/**
 * The local stack's parts, started and stopped together on one machine with no Kubernetes, no
 * Go tools and no root:
 *
 *   MCP client (SDK) → controller: MCP proxy → sample MCP server (pod mcp/weather-0)
 *                      controller: agent hub · enforcer (AUDIT, empty in-memory cluster) · REST API
 *   sample server's tool effects → sensor simulator (Tetragon + Hubble gRPC) → agent
 *   agent: rules from rules/ + baselines in <data-dir>/baseline.duckdb → alerts, enforcement
 *          requests → hub → alert store / enforcer → REST API ← hangar-ctl
 *
 * The controller is the same assembly `hangar-controller serve` runs (`createController`), on
 * an in-memory cluster; the agent is `startAgent` as `hangar-agent run` does it.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import {
  HubClient,
  defaultRulesDir,
  loadBaselineStore,
  loadRuleEngine,
  startAgent,
  type RunningAgent,
} from "@hangar/agent";
import {
  MemoryStore,
  NoBaselineView,
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
  PROVIDER_LABEL,
  errorMessage,
  type Alert,
  type AlertSink,
  type BaselineStore,
  type Detector,
} from "@hangar/core";
import { pino } from "pino";
import { LocalCluster } from "./cluster.js";
import type { Output } from "./output.js";
import { startLiveSensor, type LiveSensor, type PodIdentity } from "./sensor.js";

export const PROVIDER = "weather";
export const NODE = "local";
const AGENT_USER = "system:serviceaccount:hangar-system:hangar-agent";

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
}

/** The running stack: the controller, the agent, the sensor simulator and the sample server. */
export class LocalStack {
  readonly #o: StackOptions;
  readonly #output: Output;
  readonly #runtime = mkdtempSync(join(tmpdir(), "hangar-local-"));
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
  #agent: RunningAgent | undefined;
  #hubClient: HubClient | undefined;
  #stopped = false;

  constructor(o: StackOptions, output: Output) {
    this.#o = o;
    this.#output = output;
    this.db = join(o.dataDir, "baseline.duckdb");
  }

  /** `p` relative to the working directory when it is below it. */
  rel(p: string): string {
    const r = relative(process.cwd(), p);
    return r === "" ? "." : r.startsWith("..") ? p : r;
  }

  /** The proxy's endpoint of the sample provider. */
  get endpoint(): string {
    return `${this.controller?.proxy?.url ?? ""}/mcp/${PROVIDER}`;
  }

  async start(): Promise<void> {
    const o = this.#o;
    mkdirSync(o.dataDir, { recursive: true });
    if (o.reset)
      for (const f of readdirSync(o.dataDir))
        if (f.startsWith("baseline.duckdb")) rmSync(join(o.dataDir, f), { force: true });
    this.reused = existsSync(this.db);
    const agentToken = randomBytes(24).toString("base64url");
    const tokenFile = join(this.#runtime, "agent.token");
    writeFileSync(tokenFile, agentToken, { mode: 0o600 });
    this.cluster = new LocalCluster({
      tokens: [{ token: agentToken, username: AGENT_USER, audiences: ["hangar-controller"], node: NODE }],
    });

    // The sensor simulator, and the sample server whose tools report their effects to it.
    const serverProcess = { pid: 4100, binary: "/usr/local/bin/node", args: "/app/server.js" };
    const pod = { ...POD, labels: { ...POD.labels, "mcp-hangar.io/learning-window": o.windowText } };
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
    const engines = await this.#startAgent(tokenFile, sensor);
    this.#announce(sample.url, sensor.address, engines, viewNote);
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
          providers: [{ provider: PROVIDER, namespace: POD.namespace, service: PROVIDER }],
          staticEndpoints: {
            [PROVIDER]: [{ url: sampleUrl, pod: POD.pod, namespace: POD.namespace, node: NODE }],
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
   * The agent: rules from rules/, baselines in the data dir, sensors from the simulator, call
   * traces and alerts over the hub stream. Returns what it runs with.
   */
  async #startAgent(tokenFile: string, sensor: LiveSensor): Promise<string> {
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
      tetragon: { address: sensor.address },
      hubble: { address: sensor.address },
      traceSource: hubClient,
      namespaces: [],
      sinks: [hubClient, this.#sink()],
      ...(detector === undefined ? {} : { detector }),
      ...(this.baseline === undefined ? {} : { baseline: this.baseline }),
      onEnforcement: (r) => void hubClient.requestEnforcement(r),
      logger: pino({ level: "warn" }, pino.destination({ fd: 2, sync: true })),
    });
    await Promise.race([
      sensor.ready,
      new Promise((_, reject) =>
        setTimeout(
          () => reject(new Error("the agent did not connect to the sensor simulator in 15 s")),
          15_000,
        ).unref(),
      ),
    ]);
    return engines;
  }

  #announce(sampleUrl: string, sensorAddress: string, engines: string, viewNote: string): void {
    const o = this.#o;
    const c = this.controller as RunningController;
    const hub = `127.0.0.1:${c.hubPort}`;
    this.#output.out(
      [
        `hangar local stack — the controller and the agent on this machine, embedded defaults, no Kubernetes`,
        ``,
        `  controller  REST API ${c.api.url}${c.moved.api ? " (8080 was taken)" : ""} · agent hub ${hub} · enforcer in AUDIT mode (computes NetworkPolicies, applies nothing)`,
        `  MCP proxy   ${this.endpoint}${c.moved.proxy ? " (8081 was taken)" : ""}  →  sample MCP server ${sampleUrl} (pod ${POD.namespace}/${POD.pod} on node ${NODE})`,
        `  agent       node ${NODE} · ${engines}`,
        `  sensors     the sensor simulator (Tetragon and Hubble gRPC APIs on ${sensorAddress}), fed by what the sample server's tools do; the eBPF probe is not used`,
        `  data        ${this.rel(o.dataDir)}/ (${viewNote})`,
        ``,
      ].join("\n") + "\n",
      {
        kind: "stack",
        api: c.api.url,
        token: o.token,
        proxy: this.endpoint,
        sampleServer: sampleUrl,
        hub,
        dataDir: o.dataDir,
        db: this.db,
        reused: this.reused,
        engines,
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
    rmSync(this.#runtime, { recursive: true, force: true });
    if (c !== undefined)
      this.#output.out(
        `\nstopped: ${c.get("kept")} events kept, ${this.alerts.length} alerts, ${this.events.length} enforcement events; the baseline stays in ${this.rel(this.db)}\n`,
        {
          kind: "stopped",
          events: c.get("kept"),
          alerts: this.alerts.length,
          enforcements: this.events.length,
          db: this.db,
        },
      );
  }
}
