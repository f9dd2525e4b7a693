/** The `hangar-agent run` options for metrics (kept here so run.ts only wires them in). */
import { type Counters, intOption } from "@hangar/core";
import { startMetrics, type AgentMetrics } from "./metrics.js";

export const METRICS_HELP = `Metrics (docs/reference/metrics.md):
  --otlp-endpoint URL      export metrics over OTLP/gRPC to URL (http://collector:4317;
                           https:// for TLS); default $OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
  --otlp-interval-ms N     export interval (default 30000)
  --otlp-ca FILE, --otlp-cert FILE, --otlp-key FILE
                           TLS files for an https:// endpoint
  --prometheus-port N      serve GET /metrics for Prometheus on this port (0 = any free port)
`;

export const METRICS_OPTIONS = {
  "otlp-endpoint": { type: "string" },
  "otlp-interval-ms": { type: "string" },
  "otlp-ca": { type: "string" },
  "otlp-cert": { type: "string" },
  "otlp-key": { type: "string" },
  "prometheus-port": { type: "string" },
} as const;

export interface MetricsArgs {
  "otlp-endpoint"?: string;
  "otlp-interval-ms"?: string;
  "otlp-ca"?: string;
  "otlp-cert"?: string;
  "otlp-key"?: string;
  "prometheus-port"?: string;
}

/** Starts metrics when an OTLP endpoint or a Prometheus port is asked for. */
export async function metricsFromArgs(
  v: MetricsArgs,
  ctx: { node: string; counters: Counters; version: string },
): Promise<AgentMetrics | undefined> {
  const endpoint = v["otlp-endpoint"] ?? process.env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"];
  const promPort = intOption("run", "prometheus-port", v["prometheus-port"], 0);
  const interval = intOption("run", "otlp-interval-ms", v["otlp-interval-ms"], 100);
  if (endpoint === undefined && promPort === undefined) return undefined;
  const resource: Record<string, string> = { "k8s.node.name": ctx.node, "host.name": ctx.node };
  const pod = process.env["POD_NAME"];
  const ns = process.env["POD_NAMESPACE"];
  if (pod !== undefined && pod !== "") resource["k8s.pod.name"] = pod;
  if (ns !== undefined && ns !== "") resource["k8s.namespace.name"] = ns;
  return startMetrics({
    counters: ctx.counters,
    serviceVersion: ctx.version,
    resource,
    ...(endpoint === undefined
      ? {}
      : {
          otlp: {
            endpoint,
            ...(interval === undefined ? {} : { intervalMs: interval }),
            ...(v["otlp-ca"] === undefined ? {} : { caFile: v["otlp-ca"] }),
            ...(v["otlp-cert"] === undefined ? {} : { certFile: v["otlp-cert"] }),
            ...(v["otlp-key"] === undefined ? {} : { keyFile: v["otlp-key"] }),
          },
        }),
    ...(promPort === undefined ? {} : { prometheus: { port: promPort } }),
  });
}
