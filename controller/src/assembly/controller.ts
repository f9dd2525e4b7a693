/**
 * The controller's subsystems wired together, in one place: the enforcer (with leader
 * election), the alert store, the agent hub (handlers, rule packs, merged baselines), the MCP
 * proxy (its call traces routed to the agents), the REST API and the SIEM export and metrics.
 * `hangar-controller serve` calls it with what its flags say, the local stack (`@hangar/stack`)
 * with its embedded defaults; both get the same wiring. It starts what it is asked for and,
 * when a part cannot start, closes what already did before throwing.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { Counters, errorMessage, type LicenseGate } from "@hangar/core";
import { AlertStore, RecentIds, type AlertStoreLimits } from "../api/alerts.js";
import { Authenticator, loadStaticTokens, type RoleBinding, type StaticToken } from "../api/auth.js";
import { startApi, type RunningApi } from "../api/server.js";
import { NoBaselineView, type BaselineMergePort, type BaselineViewPort } from "../baselines/baselines.js";
import { Enforcer, type EnforcementEventJson } from "../enforce/engine.js";
import { EventRecorder, type EventRecorderOptions } from "../events/recorder.js";
import { ViolationEvents } from "../events/violations.js";
import type { EnforcementConfig } from "../enforce/policy.js";
import { ConfigMapStore, type EnforcementStore } from "../enforce/store.js";
import { MergedBaselineFanout } from "../hub/baselines.js";
import type { AgentHub } from "../hub/hub.js";
import { routeCallTraces } from "../hub/traces.js";
import type { KubeApi } from "../kube/kube.js";
import { LeaseElector } from "../leader/leader.js";
import { listenOrFreePort } from "../listen.js";
import { startProxy, type ProxyConfig, type RunningProxy } from "../proxy/serve.js";
import { startTelemetry, type ControllerTelemetry, type TelemetryValues } from "../telemetry/telemetry.js";
import { startHub, type HubPartOptions } from "./hub.js";
import { followLease } from "./leadership.js";
import type { ControllerLog } from "./log.js";

/** Whether the controller can serve (`GET /readyz`), with a reason per check. */
export type ReadyCheck = () => Promise<{ ready: boolean; checks: Record<string, string> }>;

export interface ControllerOptions {
  /** The Kubernetes API: a `KubeClient`, or an in-memory cluster (the local stack's). */
  readonly kube: KubeApi;
  /** The controller's namespace: enforcement records, the Lease, the token Secret. */
  readonly namespace: string;
  /** Lease holder identity, and the SIEM records' host name. */
  readonly identity: string;
  /** Reported by the SIEM records and metrics. Default 0.1.0. */
  readonly version?: string;
  /** The enforcement policy (default: audit, the documented defaults). */
  readonly policy?: EnforcementConfig;
  /** Where enforcement records live (default: ConfigMaps in `namespace`). */
  readonly store?: EnforcementStore;
  /**
   * Leader election on the Lease `hangar-controller`, and this replica's pod to label
   * leader/standby. Without it this process always leads (one replica: the local stack).
   */
  readonly lease?: { readonly durationSeconds: number; readonly pod: string | undefined };
  /** The learned baselines (default: none) and the cluster-wide merge of agents' deltas. */
  readonly baselines?: { readonly view: BaselineViewPort; readonly merge?: BaselineMergePort | undefined };
  readonly api: ApiPartOptions;
  /** The agent hub; without it no agent connects. */
  readonly hub?: HubPartOptions;
  /** Bounds of the in-memory alert store (`GET /v1/alerts`): count and bytes, oldest evicted. */
  readonly alerts?: AlertStoreLimits;
  /** The MCP proxy in this process; its call traces go to the agent on the serving pod's node. */
  readonly proxy?: ProxyPartOptions;
  /** SIEM export and metrics (serve's telemetry flags; `stderr` takes their log lines). */
  readonly telemetry?: { readonly values: TelemetryValues; readonly stderr: (line: string) => void };
  /**
   * Record every alert and enforcement action as a Kubernetes Event on the MCP pod
   * (events.k8s.io/v1; `serve` does unless `--no-k8s-events`; the local stack has no API server).
   */
  readonly k8sEvents?: boolean | Omit<EventRecorderOptions, "kube" | "counters" | "instance">;
  /** Every enforcement event (serve prints them to stdout). */
  readonly onEnforcement?: (e: EnforcementEventJson) => void;
  readonly log: ControllerLog;
  /** The license decision (serve): its metrics go to the telemetry, looked at again hourly. */
  readonly license?: LicenseGate;
}

