/**
 * `hangar-controller serve`: the agent hub, the enforcer (with leader election)
 * and the REST API in one process, until SIGINT/SIGTERM. Exit codes: 0 after a
 * clean shutdown, 2 for a usage or configuration error (the message names the
 * flag or field), 1 when it fails while running.
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { hangar } from "@hangar/proto";
import { parse as parseYaml } from "yaml";
import { AlertStore } from "../api/alerts.js";
import { Authenticator, loadStaticTokens } from "../api/auth.js";
import { startApi, type RunningApi } from "../api/server.js";
import {
  behavioralBaselineMerge,
  behavioralBaselineView,
  NoBaselineView,
  type BaselineMergePort,
  type BaselineViewPort,
} from "../enforce/baseline-view.js";
import { Enforcer, type EnforcementEventJson } from "../enforce/engine.js";
import { ControllerError } from "../enforce/errors.js";
import { KubeClient } from "../enforce/kube.js";
import { LeaseElector, PodRoleLabel } from "../enforce/leader.js";
import { parseConfig, type Action } from "../enforce/policy.js";
import { ConfigMapStore, type EnforcementInput } from "../enforce/store.js";
import { MergedBaselineFanout } from "../hub/baselines.js";
import { AgentHub } from "../hub/hub.js";
import { startProxy, type RunningProxy } from "../proxy/serve.js";
import { loadProxyConfig } from "./proxy.js";
import { startTelemetry, TELEMETRY_OPTIONS, TELEMETRY_USAGE } from "../telemetry/telemetry.js";

export const SERVE_USAGE = `Usage: hangar-controller serve [options]

Runs the agent hub (gRPC hangar.v1.AgentHubService), the enforcer (audit by
default; one replica enforces, chosen by a Lease) and the REST API that
hangar-ctl talks to.

Options:
  --kubeconfig FILE        Kubernetes client configuration (default: in-cluster)
  --namespace NS           the controller's namespace: records, Lease, token Secret
                           (default $POD_NAMESPACE, else hangar-system)
  --identity NAME          Lease holder identity (default $POD_NAME, else the host name)
  --pod NAME               this replica's pod (default $POD_NAME): labelled
                           mcp-hangar.io/controller-role=leader|standby as the Lease moves,
                           so the Services route agents, MCP callers and hangar-ctl to the leader
  --config FILE            enforcement policy, YAML or JSON (mode, namespaces, providers,
                           allowedActions, TTLs, rate limits; see controller/README.md)
  --lease-duration SEC     Lease duration (default 15)
  --api-listen HOST:PORT   REST API (default 0.0.0.0:8080)
  --tokens-secret NAME     Secret with static API tokens, keys <read|admin>.<user>
                           (default hangar-controller-tokens; "none" for TokenReview only)
  --admin-group G, --read-group G, --admin-user U, --read-user U
                           Kubernetes users/groups (TokenReview) given a role; repeatable
  --hub-listen HOST:PORT   agent hub (default 0.0.0.0:8443; "none" disables)
  --hub-tls-cert FILE, --hub-tls-key FILE
                           serve the hub over TLS with this certificate
  --hub-tls-ca FILE        mTLS: agents present a certificate signed by this CA (their
                           identity); without it agents authenticate with tokens
  --hub-client-cn CN       with mTLS: only certificates with this subject CN (repeatable;
                           default any the CA signed)
  --hub-agent SA           service account (namespace:name) whose projected tokens may
                           connect; repeatable (default <namespace>:hangar-agent)
  --hub-audience AUD       audience of agents' tokens (default hangar-controller)
  --rules DIR              rule packs to send to every agent (each file in DIR, e.g. the
                           chart's rules ConfigMap); re-read every 30 s, sent again on change
  --proxy-config FILE      also run the MCP proxy (see 'hangar-controller proxy') in this
                           process; its call traces go to the agent on the pod's node
  --proxy-listen HOST:PORT overrides the proxy configuration's listen address
  --baseline-db FILE       the baseline engine's DuckDB file (the enterprise baseline
                           engine): agents' baseline deltas are merged into it, each
                           provider's merged baseline goes back to the agents hosting it,
                           and /v1/providers serves it; without it /v1/providers is empty
  -h, --help               this text

${TELEMETRY_USAGE}
Enforcement events are written to stdout as JSON lines; logs go to stderr.
Exit codes: 0 clean shutdown, 1 runtime failure, 2 usage or configuration error.
`;

export interface ServeIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const ACTION_OF: Partial<Record<hangar.EnforcementAction, Action>> = {
  [hangar.EnforcementAction.BLOCK_EGRESS]: "block_egress",
  [hangar.EnforcementAction.QUARANTINE]: "quarantine",
  [hangar.EnforcementAction.TIGHTEN_EGRESS]: "tighten_egress",
};

/** An agent's request as the enforcer takes it; throws a ControllerError naming the field. */
export function fromProto(r: hangar.EnforcementRequest): EnforcementInput {
  const action = ACTION_OF[r.action];
  if (action === undefined)
    throw new ControllerError(
      "HANGAR_ERR_ENFORCE_REQUEST",
      `enforcement request ${JSON.stringify(r.id)}: action: unspecified`,
    );
  const ttl = r.ttl === undefined ? undefined : Number(r.ttl.seconds);
  return {
    id: r.id,
    alertId: r.alertId,
    ruleId: r.ruleId,
    provider: r.provider,
    namespace: r.namespace,
    action,
    ...(r.destination !== "" ? { destination: r.destination } : {}),
    ...(ttl !== undefined && ttl > 0 ? { ttlSeconds: ttl } : {}),
    ...(r.reason !== "" ? { reason: r.reason } : {}),
    ...(r.node !== "" ? { node: r.node } : {}),
  };
}

