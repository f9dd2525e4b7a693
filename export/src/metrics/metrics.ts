/**
 * The agent's metrics: one OpenTelemetry MeterProvider whose instruments are exported over
 * OTLP/gRPC (@opentelemetry/exporter-metrics-otlp-grpc, periodic) and served for Prometheus
 * scrapes (@opentelemetry/exporter-prometheus, pull) — the same instruments, two readers.
 *
 * Most values already live in the pipeline's `Counters` (every stage counts there); observable
 * instruments read them at collection time, so the hot path pays nothing extra. Values that
 * are not counters (call durations, baseline state, enforcement) have their own methods.
 * Instrument names and attributes: docs/reference/metrics.md.
 */
import { createServer, type Server } from "node:http";
import { credentials as grpcCredentials } from "@grpc/grpc-js";
import { type Attributes, type Meter, type ObservableResult, ValueType } from "@opentelemetry/api";
import type { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-grpc";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricReader,
} from "@opentelemetry/sdk-metrics";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { ExportError } from "../errors.js";
import type { CounterName, Counters, RuntimeEvent } from "@hangar/core";
import type { hangar } from "@hangar/proto";

/** Attribute names of the GenAI/MCP semantic conventions, defined here (upstream moved them). */
export const MCP_ATTR = {
  methodName: "mcp.method.name",
  sessionId: "mcp.session.id",
  toolName: "gen_ai.tool.name",
  errorType: "error.type",
} as const;

/** Our own attribute names. */
export const HANGAR_ATTR = {
  provider: "hangar.provider",
  outcome: "hangar.outcome",
  sensor: "hangar.sensor",
  kind: "hangar.event.kind",
  reason: "hangar.reason",
  queue: "hangar.queue",
  rule: "security_rule.name",
  severity: "hangar.severity",
  action: "hangar.enforcement.action",
  destination: "hangar.siem.destination",
  state: "hangar.baseline.state",
  stat: "hangar.detector.stat",
  message: "hangar.hub.message.kind",
  status: "hangar.hub.status",
  licenseState: "hangar.license.state",
  module: "hangar.license.module",
  basis: "hangar.license.basis",
} as const;

/** Advised buckets for MCP operation durations, seconds. */
export const MCP_DURATION_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