export interface ApiPartOptions {
  /** `host:port` of the REST API. */
  readonly listen: string;
  /** When `listen` is taken, listen on a free port of the same host instead (the local stack's defaults). */
  readonly freePortIfTaken?: boolean;
  /** Static bearer tokens. */
  readonly staticTokens?: StaticToken[];
  /** Static tokens from this Secret in `namespace` too, re-read every 60 s. */
  readonly tokensSecret?: string;
  /** Kubernetes tokens checked by a TokenReview, mapped to a role by user or group. */
  readonly tokenReview?: { readonly admin: RoleBinding; readonly read: RoleBinding };
  /** Readiness (default: the API server answers `GET /version`). */
  readonly ready?: ReadyCheck;
}

export interface ProxyPartOptions {
  readonly config: ProxyConfig;
  /** For the EndpointSlice watches and TokenReview; without it only static endpoints work. */
  readonly kubeConfig?: KubeConfig;
  /** When `config.listen` is taken, listen on a free port instead. */
  readonly freePortIfTaken?: boolean;
}

export interface RunningController {
  readonly enforcer: Enforcer;
  readonly alerts: AlertStore;
  readonly baselines: BaselineViewPort;
  readonly api: RunningApi;
  readonly hub: AgentHub | undefined;
  /** The hub's bound port (0 without a hub). */
  readonly hubPort: number;
  readonly proxy: RunningProxy | undefined;
  readonly telemetry: ControllerTelemetry | undefined;
  /** The Kubernetes Events of alerts and enforcement (with `k8sEvents`). */
  readonly events: { readonly recorder: EventRecorder; readonly violations: ViolationEvents } | undefined;
  /** What this controller counted (the telemetry's counters when it has them). */
  readonly counters: Counters;
  /** Which servers listen elsewhere than asked because the address was taken. */
  readonly moved: { readonly api: boolean; readonly proxy: boolean };
  /** Stops the loops (releasing the Lease), then the hub, the proxy, the API and telemetry. */
  stop(): Promise<void>;
}

