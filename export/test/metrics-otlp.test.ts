/**
 * Metrics over real protocols: a grpc-js server implementing the OTLP MetricsService (decoding
 * with the proto subset in @hangar/proto) receives what @opentelemetry/exporter-metrics-otlp-grpc
 * sends, and a Prometheus scrape over HTTP reads the same instruments.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ServerCredentials } from "@grpc/grpc-js";
import { hangar, otlp } from "@hangar/proto";
import { startMetrics, MCP_DURATION_BUCKETS, type AgentMetrics } from "../src/metrics/metrics.js";
import { Counters, BoundedQueue } from "@hangar/core";
import { otlpAttributes, startOtlpReceiver } from "@hangar/testkit";

type Req = otlp.ExportMetricsServiceRequest;

function metricsOf(req: Req): Map<string, otlp.Metric> {
  const out = new Map<string, otlp.Metric>();
  for (const rm of req.resourceMetrics)
    for (const sm of rm.scopeMetrics) for (const m of sm.metrics) out.set(m.name, m);
  return out;
}

describe("agent metrics", () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let metrics: AgentMetrics;
  const counters = new Counters();
  before(async () => {
    receiver = await startOtlpReceiver();
    counters.inc("events", { sensor: "tetragon", kind: "exec" }, 5);
    counters.inc("events", { sensor: "hubble", kind: "flow" }, 3);
    counters.inc("dropped", { reason: "not_mcp_pod" }, 7);
    counters.inc("queue_dropped", { queue: "tetragon", reason: "full" }, 2);
    counters.inc("sensor_lost_events", { sensor: "tetragon", reason: "rate_limit_info" }, 11);
    counters.inc("alerts", { rule: "hangar.exfil.shell", severity: "high" }, 2);
    counters.set("siem_queue_depth", 4, { destination: "tcp-siem" });
    counters.inc("siem_sent", { destination: "tcp-siem" }, 9);
    // A sensor's intake queue reports its depth when read; the hub outbox its own.
    const intake = new BoundedQueue<number>({ capacity: 8, name: "tetragon", counters });
    intake.push(1);
    intake.push(2);
    counters.set("queue_depth", 6, { queue: "hub_outbox" });
    counters.set("hub_outbox_bytes", 4096);
    counters.inc("hub_outbox_dropped", { reason: "overflow" }, 3);
    metrics = await startMetrics({
      counters,
      serviceVersion: "0.1.0",
      resource: {
        "k8s.node.name": "node-a",
        "k8s.pod.name": "hangar-agent-x1",
        "k8s.namespace.name": "hangar",
      },
      otlp: { endpoint: `http://127.0.0.1:${receiver.port}`, intervalMs: 60_000 },
      prometheus: { port: 0, host: "127.0.0.1" },
    });
    metrics.recordCall("weather", "tools/call", "get_forecast", "ok", 0.03);
    metrics.recordCall("weather", "tools/call", "get_forecast", "error", 1.5);
    metrics.recordEnforcement("block_egress", "audited");
    metrics.setBaselineState("weather", "enforcing");
    metrics.observeStats(() => ({ events: 42, partials: 3, suppressed: { "r.noisy": 2 }, note: "text" }));
    metrics.observeEvent(
      create(hangar.RuntimeEventSchema, {
        kind: hangar.EventKind.TOOL_CALL,
        provider: "db",
        detail: {
          case: "toolCall",
          value: create(hangar.ToolCallDetailSchema, {
            trace: create(hangar.CallTraceSchema, {
              provider: "db",
              method: "tools/call",
              tool: "run_query",
              status: hangar.CallStatus.OK,
              startTime: timestampFromMs(1_000),
              endTime: timestampFromMs(1_250),
            }),
          }),
        },
      }),
    );
  });
  after(async () => {
    await metrics.shutdown();
    await receiver.stop();
  });

  it("OTLP/gRPC: a real receiver gets the instruments with names, attributes and resource", async () => {
    await metrics.forceFlush();
    const req = receiver.requests.at(-1);
    assert.ok(req, "the receiver got an Export request");
    const rm = req.resourceMetrics[0];
    assert.ok(rm?.resource);
    const res = otlpAttributes(rm.resource.attributes);
    assert.equal(res["service.name"], "hangar-agent");
    assert.equal(res["service.version"], "0.1.0");
    assert.equal(res["service.namespace"], "mcp-hangar");
    assert.equal(res["k8s.node.name"], "node-a");
    assert.equal(res["k8s.pod.name"], "hangar-agent-x1");
    assert.equal(res["telemetry.sdk.language"], "nodejs");
    assert.equal(rm.scopeMetrics[0]?.scope?.name, "@hangar/agent");

    const m = metricsOf(req);
    const sumPoints = (name: string): { a: Record<string, unknown>; v: unknown }[] => {
      const metric = m.get(name);
      assert.ok(metric, `metric ${name} exported (got ${[...m.keys()].join(", ")})`);
      assert.ok(metric.data.case === "sum" || metric.data.case === "gauge", `${name} is a sum or gauge`);
      return metric.data.value.dataPoints.map((p) => ({ a: otlpAttributes(p.attributes), v: p.value.value }));
    };
    const events = m.get("hangar.agent.events");
    assert.equal(events?.data.case, "sum");
    if (events?.data.case === "sum") {
      assert.equal(events.data.value.isMonotonic, true);
      assert.equal(events.data.value.aggregationTemporality, otlp.AggregationTemporality.CUMULATIVE);
    }
    assert.deepEqual(
      sumPoints("hangar.agent.events").sort((x, y) =>
        String(x.a["hangar.sensor"]).localeCompare(String(y.a["hangar.sensor"])),
      ),
      [
        { a: { "hangar.sensor": "hubble", "hangar.event.kind": "flow" }, v: 3n },
        { a: { "hangar.sensor": "tetragon", "hangar.event.kind": "exec" }, v: 5n },
      ],
    );
    assert.deepEqual(
      new Set(sumPoints("hangar.agent.drops").map((p) => JSON.stringify({ a: p.a, v: String(p.v) }))),
      new Set([
        JSON.stringify({ a: { "hangar.queue": "none", "hangar.reason": "not_mcp_pod" }, v: "7" }),
        JSON.stringify({ a: { "hangar.reason": "full", "hangar.queue": "tetragon" }, v: "2" }),
      ]),
    );
    assert.deepEqual(sumPoints("hangar.agent.sensor.lost_events"), [
      { a: { "hangar.sensor": "tetragon", "hangar.reason": "rate_limit_info" }, v: 11n },
    ]);
    assert.deepEqual(sumPoints("hangar.agent.alerts"), [
      { a: { "security_rule.name": "hangar.exfil.shell", "hangar.severity": "high" }, v: 2n },
    ]);
    assert.deepEqual(
      new Set(sumPoints("hangar.queue.depth").map((p) => `${String(p.a["hangar.queue"])}=${String(p.v)}`)),
      new Set(["siem:tcp-siem=4", "tetragon=2", "hub_outbox=6"]),
    );
    assert.deepEqual(sumPoints("hangar.hub.outbox.dropped"), [{ a: { "hangar.reason": "overflow" }, v: 3n }]);
    assert.deepEqual(sumPoints("hangar.hub.outbox.size"), [{ a: {}, v: 4096n }]);
    assert.deepEqual(
      new Set(
        sumPoints("hangar.detector.stats").map(
          (p) => `${String(p.a["hangar.detector.stat"])}=${String(p.v)}`,
        ),
      ),
      new Set(["events=42", "partials=3", "suppressed.r.noisy=2"]),
    );
    assert.deepEqual(sumPoints("hangar.siem.records.sent"), [
      { a: { "hangar.siem.destination": "tcp-siem" }, v: 9n },
    ]);
    assert.deepEqual(sumPoints("hangar.enforcement.events"), [
      { a: { "hangar.enforcement.action": "block_egress", "hangar.outcome": "audited" }, v: 1n },
    ]);
    assert.deepEqual(sumPoints("hangar.baseline.state"), [
      { a: { "hangar.provider": "weather", "hangar.baseline.state": "enforcing" }, v: 1n },
    ]);

    const hist = m.get("mcp.server.operation.duration");
    assert.equal(hist?.unit, "s");
    assert.equal(hist?.data.case, "histogram");
    if (hist?.data.case !== "histogram") return;
    const points = hist.data.value.dataPoints.map((p) => ({
      a: otlpAttributes(p.attributes),
      count: p.count,
      sum: p.sum,
      bounds: p.explicitBounds,
    }));
    const ok = points.find((p) => p.a["hangar.provider"] === "weather" && p.a["hangar.outcome"] === "ok");
    assert.deepEqual(ok?.a, {
      "hangar.provider": "weather",
      "mcp.method.name": "tools/call",
      "hangar.outcome": "ok",
      "gen_ai.tool.name": "get_forecast",
    });
    assert.equal(ok?.count, 1n);
    assert.deepEqual(ok?.bounds, MCP_DURATION_BUCKETS);
    const err = points.find((p) => p.a["hangar.outcome"] === "error");
    assert.equal(err?.a["error.type"], "error");
    assert.equal(err?.sum, 1.5);
    const fromEvent = points.find((p) => p.a["hangar.provider"] === "db");
    assert.equal(fromEvent?.a["gen_ai.tool.name"], "run_query");
    assert.equal(fromEvent?.sum, 0.25, "tool-call events from the proxy are timed");
  });

  it("Prometheus: a scrape of /metrics shows the same instruments", async () => {
    assert.ok(metrics.prometheusPort !== undefined && metrics.prometheusPort > 0);
    const res = await fetch(`http://127.0.0.1:${metrics.prometheusPort}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    const text = await res.text();
    const sample = (name: string, labels: Record<string, string>): number | undefined => {
      for (const line of text.split("\n")) {
        if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
          return Number(line.split(" ").at(-1));
      }
      return undefined;
    };
    assert.equal(
      sample("hangar_agent_events_total", { hangar_sensor: "tetragon", hangar_event_kind: "exec" }),
      5,
      text,
    );
    assert.equal(
      sample("hangar_agent_alerts_total", {
        security_rule_name: "hangar.exfil.shell",
        hangar_severity: "high",
      }),
      2,
    );
    assert.equal(sample("hangar_queue_depth", { hangar_queue: "siem:tcp-siem" }), 4);
    assert.equal(
      sample("mcp_server_operation_duration_count", {
        hangar_provider: "weather",
        hangar_outcome: "error",
      }),
      1,
    );
    // Resource attributes k8s.* become constant labels.
    assert.ok(text.includes('k8s_node_name="node-a"'), "k8s.node.name is a label");
    counters.inc("events", { sensor: "tetragon", kind: "exec" }, 1);
    const again = await (await fetch(`http://127.0.0.1:${metrics.prometheusPort}/metrics`)).text();
    assert.ok(again.includes("} 6"), "a second scrape sees the new count");
    const missing = await fetch(`http://127.0.0.1:${metrics.prometheusPort}/nope`);
    assert.equal(missing.status, 404);
    await missing.text();
  });

  it("OTLP/gRPC over TLS: the exporter verifies the receiver against --otlp-ca", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hangar-otlp-tls-"));
    try {
      const p = (f: string): string => join(dir, f);
      const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"];
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          ...ec,
          "-keyout",
          p("ca.key"),
          "-out",
          p("ca.crt"),
          "-subj",
          "/CN=otlp-test-ca",
          "-addext",
          "basicConstraints=critical,CA:TRUE",
          "-addext",
          "keyUsage=critical,keyCertSign",
        ],
        { stdio: "ignore" },
      );
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-CA",
          p("ca.crt"),
          "-CAkey",
          p("ca.key"),
          ...ec,
          "-keyout",
          p("srv.key"),
          "-out",
          p("srv.crt"),
          "-subj",
          "/CN=localhost",
          "-addext",
          "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        { stdio: "ignore" },
      );
      const tlsReceiver = await startOtlpReceiver(
        ServerCredentials.createSsl(null, [
          { private_key: readFileSync(p("srv.key")), cert_chain: readFileSync(p("srv.crt")) },
        ]),
      );
      const c = new Counters();
      c.inc("alerts", { rule: "r", severity: "low" });
      const m = await startMetrics({
        counters: c,
        serviceVersion: "0.1.0",
        resource: { "k8s.node.name": "node-tls" },
        otlp: { endpoint: `https://localhost:${tlsReceiver.port}`, intervalMs: 60_000, caFile: p("ca.crt") },
      });
      await m.forceFlush();
      await m.shutdown();
      await tlsReceiver.stop();
      const req = tlsReceiver.requests.at(-1);
      assert.ok(req, "the TLS receiver got an Export request");
      assert.ok(metricsOf(req).has("hangar.agent.alerts"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
