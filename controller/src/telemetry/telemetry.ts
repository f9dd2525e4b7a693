/**
 * The controller's SIEM export and metrics, with the code the agent uses too (@hangar/export):
 * the same CEF/LEEF/JSON encoders, syslog transports, batch processors and disk spools
 * (`SiemSink`), and the same OpenTelemetry MeterProvider (OTLP/gRPC push and a Prometheus
 * endpoint, `startMetrics`) under `service.name=hangar-controller`.
 *
 * What goes out: every alert the hub receives from an agent (once: redeliveries are dropped
 * before this) and every enforcement event the enforcer records. Metrics: enforcement events
 * by action and outcome, baseline state per provider (read from the baseline view every
 * 30 s), MCP proxy call durations by provider/tool/outcome (from the proxy's call traces),
 * hub messages by kind and outbox depth, and the SIEM destinations' counters and queues.
 * docs/reference/siem-export.md and docs/reference/metrics.md describe both.
 */
import { Writable } from "node:stream";
import { Counters } from "@hangar/core";
import { parseSiemUrl, SiemSink, startMetrics, type AgentMetrics } from "@hangar/export";
import type { hangar } from "@hangar/proto";
import { pino } from "pino";
import type { BaselineViewPort } from "../baselines/baselines.js";
import { ControllerError } from "../errors.js";
import type { EnforcementEventJson } from "../enforce/engine.js";
import { toProtoEvent } from "../enforce/event.js";

export const TELEMETRY_OPTIONS = {
  siem: { type: "string", multiple: true },
  "spool-dir": { type: "string" },
  "otlp-endpoint": { type: "string" },
  "otlp-interval-ms": { type: "string" },
  "otlp-ca": { type: "string" },
  "otlp-cert": { type: "string" },
  "otlp-key": { type: "string" },
  "prometheus-port": { type: "string" },
} as const;

export const TELEMETRY_USAGE = `SIEM export and metrics (docs/reference/siem-export.md, metrics.md):
  --siem URL               send every alert the hub receives and every enforcement event
                           to this destination (repeatable), e.g.
                             tcp://siem.example:514?format=cef&framing=lf
                             tls://siem.example:6514?ca=FILE&cert=FILE&key=FILE
                             udp://qradar.example:514?format=leef   file:///var/log/hangar/events.jsonl
                           (the same URL parameters as hangar-agent run --siem)
  --spool-dir DIR          disk spool root of network destinations, one subdirectory each
                           (default /var/lib/hangar-controller/spool)
  --otlp-endpoint URL      export metrics over OTLP/gRPC (http://collector:4317; https:// for
                           TLS); default $OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
  --otlp-interval-ms N     export interval (default 30000)
  --otlp-ca FILE, --otlp-cert FILE, --otlp-key FILE
                           TLS files for an https:// endpoint
  --prometheus-port N      serve GET /metrics for Prometheus on this port (0 = any free port)
`;

export type TelemetryValues = Partial<Record<keyof typeof TELEMETRY_OPTIONS, string | string[] | undefined>>;

export interface TelemetryContext {
  /** Syslog HOSTNAME of the records and `k8s.pod.name` when $POD_NAME is not set. */
  readonly identity: string;
  readonly namespace: string;
  readonly version: string;
  /** Where the SIEM export logs (JSON lines, like the rest of serve's log). */
  readonly stderr: (s: string) => void;
}

export interface ControllerTelemetry {
  readonly counters: Counters;
  readonly siem: SiemSink | undefined;
  readonly metrics: AgentMetrics | undefined;
  /** An alert the hub accepted (already deduplicated). */
  alert(alert: hangar.Alert): void;
  /** An enforcement event the enforcer recorded. */
  enforcement(event: EnforcementEventJson): void;
  /** Hub counters (messages by kind) and the controller→agent outbox depth. */
  observeHub(hub: { stats: { get(name: string): number }; outboxDepth?: () => number }): void;
  /** The MCP proxy's refusals (`hangar.proxy.requests.refused`), read at collection time. */
  observeProxy(proxy: {
    providers: readonly string[];
    stats: { get(name: string, labels: Readonly<Record<string, string>>): number };
  }): void;
  /** The alert store's size and evictions, and the window of alert ids kept for deduplication. */
  observeAlerts(
    store: { readonly size: number; readonly dropped: number },
    ids: { readonly size: number; readonly forgotten: number },
  ): void;
  /** Baseline state per provider, read now and every `everyMs` until `signal` aborts. */
  watchBaselines(view: BaselineViewPort, signal: AbortSignal, everyMs?: number): void;
  /** Proxy call durations from a stream of call traces, until it ends. */
  watchCalls(traces: AsyncIterable<hangar.CallTrace>): void;
  shutdown(): Promise<void>;
}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new ControllerError(
      "HANGAR_ERR_CONFIG_INVALID",
      `serve: --${name} must be an integer ≥ ${min}, got "${v}"`,
    );
  return n;
}

/** Why the MCP proxy refuses a request (ProxyStats `requests_refused` reasons). */
const PROXY_REFUSALS = ["duplicate_id", "batch", "sessions_per_caller"] as const;

const HUB_KINDS: Readonly<Record<string, string>> = {
  hub_alerts: "alert",
  hub_enforcement_requests: "enforcement_request",
  hub_baseline_deltas: "baseline_delta",
  hub_duplicates: "duplicate",
};