export interface OtlpOptions {
  /** `http://host:4317` (plaintext) or `https://host:4317` (TLS). */
  readonly endpoint: string;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface MetricsOptions {
  readonly counters: Counters;
  /** `service.name` of the resource and the meter's name (default hangar-agent). */
  readonly serviceName?: string;
  readonly serviceVersion: string;
  /** Resource attributes: k8s.node.name, k8s.pod.name, k8s.namespace.name, ... */
  readonly resource: Readonly<Record<string, string>>;
  readonly otlp?: OtlpOptions;
  /** Serve GET /metrics for Prometheus on this port (0 = any free port). */
  readonly prometheus?: { readonly port: number; readonly host?: string };
}

export interface AgentMetrics {
  /** The port of the Prometheus endpoint, when one is served. */
  readonly prometheusPort: number | undefined;
  readonly meter: Meter;
  /** Records a proxied MCP call (seconds) by provider, tool and outcome. */
  recordCall(provider: string, method: string, tool: string, outcome: string, seconds: number): void;
  /** Counts one enforcement event. */
  recordEnforcement(action: string, outcome: string): void;
  /** The baseline state of a provider: learning, enforcing, ... */
  setBaselineState(provider: string, state: string): void;
  /** Looks at a pipeline event (tool-call events carry call durations). */
  observeEvent(ev: RuntimeEvent): void;
  /** Records a finished call trace of the MCP proxy (its duration, by provider, tool and outcome). */
  observeTrace(t: hangar.CallTrace, provider?: string): void;
  /**
   * Reads numeric statistics (e.g. the rule engine's `stats()`) at collection time, as the
   * gauge `hangar.detector.stats{hangar.detector.stat}`; nested records are flattened to `name.key`.
   */
  observeStats(read: () => Readonly<Record<string, unknown>>): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** A Counters key `name{a="x",b="y"}` → name and labels. */
export function parseCounterKey(key: string): { name: string; labels: Record<string, string> } {
  const brace = key.indexOf("{");
  if (brace < 0) return { name: key, labels: {} };
  const labels: Record<string, string> = {};
  for (const m of key.slice(brace + 1, -1).matchAll(/([A-Za-z0-9_]+)=("(?:[^"\\]|\\.)*")/g)) {
    // eslint-disable-next-line hangar/no-string-key-write -- string value; names match [A-Za-z0-9_]+ from our own counter keys
    if (m[1] !== undefined && m[2] !== undefined) labels[m[1]] = JSON.parse(m[2]) as string;
  }
  return { name: key.slice(0, brace), labels };
}

interface Mapping {
  readonly instrument: string;
  readonly description: string;
  readonly gauge?: boolean;
  readonly unit?: string;
  /** counter label → attribute name */
  readonly attrs: Readonly<Record<string, string>>;
  /** Extra constant attributes. */
  readonly fixed?: Readonly<Record<string, string>>;
}

/** Counters families exported as instruments. */
export const COUNTER_MAPPINGS: Readonly<Partial<Record<CounterName, Mapping>>> = {
  events: {
    instrument: "hangar.agent.events",
    description: "normalized runtime events, by sensor and kind",
    attrs: { sensor: HANGAR_ATTR.sensor, kind: HANGAR_ATTR.kind },
  },
  dropped: {
    instrument: "hangar.agent.drops",
    description: "records dropped, by reason",
    attrs: { reason: HANGAR_ATTR.reason },
    fixed: { [HANGAR_ATTR.queue]: "none" },
  },
  queue_dropped: {
    instrument: "hangar.agent.drops",
    description: "records dropped, by reason",
    attrs: { reason: HANGAR_ATTR.reason, queue: HANGAR_ATTR.queue },
  },
  sensor_lost_events: {
    instrument: "hangar.agent.sensor.lost_events",
    description: "events a sensor reported lost",
    attrs: { sensor: HANGAR_ATTR.sensor, reason: HANGAR_ATTR.reason },
  },
  sensor_messages: {
    instrument: "hangar.agent.sensor.messages",
    description: "messages received from sensor streams",
    attrs: { sensor: HANGAR_ATTR.sensor },
  },
  sensor_reconnects: {
    instrument: "hangar.agent.sensor.reconnects",
    description: "sensor stream losses followed by a retry",
    attrs: { sensor: HANGAR_ATTR.sensor },
  },
  alerts: {
    instrument: "hangar.agent.alerts",
    description: "alerts raised, by rule and severity",
    attrs: { rule: HANGAR_ATTR.rule, severity: HANGAR_ATTR.severity },
  },
  siem_sent: {
    instrument: "hangar.siem.records.sent",
    description: "records a SIEM destination confirmed",
    attrs: { destination: HANGAR_ATTR.destination },
  },
  siem_dropped: {
    instrument: "hangar.siem.records.dropped",
    description: "records a SIEM destination dropped, by reason",
    attrs: { destination: HANGAR_ATTR.destination, reason: HANGAR_ATTR.reason },
  },
  siem_spooled: {
    instrument: "hangar.siem.records.spooled",
    description: "records written to a SIEM destination's disk spool",
    attrs: { destination: HANGAR_ATTR.destination },
  },
  siem_send_errors: {
    instrument: "hangar.siem.send_errors",
    description: "failed sends to a SIEM destination",
    attrs: { destination: HANGAR_ATTR.destination },
  },
  siem_queue_depth: {
    instrument: "hangar.queue.depth",
    description: "records waiting in a queue",
    gauge: true,
    attrs: { destination: HANGAR_ATTR.queue },
  },
  queue_depth: {
    instrument: "hangar.queue.depth",
    description: "records waiting in a queue",
    gauge: true,
    attrs: { queue: HANGAR_ATTR.queue },
  },
  rule_updates: {
    instrument: "hangar.agent.rule_updates",
    description: "rule updates from the controller, by outcome (applied, rejected, no_engine)",
    attrs: { outcome: HANGAR_ATTR.outcome },
  },
  merged_baselines: {
    instrument: "hangar.agent.merged_baselines",
    description: "merged baselines from the controller, by outcome (adopted, rejected, no_store)",
    attrs: { outcome: HANGAR_ATTR.outcome },
  },
  hub_outbox_dropped: {
    instrument: "hangar.hub.outbox.dropped",
    description: "hub outbox messages dropped by its overflow policy, by reason",
    attrs: { reason: HANGAR_ATTR.reason },
  },
  hub_dead_letters: {
    instrument: "hangar.hub.dead_letters",
    description: "messages the controller's hub refused for good, set aside so the ones after them go on",
    attrs: { kind: HANGAR_ATTR.message, code: HANGAR_ATTR.status },
  },
  alerts_truncated: {
    instrument: "hangar.agent.alerts.truncated",
    description:
      "alerts and enforcement requests with fields cut to the size limits before they left the agent",
    attrs: { rule: HANGAR_ATTR.rule },
  },
  hub_outbox_bytes: {
    instrument: "hangar.hub.outbox.size",
    description: "bytes of the agent's disk outbox to the controller",
    gauge: true,
    unit: "By",
    attrs: {},
  },
  hub_messages: {
    instrument: "hangar.hub.messages",
    description: "messages the controller's hub handled, by kind",
    attrs: { kind: HANGAR_ATTR.message },
  },
  k8s_events: {
    instrument: "hangar.k8s.events",
    description: "Kubernetes Events the controller wrote on MCP pods, by outcome (created, updated, failed)",
    attrs: { outcome: HANGAR_ATTR.outcome },
  },
  k8s_events_dropped: {
    instrument: "hangar.k8s.events.dropped",
    description:
      "Kubernetes Events the controller did not write, by reason (rate_limited, queue_full, no_pod, shutdown)",
    attrs: { reason: HANGAR_ATTR.reason },
  },
  proxy_requests_refused: {
    instrument: "hangar.proxy.requests.refused",
    description:
      "MCP requests the proxy refused: duplicate_id (two requests of a batch with one id), batch (a batch under MCP 2025-06-18 or later), sessions_per_caller (an initialize over maxSessionsPerCaller)",
    attrs: { provider: HANGAR_ATTR.provider, reason: HANGAR_ATTR.reason },
  },
  siem_spool_records: {
    instrument: "hangar.siem.spool.records",
    description: "records in a SIEM destination's disk spool",
    gauge: true,
    attrs: { destination: HANGAR_ATTR.destination },
  },
  license_state: {
    instrument: "hangar.license.state",
    description:
      "1 for the license's current state (none, invalid, valid, expiring, grace, expired, wrong-cluster, over-cap, not-yet-valid), 0 for a former one",
    gauge: true,
    attrs: { state: HANGAR_ATTR.licenseState },
  },
  license_days_left: {
    instrument: "hangar.license.days_left",
    description: "whole days until the license expires (negative after); absent without a license",
    gauge: true,
    unit: "d",
    attrs: {},
  },
  license_module: {
    instrument: "hangar.license.module",
    description:
      "1 when an enterprise module runs, 0 when it is off, by module and basis (license, evaluation, development, small-production, none)",
    gauge: true,
    attrs: { module: HANGAR_ATTR.module, basis: HANGAR_ATTR.basis },
  },
  siem_spool_bytes: {
    instrument: "hangar.siem.spool.size",
    description: "bytes of a SIEM destination's disk spool",
    gauge: true,
    unit: "By",
    attrs: { destination: HANGAR_ATTR.destination },
  },
  api_followers_buffered: {
    instrument: "hangar.api.followers.buffered",
    description: "bytes waiting in the controller for REST API alert followers that have not read them",
    gauge: true,
    unit: "By",
    attrs: {},
  },
  api_followers_dropped: {
    instrument: "hangar.api.followers.dropped",
    description: "REST API alert followers dropped because they stopped reading, by reason",
    attrs: { reason: HANGAR_ATTR.reason },
  },
};

/** The mappings by the family name a snapshot key carries. */
const BY_FAMILY: Readonly<Record<string, Mapping | undefined>> = COUNTER_MAPPINGS;

function attributesFor(m: Mapping, labels: Record<string, string>): Attributes {
  const out: Attributes = { ...m.fixed };
  for (const [label, attr] of Object.entries(m.attrs)) {
    const v = labels[label];
    // eslint-disable-next-line hangar/no-string-key-write -- attr is an attribute name of the fixed COUNTER_MAPPINGS table, not input
    if (v !== undefined) out[attr] = label === "destination" && attr === HANGAR_ATTR.queue ? `siem:${v}` : v;
  }
  return out;
}

async function otlpExporter(o: OtlpOptions, readFile: (p: string) => Buffer): Promise<OTLPMetricExporter> {
  let url: URL;
  try {
    url = new URL(o.endpoint);
  } catch {
    throw new ExportError(
      "HANGAR_ERR_CONFIG_INVALID",
      `--otlp-endpoint must be a URL (http://host:4317), got "${o.endpoint}"`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ExportError(
      "HANGAR_ERR_CONFIG_INVALID",
      `--otlp-endpoint must be http:// or https://, got "${o.endpoint}"`,
    );
  }
  const tls = url.protocol === "https:";
  const creds = tls
    ? grpcCredentials.createSsl(
        o.caFile === undefined ? null : readFile(o.caFile),
        o.keyFile === undefined ? null : readFile(o.keyFile),
        o.certFile === undefined ? null : readFile(o.certFile),
      )
    : grpcCredentials.createInsecure();
  // Loaded only when configured: the OTLP exporter and its transformer are ~2 MiB of heap most nodes never use.
  const { OTLPMetricExporter } = await import("@opentelemetry/exporter-metrics-otlp-grpc");
  return new OTLPMetricExporter({
    url: o.endpoint,
    credentials: creds,
    temporalityPreference: AggregationTemporality.CUMULATIVE,
    ...(o.timeoutMs === undefined ? {} : { timeoutMillis: o.timeoutMs }),
  });
}

export async function startMetrics(o: MetricsOptions): Promise<AgentMetrics> {
  const { readFileSync } = await import("node:fs");
  const readers: MetricReader[] = [];
  if (o.otlp !== undefined) {
    const interval = o.otlp.intervalMs ?? 30_000;
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: await otlpExporter(o.otlp, (p) => {
          try {
            return readFileSync(p);
          } catch (err) {
            throw ExportError.from(err, "HANGAR_ERR_CONFIG_INVALID", `reading OTLP TLS file ${p}`);
          }
        }),
        exportIntervalMillis: interval,
        exportTimeoutMillis: Math.min(interval, o.otlp.timeoutMs ?? 10_000),
      }),
    );
  }
  let prometheus: PrometheusExporter | undefined;
  let server: Server | undefined;
  if (o.prometheus !== undefined) {
    prometheus = new PrometheusExporter({ preventServerStart: true, withResourceConstantLabels: /^k8s\./ });
    readers.push(prometheus);
  }
  const provider = new MeterProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: o.serviceName ?? "hangar-agent",
        [ATTR_SERVICE_VERSION]: o.serviceVersion,
        "service.namespace": "mcp-hangar",
        ...o.resource,
      }),
    ),
    readers,
  });
  const meter = provider.getMeter(
    o.serviceName === undefined || o.serviceName === "hangar-agent" ? "@hangar/agent" : o.serviceName,
    o.serviceVersion,
  );

  // Observable instruments over the Counters families.
  const byInstrument = new Map<string, { mapping: Mapping; families: string[] }>();
  for (const [family, mapping] of Object.entries(COUNTER_MAPPINGS)) {
    const e = byInstrument.get(mapping.instrument);
    if (e === undefined) byInstrument.set(mapping.instrument, { mapping, families: [family] });
    else e.families.push(family);
  }
  for (const [name, { mapping, families }] of byInstrument) {
    const opts = {
      description: mapping.description,
      valueType: ValueType.INT,
      ...(mapping.unit === undefined ? {} : { unit: mapping.unit }),
    };
    const instrument =
      mapping.gauge === true
        ? meter.createObservableGauge(name, opts)
        : meter.createObservableCounter(name, opts);
    const fams = new Set(families);
    instrument.addCallback((result: ObservableResult) => {
      for (const [key, value] of Object.entries(o.counters.snapshot())) {
        const { name: family, labels } = parseCounterKey(key);
        if (!fams.has(family)) continue;
        const m = BY_FAMILY[family];
        if (m !== undefined) result.observe(value, attributesFor(m, labels));
      }
    });
  }

  const callDuration = meter.createHistogram("mcp.server.operation.duration", {
    description: "duration of MCP requests through the proxy, by provider, tool and outcome",
    unit: "s",
    advice: { explicitBucketBoundaries: MCP_DURATION_BUCKETS },
  });
  const enforcement = meter.createCounter("hangar.enforcement.events", {
    description: "enforcement events, by action and outcome",
    valueType: ValueType.INT,
  });
  const baseline = new Map<string, string>();
  meter
    .createObservableGauge("hangar.baseline.state", {
      description: "1 for the current baseline state of each provider",
      valueType: ValueType.INT,
    })
    .addCallback((r) => {
      for (const [p, s] of baseline) r.observe(1, { [HANGAR_ATTR.provider]: p, [HANGAR_ATTR.state]: s });
    });

  const recordCall = (
    provider: string,
    method: string,
    tool: string,
    outcome: string,
    seconds: number,
  ): void => {
    const attrs: Attributes = {
      [HANGAR_ATTR.provider]: provider,
      [MCP_ATTR.methodName]: method,
      [HANGAR_ATTR.outcome]: outcome,
    };
    if (tool !== "") attrs[MCP_ATTR.toolName] = tool;
    if (outcome !== "ok") attrs[MCP_ATTR.errorType] = outcome;
    callDuration.record(seconds, attrs);
  };

  const statsReaders: (() => Readonly<Record<string, unknown>>)[] = [];
  meter
    .createObservableGauge("hangar.detector.stats", {
      description: "the rule engine's statistics (events, partial matches, timers, evictions, ...)",
      valueType: ValueType.INT,
    })
    .addCallback((r) => {
      for (const read of statsReaders) {
        let stats: Readonly<Record<string, unknown>>;
        try {
          stats = read();
        } catch {
          continue;
        }
        for (const [k, v] of Object.entries(stats)) {
          if (typeof v === "number") r.observe(v, { [HANGAR_ATTR.stat]: k });
          else if (v !== null && typeof v === "object")
            for (const [k2, v2] of Object.entries(v as Record<string, unknown>))
              if (typeof v2 === "number") r.observe(v2, { [HANGAR_ATTR.stat]: `${k}.${k2}` });
        }
      }
    });

  const traceStatus = ["unspecified", "ok", "error", "denied", "timeout", "cancelled"];
  const observeTrace = (t: hangar.CallTrace, fallbackProvider = ""): void => {
    if (t.startTime === undefined || t.endTime === undefined) return;
    const seconds =
      Number(t.endTime.seconds - t.startTime.seconds) + (t.endTime.nanos - t.startTime.nanos) / 1e9;
    recordCall(
      t.provider !== "" ? t.provider : fallbackProvider,
      t.method,
      t.tool,
      traceStatus[t.status] ?? "unspecified",
      Math.max(0, seconds),
    );
  };

  if (prometheus !== undefined && o.prometheus !== undefined) {
    const exporter = prometheus;
    const srv = createServer((req, res) => {
      if (req.url === "/metrics" || req.url?.startsWith("/metrics?") === true)
        exporter.getMetricsRequestHandler(req, res);
      else {
        res.statusCode = 404;
        res.end("not found; metrics are at /metrics\n");
      }
    });
    await new Promise<void>((resolve, reject) => {
      srv.once("error", (err) =>
        reject(
          ExportError.from(err, "HANGAR_ERR_METRICS", `Prometheus endpoint on port ${o.prometheus?.port}`),
        ),
      );
      srv.listen(o.prometheus?.port ?? 9464, o.prometheus?.host ?? "0.0.0.0", () => resolve());
    });
    server = srv;
  }
  const addr = server?.address();
  return {
    prometheusPort: addr !== undefined && addr !== null && typeof addr !== "string" ? addr.port : undefined,
    meter,
    recordCall,
    recordEnforcement(action, outcome) {
      enforcement.add(1, { [HANGAR_ATTR.action]: action, [HANGAR_ATTR.outcome]: outcome });
    },
    setBaselineState(p, s) {
      baseline.set(p, s);
    },
    observeEvent(ev) {
      if (ev.detail.case !== "toolCall") return;
      const t = ev.detail.value.trace;
      if (t !== undefined) observeTrace(t, ev.provider);
    },
    observeTrace,
    observeStats(read) {
      statsReaders.push(read);
    },
    forceFlush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown();
      if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
