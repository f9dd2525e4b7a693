import { hostname } from "node:os";
import type * as k8s from "@kubernetes/client-node";
import { hangar } from "@hangar/proto";
import { startAgent, type SensorEndpoint } from "../agent.js";
import { AgentError } from "../errors.js";
import {
  JsonLinesAlertSink,
  eventJson,
  METRICS_HELP,
  METRICS_OPTIONS,
  metricsFromArgs,
  SIEM_HELP,
  SIEM_OPTIONS,
  siemSinkFromArgs,
} from "@hangar/export";
import { HUBBLE_DEFAULT_ADDRESS } from "../sources/hubble.js";
import { TETRAGON_DEFAULT_ADDRESS } from "../sources/tetragon.js";
import type { AgentProbeOptions } from "../sources/probe/source.js";
import type { TlsOptions } from "../sources/grpc.js";
import { HUB_HELP, HUB_OPTIONS, hubFromArgs } from "../hub/cli.js";
import {
  Counters,
  type AlertSink,
  type BaselineStore,
  type Detector,
  type LicenseGate,
  intOption,
  parse,
} from "@hangar/core";
import { compileRuleSources, loadBaselineStore, loadRuleEngine } from "../bootstrap/plugins.js";
import { LICENSE_HELP, LICENSE_OPTIONS, licenseGate } from "../bootstrap/license.js";
import { BuiltinDetector } from "../detect/builtin.js";
import { RuleUpdates, SwappableDetector } from "../detect/rule-updates.js";
import { HubInbox } from "../hub/inbox.js";
import { defaultRulesDir } from "../replay/replay.js";
import type { Logger } from "pino";
import { stderrLogger } from "./logger.js";

const HELP = `Usage: hangar-agent run [options]

Consumes the Tetragon and Hubble event streams of this node for MCP provider pods
(label mcp-hangar.io/provider), and runs them through normalize → resolve →
correlate → detect. Alerts go to stdout as JSON lines.

Sensors:
  --tetragon ADDR          Tetragon gRPC address (default ${TETRAGON_DEFAULT_ADDRESS}); "none" disables
  --hubble ADDR            Hubble gRPC address (default ${HUBBLE_DEFAULT_ADDRESS}); "none" disables
  --tetragon-ca FILE, --tetragon-cert FILE, --tetragon-key FILE, --tetragon-server-name NAME
                           TLS for a TCP Tetragon address (ignored for unix sockets)
  --hubble-ca FILE, --hubble-cert FILE, --hubble-key FILE, --hubble-server-name NAME
                           TLS for a TCP Hubble address
  --max-recv-bytes N       largest gRPC message accepted (default 67108864; gRPC's own is 4 MiB)
  --probe                  also run the own eBPF probe (bpf/probe); if it is not built or not
                           permitted the agent runs without it and logs why
  --probe-loader FILE      the loader (default $HANGAR_PROBE_LOADER, bpf/probe/build/hangar-probe,
                           /usr/local/lib/hangar/hangar-probe)
  --probe-listen PATH      sidecar mode: start no loader, listen on this unix socket for one
                           started elsewhere (hangar-probe --output unix:PATH --cgroup-mode …);
                           the agent itself then needs no privileges
  --probe-prefix PATH      report opens of paths under PATH (repeatable; default /etc/shadow,
                           /etc/passwd, /etc/sudoers, /etc/kubernetes/, /root/, /var/run/secrets/, …)
  --probe-cgroup-mode M    auto (default), v2 or v1:CONTROLLER: which cgroup hierarchy identifies pods
  --probe-cgroup-root DIR  where that hierarchy of the node is mounted (default: from mountinfo;
                           e.g. /host/sys/fs/cgroup for an agent in its own cgroup namespace)
  --probe-sock-state       also report the outcome of non-blocking TCP connects
  --probe-required         exit with an error instead of running without the probe
  --rules PATH             detect with the rule packs in PATH, a .rules file or a directory
                           (repeatable; needs the enterprise rule engine: a license or the
                           BSL grant, see License below; without it the MIT core's built-in
                           detections run instead and the agent says so once)
  --default-rules          detect with the packs shipped in rules/ (or $HANGAR_RULES_DIR)
  --db FILE                the provider baselines (DuckDB file on the node; needs the
                           enterprise baseline engine): learn while a provider is learning,
                           raise deviations once it enforces; rules' baseline(...) use it
  --namespace NS           only pods in this namespace (repeatable; default all)
  --queue N                events buffered per sensor before drops are counted (default 16384)

Identity:
  --node NAME              this node's name (default $NODE_NAME, else the hostname)
  --kubeconfig FILE        watch this node's pods with this kubeconfig (default: in-cluster
                           config when running in a pod; otherwise no watch, identity from event labels)
  --no-kube                do not watch pods

Operations:
  --health-port N          serve /healthz and /readyz on this port (default 9876; 0 = any free port);
                           /healthz answers 200 "ok", or 200 "degraded: spool full: …" while a
                           spool's disk is full
  --print-events           also print every kept event to stdout (JSON lines)
  --log-level LEVEL        trace|debug|info|warn|error (default info)

${LICENSE_HELP}
${SIEM_HELP}
${METRICS_HELP}
${HUB_HELP}`;