function log(io: ServeIO, level: string, msg: string, extra: Record<string, unknown> = {}): void {
  io.stderr(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...extra })}\n`);
}

export async function runServeCli(argv: string[], io: ServeIO, signal: AbortSignal): Promise<number> {
  let v;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        kubeconfig: { type: "string" },
        namespace: { type: "string" },
        identity: { type: "string" },
        pod: { type: "string" },
        config: { type: "string" },
        "lease-duration": { type: "string" },
        "api-listen": { type: "string" },
        "tokens-secret": { type: "string" },
        "admin-group": { type: "string", multiple: true },
        "read-group": { type: "string", multiple: true },
        "admin-user": { type: "string", multiple: true },
        "read-user": { type: "string", multiple: true },
        "hub-listen": { type: "string" },
        "hub-tls-ca": { type: "string" },
        "hub-tls-cert": { type: "string" },
        "hub-tls-key": { type: "string" },
        "hub-agent": { type: "string", multiple: true },
        "hub-client-cn": { type: "string", multiple: true },
        "hub-audience": { type: "string" },
        "baseline-db": { type: "string" },
        "proxy-config": { type: "string" },
        rules: { type: "string" },
        "proxy-listen": { type: "string" },
        ...TELEMETRY_OPTIONS,
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    io.stderr(
      `hangar-controller serve: ${err instanceof Error ? err.message : String(err)}\n\n${SERVE_USAGE}`,
    );
    return 2;
  }
  if (v.help === true) {
    io.stdout(SERVE_USAGE);
    return 0;
  }
  let running: { api: RunningApi; hub: AgentHub | undefined; stop: () => Promise<void> } | undefined;
  const cleanup: (() => Promise<void>)[] = [];
  try {
    running = await start(v, io, signal, cleanup);
  } catch (err) {
    // What started before the failure (SIEM destinations, the metrics endpoint) is closed.
    for (const f of cleanup.splice(0)) await f().catch(() => undefined);
    const code = (err as { code?: string }).code;
    io.stderr(
      `hangar-controller serve: ${code !== undefined ? `${code}: ` : ""}${err instanceof Error ? err.message : String(err)}\n`,
    );
    return code === "HANGAR_ERR_ENFORCE_KUBE" || code === "HANGAR_ERR_PLUGIN_LOAD" ? 1 : 2;
  }
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
  await running.stop();
  return 0;
}

type Values = Record<string, string | string[] | boolean | undefined>;

async function start(
  v: Values,
  io: ServeIO,
  signal: AbortSignal,
  cleanup: (() => Promise<void>)[] = [],
): Promise<{ api: RunningApi; hub: AgentHub | undefined; stop: () => Promise<void> }> {
  const str = (k: string): string | undefined => v[k] as string | undefined;
  const list = (k: string): string[] => (v[k] as string[] | undefined) ?? [];
  const kc = new k8s.KubeConfig();
  try {
    if (str("kubeconfig") !== undefined) kc.loadFromFile(str("kubeconfig") as string);
    else kc.loadFromCluster();
  } catch (err) {
    throw new ControllerError(
      "HANGAR_ERR_ENFORCE_CONFIG",
      `--kubeconfig: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const kube = new KubeClient(kc);
  const namespace = str("namespace") ?? process.env["POD_NAMESPACE"] ?? "hangar-system";
  const identity = str("identity") ?? process.env["POD_NAME"] ?? hostname();
  let config = parseConfig(undefined);
  const configPath = str("config");
  if (configPath !== undefined) {
    let text: string;
    try {
      text = readFileSync(configPath, "utf8");
    } catch (err) {
      throw new ControllerError(
        "HANGAR_ERR_ENFORCE_CONFIG",
        `cannot read --config ${configPath}: ${(err as Error).message}`,
      );
    }
    let raw: unknown;
    try {
      raw = configPath.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new ControllerError(
        "HANGAR_ERR_ENFORCE_CONFIG",
        `${configPath}: not valid YAML/JSON: ${(err as Error).message}`,
      );
    }
    config = parseConfig(raw, configPath);
  }
  const leaseSeconds = Number(str("lease-duration") ?? "15");
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < 1)
    throw new ControllerError(
      "HANGAR_ERR_ENFORCE_CONFIG",
      `--lease-duration: ${JSON.stringify(str("lease-duration"))} is not a whole number of seconds ≥ 1`,
    );
  const baselineDb = str("baseline-db");
  const baseline: BaselineViewPort =
    baselineDb !== undefined ? await behavioralBaselineView(baselineDb) : new NoBaselineView();
  const merge: BaselineMergePort | undefined =
    baselineDb !== undefined ? await behavioralBaselineMerge(baselineDb) : undefined;
  // Merged baselines go back to every agent hosting the provider (see hub/baselines.ts).
  const fanout =
    merge === undefined
      ? undefined
      : new MergedBaselineFanout({
          hub: { sendLatest: (node, key, message) => hub?.sendLatest(node, key, message) ?? 0n },
          merge,
          onError: (err, provider) =>
            log(io, "warn", "merged baseline not sent", {
              ...(provider !== undefined ? { provider } : {}),
              error: err instanceof Error ? err.message : String(err),
            }),
        });
  await fanout?.load();
  const lease = new LeaseElector({ kube, namespace, identity, leaseDurationSeconds: leaseSeconds });
  const enforcer = new Enforcer({
    kube,
    store: new ConfigMapStore(kube, namespace),
    config,
    baseline,
    isLeader: () => lease.isLeader(),
  });
  enforcer.onEvent((e: EnforcementEventJson) =>
    io.stdout(`${JSON.stringify({ kind: "EnforcementEvent", ...e })}\n`),
  );
  // SIEM export and metrics (controller/src/telemetry): hub alerts, enforcement events, baselines.
  const telemetry = await startTelemetry(v, {
    identity,
    namespace,
    version: "0.1.0",
    stderr: io.stderr,
  });
  cleanup.push(() => telemetry.shutdown());
  enforcer.onEvent((e) => telemetry.enforcement(e));
  telemetry.watchBaselines(baseline, signal);
  if (telemetry.metrics?.prometheusPort !== undefined)
    log(io, "info", "Prometheus metrics listening", { prometheusPort: telemetry.metrics.prometheusPort });
  // The Services select the pod labelled leader: label this pod as the Lease moves, and on
  // losing it end the agents' streams so they reconnect, through the Service, to the leader.
  const podName = str("pod") ?? process.env["POD_NAME"];
  const podLabel =
    podName !== undefined && podName !== "" ? new PodRoleLabel(kube, namespace, podName) : undefined;
  if (podLabel === undefined)
    log(
      io,
      "info",
      "no --pod or $POD_NAME: this pod is not labelled leader/standby (Services must not select on it)",
      {},
    );
  const labelPod = (leader: boolean): void =>
    void podLabel?.set(leader).then((ok) => {
      if (!ok)
        log(io, "warn", "pod role label not written; retried every 5 s", {
          pod: podName,
          error:
            podLabel.lastError instanceof Error ? podLabel.lastError.message : String(podLabel.lastError),
        });
    });
  labelPod(false);
  lease.onChange((leader) => {
    log(io, "info", leader ? "leading: this replica enforces and serves" : "standby", { identity });
    labelPod(leader);
    if (!leader && hub !== undefined) {
      const ended = hub.disconnectAll();
      if (ended > 0)
        log(io, "info", "standby: agent streams ended, agents reconnect to the leader", { ended });
    }
  });

  const secretName = str("tokens-secret") ?? "hangar-controller-tokens";
  const auth = new Authenticator({
    tokenReview: {
      kube,
      roles: {
        admin: { users: list("admin-user"), groups: list("admin-group") },
        read: { users: list("read-user"), groups: list("read-group") },
      },
    },
  });
  const reloadTokens = async (): Promise<void> => {
    if (secretName === "none") return;
    try {
      auth.setStaticTokens(await loadStaticTokens(kube, namespace, secretName));
    } catch (err) {
      log(io, "warn", "static API tokens not loaded", {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  };
  await reloadTokens();
  const alerts = new AlertStore();
  const seen = new Set<string>();
  const hubListen = str("hub-listen") ?? "0.0.0.0:8443";
  let hub: AgentHub | undefined;
  if (hubListen !== "none") {
    const cert = str("hub-tls-cert");
    const key = str("hub-tls-key");
    const clientCa = str("hub-tls-ca");
    if ((cert === undefined) !== (key === undefined))
      throw new ControllerError("HANGAR_ERR_HUB_CONFIG", "--hub-tls-cert and --hub-tls-key go together");
    if (clientCa !== undefined && cert === undefined)
      throw new ControllerError(
        "HANGAR_ERR_HUB_CONFIG",
        "--hub-tls-ca (mTLS) needs --hub-tls-cert and --hub-tls-key",
      );
    const agents = list("hub-agent").length > 0 ? list("hub-agent") : [`${namespace}:hangar-agent`];
    hub = new AgentHub({
      listen: hubListen,
      ...(fanout !== undefined
        ? { onHello: (node: string) => fanout.hello(node), resyncBaselines: true }
        : {}),
      ...(cert !== undefined && key !== undefined
        ? {
            tls: {
              certFile: cert,
              keyFile: key,
              ...(clientCa !== undefined
                ? { clientCaFile: clientCa, allowedSubjects: list("hub-client-cn") }
                : {}),
            },
          }
        : {}),
      token: {
        kube,
        audience: str("hub-audience") ?? "hangar-controller",
        allowedUsers: agents.map((a) => `system:serviceaccount:${a}`),
      },
      handlers: {
        alert: (a) => {
          // A redelivered alert (its ack was lost) is kept once.
          if (a.id !== "" && seen.has(a.id)) return;
          if (seen.size > 100_000) seen.clear();
          seen.add(a.id);
          alerts.add(a);
          telemetry.alert(a);
        },
        enforcementRequest: async (r, who) => {
          try {
            await enforcer.submit(fromProto(r), r.ruleId !== "" ? r.ruleId : `agent:${who.node}`);
          } catch (err) {
            // An invalid request is acknowledged (sending it again cannot fix it) and logged.
            if (err instanceof ControllerError && err.code === "HANGAR_ERR_ENFORCE_REQUEST")
              log(io, "warn", err.message, { node: who.node });
            else throw err;
          }
        },
        baselineDelta: async (d, who) => {
          if (merge === undefined) {
            // Without --baseline-db there is no cluster-wide merge: counted in the log, acknowledged.
            log(io, "debug", "baseline delta received; no --baseline-db to merge into", {
              provider: d.provider,
              node: who.node,
            });
            return;
          }
          try {
            // Stored in the DuckDB file before the hub acknowledges it.
            await merge.merge(d);
            fanout?.changed(d.provider, who.node);
          } catch (err) {
            // An invalid delta is acknowledged (sending it again cannot fix it) and logged;
            // anything else (disk, lock) is not, so the agent sends it again.
            if ((err as { code?: string }).code === "HANGAR_ERR_BASELINE_DELTA")
              log(io, "warn", err instanceof Error ? err.message : String(err), { node: who.node });
            else throw err;
          }
        },
      },
    });
    const rulesDir = str("rules");
    if (rulesDir !== undefined) {
      const h = hub;
      let version = "";
      const load = (): void => {
        const update = readRules(rulesDir);
        if (update.version === version) return;
        version = update.version;
        h.setRules(update);
        log(io, "info", "rule packs loaded", { rules: rulesDir, files: Object.keys(update.files), version });
      };
      load();
      const timer = setInterval(() => {
        try {
          load();
        } catch (err) {
          log(io, "warn", "rule packs not re-read", {
            error: err instanceof Error ? err.message : String(err),
          });
        }
      }, 30_000);
      timer.unref();
      signal.addEventListener("abort", () => clearInterval(timer), { once: true });
    }
    const port = await hub.start();
    telemetry.observeHub(hub);
    log(io, "info", "agent hub listening", { hub: hubListen.replace(/:0$/, `:${port}`) });
  }
  let proxy: RunningProxy | undefined;
  const proxyConfig = str("proxy-config");
  if (proxyConfig !== undefined) {
    const pc = loadProxyConfig(proxyConfig);
    if (str("proxy-listen") !== undefined) pc.listen = str("proxy-listen") as string;
    proxy = await startProxy({
      config: pc,
      kubeConfig: kc,
      onError: (err) => log(io, "warn", "proxy discovery", { error: err.message }),
    });
    log(io, "info", "MCP proxy listening", { proxy: proxy.url });
    // Call durations for the metrics (a subscription of its own, only when metrics are on).
    if (telemetry.metrics !== undefined) telemetry.watchCalls(proxy.proxy.feed.subscribe(signal));
    if (hub !== undefined) {
      const feed = proxy.proxy.feed.subscribe(signal);
      const h = hub;
      void (async () => {
        // Each call trace goes to the agent of the node whose pod served the call.
        for await (const t of feed)
          if (t.node !== "") {
            h.send(t.node, { case: "callTrace", value: t });
            fanout?.hosted(t.provider, t.node);
          }
      })();
    }
  }
  const api = await startApi({
    listen: str("api-listen") ?? "0.0.0.0:8080",
    enforcer,
    alerts,
    baseline,
    auth,
    isLeader: () => lease.isLeader(),
    ready: async () => {
      const res = await kube
        .send({ method: "GET", path: "/version" })
        .catch((e: unknown) => ({ status: 0, body: String(e) }));
      return {
        ready: res.status === 200,
        checks: { kubernetes: res.status === 200 ? "ok" : `GET /version: ${String(res.status)}` },
      };
    },
  });
  log(io, "info", "REST API listening", { api: api.url, identity, namespace, mode: config.mode });

  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  const loops = [
    lease.run(ac.signal),
    enforcer.run(ac.signal, 1000, (err) =>
      log(io, "error", "enforcement loop", { error: err instanceof Error ? err.message : String(err) }),
    ),
    (async () => {
      while (!ac.signal.aborted) {
        await new Promise((r) => setTimeout(r, 60_000).unref());
        await reloadTokens();
      }
    })(),
    (async () => {
      while (!ac.signal.aborted && podLabel !== undefined) {
        await new Promise((r) => setTimeout(r, 5_000).unref());
        await podLabel.sync();
      }
    })(),
  ];
  return {
    api,
    hub,
    stop: async () => {
      ac.abort();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(loops.slice(0, 2)),
        new Promise((r) => (timer = setTimeout(r, 5_000))),
      ]);
      clearTimeout(timer);
      fanout?.close();
      await hub?.stop();
      await proxy?.close();
      await api.close();
      await telemetry.shutdown();
    },
  };
}

/**
 * The rule packs in `dir` as one update: every regular file (not `..data` and other dot
 * entries of a ConfigMap mount), its version a hash of names and contents.
 */
export function readRules(dir: string): hangar.RuleUpdate {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => !n.startsWith("."))
      .sort();
  } catch (err) {
    throw new ControllerError("HANGAR_ERR_ENFORCE_CONFIG", `--rules ${dir}: ${(err as Error).message}`);
  }
  const files: Record<string, string> = {};
  const hash = createHash("sha256");
  for (const n of names) {
    const p = join(dir, n);
    if (!statSync(p).isFile()) continue;
    files[n] = readFileSync(p, "utf8");
    hash.update(`${n}\0${files[n]}\0`);
  }
  return create(hangar.RuleUpdateSchema, { files, version: hash.digest("hex").slice(0, 16) });
}