/** Starts the SIEM destinations and the metrics the flags ask for (none: a no-op). */
export async function startTelemetry(
  v: TelemetryValues,
  ctx: TelemetryContext,
): Promise<ControllerTelemetry> {
  const str = (k: keyof TelemetryValues): string | undefined => {
    const x = v[k];
    return typeof x === "string" ? x : undefined;
  };
  // Flags first: nothing starts when one of them is wrong.
  const endpoint = str("otlp-endpoint") ?? process.env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"];
  const promPort = int("prometheus-port", str("prometheus-port"), 0);
  const interval = int("otlp-interval-ms", str("otlp-interval-ms"), 100);
  const counters = new Counters();
  const logger = pino(
    {
      base: null,
      messageKey: "msg",
      formatters: { level: (label: string) => ({ level: label }) },
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
    },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        ctx.stderr(chunk.toString());
        cb();
      },
    }),
  );
  const urls = (v.siem as string[] | undefined) ?? [];
  let siem: SiemSink | undefined;
  if (urls.length > 0) {
    const root = str("spool-dir") ?? "/var/lib/hangar-controller/spool";
    // Errors name the URL and the parameter (HANGAR_ERR_CONFIG_INVALID, docs/reference/errors.md).
    const destinations = urls.map((u, i) => {
      const c = parseSiemUrl(u, root, i);
      return { ...c, cef: { ...c.cef, product: "hangar-controller", version: ctx.version } };
    });
    siem = await SiemSink.start({
      destinations,
      hostname: ctx.identity,
      appName: "hangar-controller",
      counters,
      logger,
    });
  }

  let metrics: AgentMetrics | undefined;
  if (endpoint !== undefined || promPort !== undefined) {
    const pod = process.env["POD_NAME"];
    try {
      metrics = await startMetrics({
        counters,
        serviceName: "hangar-controller",
        serviceVersion: ctx.version,
        resource: {
          "k8s.pod.name": pod !== undefined && pod !== "" ? pod : ctx.identity,
          "k8s.namespace.name": ctx.namespace,
          ...(process.env["NODE_NAME"] !== undefined && process.env["NODE_NAME"] !== ""
            ? { "k8s.node.name": process.env["NODE_NAME"] }
            : {}),
        },
        ...(endpoint === undefined
          ? {}
          : {
              otlp: {
                endpoint,
                ...(interval === undefined ? {} : { intervalMs: interval }),
                ...(str("otlp-ca") === undefined ? {} : { caFile: str("otlp-ca") as string }),
                ...(str("otlp-cert") === undefined ? {} : { certFile: str("otlp-cert") as string }),
                ...(str("otlp-key") === undefined ? {} : { keyFile: str("otlp-key") as string }),
              },
            }),
        ...(promPort === undefined ? {} : { prometheus: { port: promPort } }),
      });
    } catch (err) {
      await siem?.shutdown();
      throw err;
    }
  }

  const timers: NodeJS.Timeout[] = [];
  return {
    counters,
    siem,
    metrics,
    alert(a) {
      siem?.write(a);
    },
    enforcement(e) {
      metrics?.recordEnforcement(e.action, e.outcome);
      // A pending record has no outcome yet; its audited/applied/refused event follows.
      if (e.outcome !== "pending") siem?.writeEnforcement(toProtoEvent(e));
    },
    observeHub(hub) {
      for (const [stat, kind] of Object.entries(HUB_KINDS))
        counters.gauge("hub_messages", { kind }, () => hub.stats.get(stat));
      const depth = hub.outboxDepth;
      if (depth !== undefined)
        counters.gauge("queue_depth", { queue: "hub_to_agents" }, () => depth.call(hub));
    },
    observeProxy(proxy) {
      for (const provider of proxy.providers)
        for (const reason of PROXY_REFUSALS)
          counters.gauge("proxy_requests_refused", { provider, reason }, () =>
            proxy.stats.get("requests_refused", { provider, reason }),
          );
    },
    observeAlerts(store, ids) {
      counters.gauge("queue_depth", { queue: "alert_store" }, () => store.size);
      counters.gauge("queue_dropped", { queue: "alert_store", reason: "evicted" }, () => store.dropped);
      counters.gauge("queue_depth", { queue: "alert_ids" }, () => ids.size);
    },
    watchBaselines(view, signal, everyMs = 30_000) {
      if (metrics === undefined) return;
      const m = metrics;
      const read = (): void => {
        view.providers().then(
          (ps) => {
            for (const p of ps) m.setBaselineState(p.provider, p.state);
          },
          (err: unknown) =>
            logger.warn({ err: err instanceof Error ? err.message : String(err) }, "baseline state not read"),
        );
      };
      read();
      const t = setInterval(read, everyMs);
      t.unref();
      timers.push(t);
      signal.addEventListener("abort", () => clearInterval(t), { once: true });
    },
    watchCalls(traces) {
      if (metrics === undefined) return;
      const m = metrics;
      void (async () => {
        for await (const t of traces) m.observeTrace(t);
      })();
    },
    async shutdown() {
      for (const t of timers) clearInterval(t);
      await siem?.shutdown();
      await metrics?.shutdown();
    },
  };
}