/** Things to close, newest first; also what a failed start closes. */
class Closers {
  readonly #fns: (() => Promise<unknown>)[] = [];
  add(fn: () => Promise<unknown>): void {
    this.#fns.unshift(fn);
  }
  /** Runs every one (a failure does not stop the rest); rejects with the first failure. */
  async close(): Promise<void> {
    const failures: unknown[] = [];
    for (const fn of this.#fns.splice(0)) await fn().catch((err: unknown) => failures.push(err));
    const first = failures[0];
    if (first !== undefined) throw first instanceof Error ? first : new Error(errorMessage(first));
  }
}

/** Starts the controller's parts as `o` asks; see `ControllerOptions`. */
export async function createController(o: ControllerOptions): Promise<RunningController> {
  const closers = new Closers();
  const ac = new AbortController();
  closers.add(() => Promise.resolve(ac.abort()));
  try {
    return await start(o, closers, ac);
  } catch (err) {
    await closers.close().catch(() => undefined);
    throw err;
  }
}

/** The parts that decide: the enforcer, the Lease, the baselines and their fan-out. */
interface Decisions {
  readonly enforcer: Enforcer;
  readonly view: BaselineViewPort;
  readonly merge: BaselineMergePort | undefined;
  readonly fanout: MergedBaselineFanout | undefined;
  readonly lease: LeaseElector | undefined;
  readonly isLeader: () => boolean;
  readonly labelLoop: ((signal: AbortSignal) => Promise<void>) | undefined;
  readonly events: RunningController["events"];
  readonly counters: Counters;
}

/** The parts that listen. */
interface Servers {
  readonly alerts: AlertStore;
  readonly api: { value: RunningApi; moved: boolean };
  readonly proxy: { value: RunningProxy; moved: boolean } | undefined;
  readonly hubPort: number;
  readonly reloadTokens: (() => Promise<void>) | undefined;
}

async function start(
  o: ControllerOptions,
  closers: Closers,
  ac: AbortController,
): Promise<RunningController> {
  const { log } = o;
  const signal = ac.signal;
  // SIEM export and metrics first: their flags are checked before anything listens.
  const telemetry =
    o.telemetry === undefined
      ? undefined
      : await startTelemetry(o.telemetry.values, {
          identity: o.identity,
          namespace: o.namespace,
          version: o.version ?? "0.1.0",
          stderr: o.telemetry.stderr,
        });
  if (telemetry !== undefined) closers.add(() => telemetry.shutdown());
  const license = o.license;
  if (license !== undefined) {
    if (telemetry !== undefined) license.attach(telemetry.counters);
    // The baseline engine, once loaded, runs until the next start (a safe point): the gate says when.
    license.watch((module) =>
      log("warn", `${module}: turns off at the controller's next start`, {
        code: "HANGAR_ERR_LICENSE_REQUIRED",
      }),
    );
    closers.add(() => Promise.resolve(license.stop()));
  }
  // The hub exists only later; the fan-out and the Lease's follower reach it through this.
  const hubRef: { hub?: AgentHub } = {};
  const d = await decisions(o, hubRef, telemetry, closers, signal);
  const s = await startServers(o, d, hubRef, telemetry, closers, signal);
  const loops = [
    ...(d.lease !== undefined ? [d.lease.run(signal)] : []),
    d.enforcer.run(signal, 1000, (err) => log("error", "enforcement loop", { error: errorMessage(err) })),
  ];
  if (s.reloadTokens !== undefined) void every(60_000, signal, s.reloadTokens);
  if (d.labelLoop !== undefined) void d.labelLoop(signal);
  let stopped: Promise<void> | undefined;
  return {
    enforcer: d.enforcer,
    alerts: s.alerts,
    baselines: d.view,
    api: s.api.value,
    hub: hubRef.hub,
    hubPort: s.hubPort,
    proxy: s.proxy?.value,
    telemetry,
    events: d.events,
    counters: d.counters,
    moved: { api: s.api.moved, proxy: s.proxy?.moved ?? false },
    stop: () =>
      (stopped ??= (async () => {
        ac.abort();
        // The loops end at once; the Lease's release gets up to 5 s.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.all(loops), new Promise((r) => (timer = setTimeout(r, 5_000)))]);
        clearTimeout(timer);
        await closers.close();
      })()),
  };
}

async function decisions(
  o: ControllerOptions,
  hubRef: { hub?: AgentHub },
  telemetry: ControllerTelemetry | undefined,
  closers: Closers,
  signal: AbortSignal,
): Promise<Decisions> {
  const { kube, log } = o;
  const view = o.baselines?.view ?? new NoBaselineView();
  const merge = o.baselines?.merge;
  // Merged baselines go back to every agent hosting the provider (see hub/baselines.ts).
  const fanout =
    merge === undefined
      ? undefined
      : new MergedBaselineFanout({
          hub: { sendLatest: (node, key, message) => hubRef.hub?.sendLatest(node, key, message) ?? 0n },
          merge,
          onError: (err, provider) =>
            log("warn", "merged baseline not sent", {
              ...(provider !== undefined ? { provider } : {}),
              error: errorMessage(err),
            }),
        });
  await fanout?.load();
  if (fanout !== undefined) closers.add(() => Promise.resolve(fanout.close()));
  const lease =
    o.lease === undefined
      ? undefined
      : new LeaseElector({
          kube,
          namespace: o.namespace,
          identity: o.identity,
          leaseDurationSeconds: o.lease.durationSeconds,
        });
  const isLeader = (): boolean => lease?.isLeader() ?? true;
  const enforcer = new Enforcer({
    kube,
    store: o.store ?? new ConfigMapStore(kube, o.namespace),
    ...(o.policy !== undefined ? { config: o.policy } : {}),
    baseline: view,
    isLeader,
  });
  if (o.onEnforcement !== undefined) enforcer.onEvent(o.onEnforcement);
  const counters = telemetry?.counters ?? new Counters();
  const events =
    o.k8sEvents === undefined || o.k8sEvents === false ? undefined : violationEvents(o, counters, isLeader);
  if (events !== undefined) {
    enforcer.onEvent((e) => void events.violations.enforcement(e));
    closers.add(() => events.recorder.close());
  }
  if (telemetry !== undefined) {
    enforcer.onEvent((e) => telemetry.enforcement(e));
    telemetry.watchBaselines(view, signal);
    if (telemetry.metrics?.prometheusPort !== undefined)
      log("info", "Prometheus metrics listening", { prometheusPort: telemetry.metrics.prometheusPort });
  }
  const leadership =
    lease === undefined || o.lease === undefined
      ? undefined
      : followLease({ lease, kube, namespace: o.namespace, pod: o.lease.pod, hub: () => hubRef.hub, log });
  return {
    enforcer,
    view,
    merge,
    fanout,
    lease,
    isLeader,
    labelLoop: leadership?.labelLoop,
    events,
    counters,
  };
}

async function startServers(
  o: ControllerOptions,
  d: Decisions,
  hubRef: { hub?: AgentHub },
  telemetry: ControllerTelemetry | undefined,
  closers: Closers,
  signal: AbortSignal,
): Promise<Servers> {
  const { kube, log } = o;
  const auth = new Authenticator({
    ...(o.api.staticTokens !== undefined ? { staticTokens: o.api.staticTokens } : {}),
    ...(o.api.tokenReview !== undefined ? { tokenReview: { kube, roles: o.api.tokenReview } } : {}),
  });
  const reloadTokens = secretTokens(o, auth);
  await reloadTokens?.();
  const alerts = new AlertStore(o.alerts ?? {});
  const recentIds = new RecentIds();
  telemetry?.observeAlerts(alerts, recentIds);
  let hubPort = 0;
  if (o.hub !== undefined) {
    const { enforcer, merge, fanout } = d;
    const events = d.events?.violations;
    const started = await startHub(o.hub, {
      kube,
      alerts,
      recentIds,
      enforcer,
      merge,
      fanout,
      telemetry,
      events,
      log,
      signal,
    });
    const hub = started.hub;
    hubRef.hub = hub;
    hubPort = started.port;
    closers.add(() => hub.stop());
    telemetry?.observeHub(hub);
  }
  const proxy = o.proxy === undefined ? undefined : await startProxyPart(o.proxy, d.isLeader, log);
  if (proxy !== undefined) {
    closers.add(() => proxy.value.close());
    const feed = proxy.value.proxy.feed;
    // Call durations for the metrics (a subscription of its own, only when metrics are on).
    if (telemetry?.metrics !== undefined) telemetry.watchCalls(feed.subscribe(signal));
    telemetry?.observeProxy(proxy.value.proxy);
    // With replicas, `routed` has this replica's traces while it leads and those the other
    // replicas hand to it (the leader's Service is their collector); else it is `feed`.
    if (hubRef.hub !== undefined)
      void routeCallTraces(proxy.value.routed.subscribe(signal), hubRef.hub, (provider, node) =>
        d.fanout?.hosted(provider, node),
      );
  }
  const api = await listenOrFreePort(o.api.listen, o.api.freePortIfTaken === true, (listen) =>
    startApi({
      listen,
      enforcer: d.enforcer,
      alerts,
      baseline: d.view,
      auth,
      isLeader: d.isLeader,
      ready: o.api.ready ?? (() => kubeReady(kube)),
      ...(telemetry !== undefined ? { follow: { counters: telemetry.counters } } : {}),
    }),
  );
  closers.add(() => api.value.close());
  log("info", "REST API listening", {
    api: api.value.url,
    identity: o.identity,
    namespace: o.namespace,
    mode: d.enforcer.config.mode,
  });
  return { alerts, api, proxy, hubPort, reloadTokens };
}

/** The recorder of Kubernetes Events and the mapping of alerts and enforcement onto it. */
function violationEvents(
  o: ControllerOptions,
  counters: Counters,
  isLeader: () => boolean,
): NonNullable<RunningController["events"]> {
  const { kube, log } = o;
  const recorder = new EventRecorder({
    ...(typeof o.k8sEvents === "object" ? o.k8sEvents : {}),
    kube,
    counters,
    instance: o.lease?.pod ?? o.identity,
    onError: (err, e) =>
      log("warn", "Kubernetes Event not written", {
        reason: e.reason,
        pod: `${e.regarding.namespace}/${e.regarding.name}`,
        error: errorMessage(err),
      }),
  });
  const violations = new ViolationEvents({
    recorder,
    kube,
    isLeader,
    noPod: () => counters.inc("k8s_events_dropped", { reason: "no_pod" }),
    onError: (err) =>
      log("warn", "Kubernetes Event of an enforcement not written", { error: errorMessage(err) }),
  });
  return { recorder, violations };
}

/** The static tokens of `o.api.tokensSecret` into `auth` (a failure is logged, the old ones stay). */
function secretTokens(o: ControllerOptions, auth: Authenticator): (() => Promise<void>) | undefined {
  const secret = o.api.tokensSecret;
  // eslint-disable-next-line security/detect-possible-timing-attacks -- compares with undefined (is it configured), not a secret
  if (secret === undefined) return undefined;
  return async () => {
    try {
      auth.setStaticTokens(await loadStaticTokens(o.kube, o.namespace, secret));
    } catch (err) {
      o.log("warn", "static API tokens not loaded", { error: errorMessage(err) });
    }
  };
}

async function startProxyPart(
  p: ProxyPartOptions,
  isLeader: () => boolean,
  log: ControllerLog,
): Promise<{ value: RunningProxy; moved: boolean }> {
  const proxy = await listenOrFreePort(
    p.config.listen ?? "0.0.0.0:8080",
    p.freePortIfTaken === true,
    (listen) =>
      startProxy({
        config: { ...p.config, listen },
        ...(p.kubeConfig !== undefined ? { kubeConfig: p.kubeConfig } : {}),
        onError: (err) => log("warn", "proxy discovery", { error: err.message }),
        isLeader,
      }),
  );
  log("info", "MCP proxy listening", { proxy: proxy.value.url });
  return proxy;
}

/** Ready when the API server answers `GET /version`. */
async function kubeReady(kube: KubeApi): ReturnType<ReadyCheck> {
  const res = await kube
    .send({ method: "GET", path: "/version" })
    .catch((e: unknown) => ({ status: 0, body: String(e) }));
  return {
    ready: res.status === 200,
    checks: { kubernetes: res.status === 200 ? "ok" : `GET /version: ${String(res.status)}` },
  };
}

/** Runs `fn` every `ms` until `signal` aborts. */
async function every(ms: number, signal: AbortSignal, fn: () => Promise<void>): Promise<void> {
  while (!signal.aborted) {
    await new Promise((r) => setTimeout(r, ms).unref());
    if (!signal.aborted) await fn();
  }
}