function tls(v: Record<string, unknown>, prefix: string): TlsOptions | undefined {
  const pick = (k: string): string | undefined => {
    const x = v[`${prefix}-${k}`];
    return typeof x === "string" ? x : undefined;
  };
  const out: TlsOptions = {};
  const ca = pick("ca");
  const cert = pick("cert");
  const key = pick("key");
  const serverName = pick("server-name");
  if (ca !== undefined) out.caFile = ca;
  if (cert !== undefined) out.certFile = cert;
  if (key !== undefined) out.keyFile = key;
  if (serverName !== undefined) out.serverName = serverName;
  if ((cert === undefined) !== (key === undefined)) {
    throw new AgentError("HANGAR_ERR_CONFIG_INVALID", `--${prefix}-cert and --${prefix}-key go together`);
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

export async function runCommand(args: string[]): Promise<number> {
  const v = parse("run", args, {
    tetragon: { type: "string" },
    hubble: { type: "string" },
    "tetragon-ca": { type: "string" },
    "tetragon-cert": { type: "string" },
    "tetragon-key": { type: "string" },
    "tetragon-server-name": { type: "string" },
    "hubble-ca": { type: "string" },
    "hubble-cert": { type: "string" },
    "hubble-key": { type: "string" },
    "hubble-server-name": { type: "string" },
    "max-recv-bytes": { type: "string" },
    probe: { type: "boolean" },
    "probe-loader": { type: "string" },
    "probe-listen": { type: "string" },
    "probe-prefix": { type: "string", multiple: true },
    "probe-cgroup-mode": { type: "string" },
    "probe-cgroup-root": { type: "string" },
    "probe-sock-state": { type: "boolean" },
    "probe-required": { type: "boolean" },
    rules: { type: "string", multiple: true },
    "default-rules": { type: "boolean" },
    db: { type: "string" },
    namespace: { type: "string", multiple: true },
    queue: { type: "string" },
    node: { type: "string" },
    kubeconfig: { type: "string" },
    "no-kube": { type: "boolean" },
    "health-port": { type: "string" },
    "print-events": { type: "boolean" },
    "log-level": { type: "string" },
    ...SIEM_OPTIONS,
    ...METRICS_OPTIONS,
    ...HUB_OPTIONS,
    ...LICENSE_OPTIONS,
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const logger = stderrLogger(v["log-level"] ?? "info");
  const maxRecv = intOption("run", "max-recv-bytes", v["max-recv-bytes"], 1024);
  const endpoint = (address: string, prefix: string): SensorEndpoint => {
    const t = tls(v, prefix);
    return {
      address,
      ...(t === undefined ? {} : { tls: t }),
      ...(maxRecv === undefined ? {} : { maxReceiveMessageBytes: maxRecv }),
    };
  };
  const tetragonAddr = v.tetragon ?? TETRAGON_DEFAULT_ADDRESS;
  const hubbleAddr = v.hubble ?? HUBBLE_DEFAULT_ADDRESS;
  const probeOnly = tetragonAddr === "none" && hubbleAddr === "none";
  if (probeOnly && v.probe !== true) {
    throw new AgentError(
      "HANGAR_ERR_CONFIG_INVALID",
      "run: at least one sensor is needed (--tetragon, --hubble or --probe)",
    );
  }
  const probe: AgentProbeOptions | undefined =
    v.probe === true
      ? {
          ...(v["probe-loader"] === undefined ? {} : { loader: v["probe-loader"] }),
          ...(v["probe-listen"] === undefined ? {} : { listen: v["probe-listen"] }),
          ...(v["probe-prefix"] === undefined ? {} : { prefixes: v["probe-prefix"] }),
          ...(v["probe-cgroup-mode"] === undefined ? {} : { cgroupMode: v["probe-cgroup-mode"] }),
          ...(v["probe-cgroup-root"] === undefined ? {} : { cgroupMount: v["probe-cgroup-root"] }),
          ...(v["probe-sock-state"] === true ? { sockState: true } : {}),
          // The only sensor cannot be optional.
          ...(v["probe-required"] === true || probeOnly ? { required: true } : {}),
        }
      : undefined;
  let kubeConfig: k8s.KubeConfig | undefined;
  if (
    v["no-kube"] !== true &&
    (v.kubeconfig !== undefined || process.env.KUBERNETES_SERVICE_HOST !== undefined)
  ) {
    // Loaded only when a kubeconfig is used (see agent.ts).
    const k8s = await import("@kubernetes/client-node");
    if (v.kubeconfig !== undefined) {
      kubeConfig = new k8s.KubeConfig();
      try {
        kubeConfig.loadFromFile(v.kubeconfig);
      } catch (err) {
        throw AgentError.from(err, "HANGAR_ERR_CONFIG_INVALID", `reading kubeconfig ${v.kubeconfig}`);
      }
    } else if (process.env.KUBERNETES_SERVICE_HOST !== undefined) {
      kubeConfig = new k8s.KubeConfig();
      kubeConfig.loadFromCluster();
    }
  }
  if (kubeConfig === undefined)
    logger.info("no Kubernetes API access: provider identity comes from event labels only");
  const node = v.node ?? process.env.NODE_NAME ?? hostname();
  const queue = intOption("run", "queue", v.queue, 1);
  const healthPort = intOption("run", "health-port", v["health-port"], 0) ?? 9876;
  const counters = new Counters();
  // Which enterprise modules may run (a license, or the BSL grant), decided once, before any loads.
  const gate = await licenseGate({
    file: v.license ?? process.env.HANGAR_LICENSE_FILE,
    use: v["license-use"] ?? process.env.HANGAR_LICENSE_USE,
    kubeConfig,
    counters,
    log: logger,
  });
  const sinks: AlertSink[] = v["no-stdout-alerts"] === true ? [] : [new JsonLinesAlertSink(process.stdout)];
  const siem = await siemSinkFromArgs(v, { node, counters, logger });
  if (siem !== undefined) sinks.push(siem);
  // Rule updates and merged baselines from the controller; handed to the engines once loaded.
  const inbox = new HubInbox({ counters, logger });
  // A controller holding none of this node's baselines (restarted, or a replica that took
  // over) asks for them in full in its hello; sent once the baseline engine is loaded.
  let baselineForResync: BaselineStore | undefined;
  let resyncWanted = false;
  let hubForResync: { sendBaselineDelta(d: hangar.BaselineDelta): unknown } | undefined;
  const resyncBaselines = (): void => {
    const sync = baselineForResync?.sync;
    if (sync === undefined || hubForResync === undefined) {
      resyncWanted = true;
      return;
    }
    resyncWanted = false;
    const full = sync.fullDeltas();
    for (const d of full.deltas) hubForResync.sendBaselineDelta(d);
    logger.info({ deltas: full.deltas.length }, "sent every provider's baseline in full to the controller");
  };
  const hub = await hubFromArgs(v, {
    node,
    counters,
    logger,
    handlers: { ...inbox.handlers(), onResyncBaselines: resyncBaselines },
    spoolDir: v["spool-dir"] ?? "/var/lib/hangar-agent/spool",
  }).catch(async (err: unknown) => {
    await siem?.shutdown();
    throw err;
  });
  if (hub !== undefined) sinks.push(hub);
  const metrics = await metricsFromArgs(v, { node, counters, version: "0.1.0" }).catch(
    async (err: unknown) => {
      await siem?.shutdown();
      throw err;
    },
  );
  let engines: { detector?: Detector; baseline?: BaselineStore };
  try {
    engines = await enginesFromArgs(v, logger, gate);
  } catch (err) {
    await siem?.shutdown();
    await metrics?.shutdown();
    throw err;
  }
  if (hub !== undefined) {
    // The controller's rule packs replace the running rules while the agent runs; a set
    // that does not compile leaves the running one in place (detect/rule-updates.ts).
    const detector = new SwappableDetector(engines.detector);
    const store = engines.baseline;
    engines = { ...engines, detector };
    inbox.attach({
      rules: new RuleUpdates({
        detector,
        compile: (sources) => {
          if (!gate.allows("semantic"))
            return Promise.reject(
              new AgentError("HANGAR_ERR_LICENSE_REQUIRED", gate.decision.modules.semantic.reason),
            );
          return compileRuleSources(store === undefined ? { sources } : { sources, baseline: store });
        },
        counters,
        logger,
      }),
      ...(store === undefined ? {} : { baseline: store }),
    });
    baselineForResync = store;
    hubForResync = hub;
    if (resyncWanted) resyncBaselines();
  } else if (engines.detector !== undefined && engines.detector.name !== "builtin") {
    // Swappable, so a license that runs out can hand over to the built-in detections.
    engines = { ...engines, detector: new SwappableDetector(engines.detector) };
  }
  // A license that ends past its grace period while the agent runs: the rule engine is
  // swapped for the built-in detections between two events (what the old engine still held
  // is flushed and goes out); the baseline engine stays until the next start.
  gate.watch((module) => {
    const d = engines.detector;
    if (module === "semantic" && d instanceof SwappableDetector) {
      const old = d.swap(new BuiltinDetector());
      old.close?.().catch((err: unknown) => logger.warn({ err }, "closing the rule engine failed"));
    } else if (module === "behavioral")
      logger.warn("the baseline engine keeps running until the agent restarts; then it is off");
  });
  const agent = await (async () => {
    try {
      return await startAgent({
        node,
        ...(tetragonAddr === "none" ? {} : { tetragon: endpoint(tetragonAddr, "tetragon") }),
        ...(hubbleAddr === "none" ? {} : { hubble: endpoint(hubbleAddr, "hubble") }),
        ...(probe === undefined ? {} : { probe }),
        namespaces: v.namespace ?? [],
        ...(kubeConfig === undefined ? {} : { kubeConfig }),
        ...(hub === undefined
          ? {}
          : { traceSource: hub, onEnforcement: (r) => void hub.requestEnforcement(r) }),
        ...engines,
        healthPort,
        degraded: () => spoolsFull(siem, hub),
        sinks,
        counters,
        ...(v["print-events"] === true || metrics !== undefined
          ? {
              onEvent: (ev) => {
                metrics?.observeEvent(ev);
                if (v["print-events"] === true) process.stdout.write(`${eventJson(ev)}\n`);
              },
            }
          : {}),
        logger,
        ...(queue === undefined ? {} : { queueCapacity: queue }),
      });
    } catch (err) {
      // Configuration errors stop the start: release what the SIEM and metrics options opened.
      await siem?.shutdown();
      await metrics?.shutdown();
      await engines.detector?.close?.();
      await engines.baseline?.close?.();
      throw err;
    }
  })();
  logger.info(
    { node, healthPort: agent.health?.port, prometheusPort: metrics?.prometheusPort },
    "hangar-agent running",
  );
  // The rule engine's statistics, when it has them (the enterprise engine does), as a gauge.
  const stats = (engines.detector as { stats?: () => Readonly<Record<string, unknown>> } | undefined)?.stats;
  if (metrics !== undefined && stats !== undefined && engines.detector !== undefined) {
    const detector = engines.detector;
    metrics.observeStats(() => stats.call(detector));
  }
  // What the baselines learned goes to the controller, which merges it across nodes; each
  // provider's state goes to the metrics.
  const sync = engines.baseline?.sync;
  const report = (): void => {
    const out = sync?.deltas();
    if (hub !== undefined) for (const d of out?.deltas ?? []) hub.sendBaselineDelta(d);
    for (const s of out?.summaries ?? []) metrics?.setBaselineState(s.provider, baselineStateName(s.state));
  };
  const reporting = (hub !== undefined || metrics !== undefined) && sync !== undefined;
  // The states of the baselines in the file are known at once; the deltas go out on the tick
  // (or in full when the controller asks in its hello).
  for (const s of sync?.summaries() ?? []) metrics?.setBaselineState(s.provider, baselineStateName(s.state));
  const deltas = reporting ? setInterval(report, 30_000) : undefined;
  deltas?.unref();
  // Runs until SIGINT/SIGTERM; if the pipeline itself fails, stop and report it.
  const failed = agent.done.then(
    () => undefined,
    (err: unknown) => err,
  );
  const outcome = await Promise.race([waitForSignal().then(() => undefined), failed]);
  clearInterval(deltas);
  gate.stop();
  if (hub !== undefined && sync !== undefined) for (const d of sync.deltas().deltas) hub.sendBaselineDelta(d);
  await agent.stop();
  await metrics?.shutdown();
  if (outcome !== undefined)
    throw AgentError.from(outcome, "HANGAR_ERR_INTAKE_STREAM", "the pipeline failed");
  return 0;
}

/**
 * The rule engine (--rules, --default-rules) and the baseline engine (--db), loaded by
 * package name through the bootstrap; neither is loaded unless asked for.
 */
async function enginesFromArgs(
  v: { rules?: string[]; "default-rules"?: boolean; db?: string },
  logger: Logger,
  gate: LicenseGate,
): Promise<{ detector?: Detector; baseline?: BaselineStore }> {
  let paths = [...(v.rules ?? []), ...(v["default-rules"] === true ? [defaultRulesDir()] : [])];
  // Said once: which asked-for module runs and why, or what is off and why.
  gate.announce([
    ...(paths.length > 0 ? (["semantic"] as const) : []),
    ...(v.db !== undefined ? (["behavioral"] as const) : []),
  ]);
  let builtin: Detector | undefined;
  if (paths.length > 0 && !gate.allows("semantic")) {
    paths = [];
    builtin = new BuiltinDetector();
    logger.warn(
      "detecting with the MIT core's built-in detections only (shell in a provider, cloud metadata access)",
    );
  }
  let baseline: BaselineStore | undefined;
  if (v.db !== undefined && gate.allows("behavioral")) {
    baseline = await loadBaselineStore({
      db: v.db,
      learn: false,
      onWarning: (message) => logger.warn(message),
    });
    logger.info({ db: v.db }, "baselines loaded");
  }
  if (paths.length === 0) {
    const detector = builtin === undefined ? {} : { detector: builtin };
    return baseline === undefined ? detector : { ...detector, baseline };
  }
  try {
    const detector = await loadRuleEngine(baseline === undefined ? { paths } : { paths, baseline });
    logger.info({ rules: paths }, "rule engine loaded");
    return baseline === undefined ? { detector } : { detector, baseline };
  } catch (err) {
    await baseline?.close?.();
    // Rule-file errors carry path:line:col diagnostics in their message: keep them whole.
    throw AgentError.from(err, "HANGAR_ERR_PLUGIN_LOAD", "the rule engine did not start");
  }
}

/** hangar.v1.BaselineState → `learning`, `enforcing`, … (the enum name, lower case, without prefix). */
export function baselineStateName(state: hangar.BaselineState): string {
  return (hangar.BaselineState[state] ?? "UNSPECIFIED").replace(/^BASELINE_STATE_/, "").toLowerCase();
}

/** "spool full: …" naming each spool whose disk is full, for /healthz. */
function spoolsFull(
  siem:
    | { destinations: readonly { name: string; spool?: { dir: string; full?: unknown } | undefined }[] }
    | undefined,
  hub: { outbox: { full?: unknown; dir?: string } } | undefined,
): string | undefined {
  const full: string[] = [];
  for (const d of siem?.destinations ?? [])
    if (d.spool?.full !== undefined) full.push(`SIEM destination ${d.name} (${d.spool.dir})`);
  if (hub?.outbox.full !== undefined)
    full.push(`hub outbox${hub.outbox.dir === undefined ? "" : ` (${hub.outbox.dir})`}`);
  return full.length === 0 ? undefined : `spool full: ${full.join(", ")}`;
}

/** Resolves on the first SIGINT or SIGTERM. */
export function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string): void => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(sig);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}
