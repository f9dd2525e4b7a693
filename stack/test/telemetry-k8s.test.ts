/**
 * `hangar-controller serve --siem … --otlp-endpoint … --prometheus-port …` for real: a
 * control plane (kube-apiserver + etcd), an agent (the real HubClient with a projected token)
 * sending an alert and an enforcement request over gRPC, a real rsyslog parsing what the
 * controller exports as CEF (mmnormalize), a grpc-js OTLP MetricsService receiving the
 * metrics, and a Prometheus scrape of the same instruments.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar, otlp } from "@hangar/proto";
import { HubClient } from "@hangar/agent";
import {
  apiRequest,
  otlpAttributes,
  skipUnlessControlPlane,
  skipUnlessRsyslog,
  startControlPlane,
  startOtlpReceiver,
  startRsyslog,
  type ControlPlane,
  type Rsyslog,
  type RsyslogMessage,
  waitFor,
} from "@hangar/testkit";
import { startTestServer, type TestServer } from "@hangar/testkit/mcp";
import { runServeCli } from "@hangar/controller";
import { connect, ensureNamespace, providerPod } from "./helpers.js";

const skip = skipUnlessControlPlane() || skipUnlessRsyslog();

type OtlpReq = otlp.ExportMetricsServiceRequest;

/** Data points of one metric in one request: attributes and value. */
function points(req: OtlpReq, name: string): { attrs: Record<string, unknown>; value: number }[] {
  const out: { attrs: Record<string, unknown>; value: number }[] = [];
  for (const rm of req.resourceMetrics)
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics) {
        if (m.name !== name) continue;
        const dps = m.data.case === "sum" || m.data.case === "gauge" ? m.data.value.dataPoints : [];
        for (const dp of dps)
          out.push({
            attrs: otlpAttributes(dp.attributes),
            value: dp.value.case === "asInt" ? Number(dp.value.value) : Number(dp.value.value ?? 0),
          });
        if (m.data.case === "histogram")
          for (const dp of m.data.value.dataPoints)
            out.push({ attrs: otlpAttributes(dp.attributes), value: Number(dp.count) });
      }
  return out;
}

describe("hangar-controller serve: SIEM export and metrics", { skip }, () => {
  let cp: ControlPlane;
  let rs: Rsyslog;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let dir: string;
  const ac = new AbortController();
  let serving: Promise<number>;
  const out: string[] = [];
  const err: string[] = [];
  let hubPort = 0;
  let promPort = 0;
  let agent: HubClient;
  let mcp: TestServer;
  let proxyUrl = "";

  before(async () => {
    [cp, rs, receiver] = await Promise.all([startControlPlane(), startRsyslog(), startOtlpReceiver()]);
    await ensureNamespace(cp, "mcp");
    await ensureNamespace(cp, "hangar-system");
    await providerPod(cp, "mcp", "weather", "192.0.2.7:443");
    await apiRequest(cp, "POST", "/api/v1/namespaces/hangar-system/serviceaccounts", {
      body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "hangar-agent" } },
    });
    const tr = await apiRequest(
      cp,
      "POST",
      "/api/v1/namespaces/hangar-system/serviceaccounts/hangar-agent/token",
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { audiences: ["hangar-controller"] },
        },
      },
    );
    dir = mkdtempSync(join(tmpdir(), "hangar-telemetry-"));
    writeFileSync(join(dir, "token"), (tr.body as { status: { token: string } }).status.token);
    mcp = await startTestServer({ pod: "weather-0" });
    writeFileSync(
      join(dir, "proxy.json"),
      JSON.stringify({
        listen: "127.0.0.1:0",
        providers: [{ provider: "weather", namespace: "mcp", service: "weather" }],
        staticEndpoints: { weather: [{ url: mcp.url, pod: "weather-0", namespace: "mcp", node: "node-a" }] },
      }),
    );
    serving = runServeCli(
      [
        "--kubeconfig",
        cp.kubeconfigPath,
        "--namespace",
        "hangar-system",
        "--identity",
        "ctl-telemetry",
        "--api-listen",
        "127.0.0.1:0",
        "--hub-listen",
        "127.0.0.1:0",
        "--lease-duration",
        "2",
        "--tokens-secret",
        "none",
        "--siem",
        `tcp://127.0.0.1:${rs.ports.tcp}?framing=octet-counting&name=rsyslog&flush-ms=20`,
        "--spool-dir",
        join(dir, "spool"),
        "--otlp-endpoint",
        `http://127.0.0.1:${receiver.port}`,
        "--otlp-interval-ms",
        "300",
        "--prometheus-port",
        "0",
        "--proxy-config",
        join(dir, "proxy.json"),
      ],
      { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s) },
      ac.signal,
    );
    let api = "";
    await waitFor(
      "serve to listen",
      () => {
        for (const l of err.join("").split("\n")) {
          if (l === "") continue;
          const m = JSON.parse(l) as {
            msg?: string;
            hub?: string;
            api?: string;
            prometheusPort?: number;
            proxy?: string;
          };
          if (m.msg === "MCP proxy listening") proxyUrl = m.proxy ?? "";
          if (m.msg === "agent hub listening") hubPort = Number(m.hub?.split(":").at(-1));
          if (m.msg === "Prometheus metrics listening") promPort = m.prometheusPort ?? 0;
          if (m.msg === "REST API listening") api = m.api ?? "";
        }
        return api !== "" ? api : undefined;
      },
      undefined,
      20_000,
    );
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${api}/readyz`);
      if (((await r.json()) as { leader: boolean }).leader) break;
      await sleep(50);
    }
    agent = new HubClient({
      address: `127.0.0.1:${hubPort}`,
      node: "node-a",
      tokenFile: join(dir, "token"),
      backoff: { initialMs: 20, maxMs: 200 },
    });
  });
  after(async () => {
    agent?.close();
    await mcp?.close();
    ac.abort();
    if (serving !== undefined) assert.equal(await serving, 0, err.join(""));
    await Promise.all([cp?.stop(), rs?.stop(), receiver?.stop()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("a forwarded alert and an enforcement event arrive in rsyslog as CEF with the documented fields", async () => {
    agent.write(
      create(hangar.AlertSchema, {
        id: "al-7",
        ruleId: "hangar.exfil.shell",
        provider: "weather",
        severity: hangar.Severity.HIGH,
        message: "curl to 203.0.113.66 during tools/call fetch",
        node: "node-a",
        mitre: ["T1041"],
      }),
    );
    agent.requestEnforcement(
      create(hangar.EnforcementRequestSchema, {
        id: "req-7",
        alertId: "al-7",
        ruleId: "hangar.exfil.shell",
        provider: "weather",
        namespace: "mcp",
        action: hangar.EnforcementAction.BLOCK_EGRESS,
        destination: "203.0.113.66:443",
        node: "node-a",
      }),
    );
    await agent.flush();
    const msgs = await rs.waitFor(2, 15_000);
    const bySig = (sig: string): RsyslogMessage | undefined => msgs.find((m) => m.cef?.SignatureID === sig);
    const alert = bySig("hangar.exfil.shell");
    assert.ok(alert?.cef, JSON.stringify(msgs));
    assert.equal(alert.cef.DeviceVendor, "MCP Hangar");
    assert.equal(alert.cef.DeviceProduct, "hangar-controller");
    assert.equal(alert.cef.Severity, "8");
    assert.equal(alert.app, "hangar-controller");
    assert.equal(alert.host, "ctl-telemetry");
    assert.equal(alert.msgid, "alert");
    assert.equal(alert.facility, 20);
    const ax = alert.cef.Extensions;
    assert.equal(ax["externalId"], "al-7");
    assert.equal(ax["act"], "alert");
    assert.equal(ax["cs1Label"], "provider");
    assert.equal(ax["cs1"], "weather");
    assert.equal(ax["cs5"], "T1041");
    assert.equal(ax["dvchost"], "node-a");
    assert.equal(ax["msg"], "curl to 203.0.113.66 during tools/call fetch");

    // The enforcement event, as serve printed it on stdout, is the one in rsyslog.
    const event = await waitFor(
      "the enforcement event on stdout",
      () =>
        out
          .join("")
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as Record<string, string>)
          .find((e) => e["kind"] === "EnforcementEvent" && e["outcome"] !== "pending"),
      undefined,
      20_000,
    );
    const enf =
      bySig("hangar:enforcement:block_egress") ??
      (await rs.waitFor(3, 10_000)).find((m) => m.cef?.SignatureID === "hangar:enforcement:block_egress");
    assert.ok(enf?.cef, JSON.stringify(msgs));
    assert.equal(enf.cef.DeviceProduct, "hangar-controller");
    assert.equal(enf.cef.Name, "Enforcement block_egress");
    assert.equal(enf.msgid, "enforcement");
    const ex = enf.cef.Extensions;
    assert.equal(ex["externalId"], event["id"]);
    assert.equal(ex["act"], "block_egress");
    assert.equal(ex["outcome"], event["outcome"]);
    assert.equal(event["outcome"], "audited", "the default policy audits");
    assert.equal(ex["cat"], "hangar/enforcement/audit");
    assert.equal(ex["cs1"], "weather");
    assert.equal(ex["cs2Label"], "alertId");
    assert.equal(ex["cs2"], "al-7");
    assert.equal(ex["cs3Label"], "namespace");
    assert.equal(ex["cs3"], "mcp");
    assert.equal(ex["cs4Label"], "mode");
    assert.equal(ex["cs4"], "audit");
    assert.equal(ex["cs5Label"], "object");
    assert.equal(ex["cs5"], `${event["objectKind"]}/${event["objectName"]}`);
    assert.equal(ex["dst"], "203.0.113.66");
    assert.equal(ex["dpt"], "443");
    assert.equal(ex["suser"], "hangar.exfil.shell");
    assert.notEqual(event["diff"], "", "an audited event carries the diff it would apply");
    assert.equal(ex["cs6Label"], "diffSummary");
    assert.match(ex["cs6"] ?? "", /^\+[1-9]\d* -\d+ lines$/);
  });

  it("metrics reach a real OTLP receiver and the Prometheus endpoint, with the controller's resource", async () => {
    // A call through the in-process MCP proxy: its duration by provider, tool and outcome.
    const { client } = await connect(new URL(`${proxyUrl}/mcp/weather`));
    try {
      await client.callTool({ name: "echo", arguments: { text: "hi" } });
    } finally {
      await client.close();
    }
    const req = await waitFor(
      "an OTLP export with the enforcement event",
      () =>
        [...receiver.requests]
          .reverse()
          .find((r) =>
            points(r, "hangar.enforcement.events").some(
              (p) =>
                p.attrs["hangar.enforcement.action"] === "block_egress" &&
                p.attrs["hangar.outcome"] === "audited",
            ),
          ),
      undefined,
      20_000,
    );
    const res = otlpAttributes(req.resourceMetrics[0]?.resource?.attributes ?? []);
    assert.equal(res["service.name"], "hangar-controller");
    assert.equal(res["k8s.pod.name"], process.env["POD_NAME"] ?? "ctl-telemetry");
    assert.equal(res["k8s.namespace.name"], "hangar-system");
    const hub = points(req, "hangar.hub.messages");
    assert.ok(
      hub.some((p) => p.attrs["hangar.hub.message.kind"] === "alert" && p.value >= 1),
      JSON.stringify(hub),
    );
    assert.ok(
      hub.some((p) => p.attrs["hangar.hub.message.kind"] === "enforcement_request" && p.value >= 1),
      JSON.stringify(hub),
    );
    const calls = await waitFor(
      "the proxied call's duration",
      () => {
        const last = receiver.requests.at(-1);
        const p = last === undefined ? [] : points(last, "mcp.server.operation.duration");
        return p.find((x) => x.attrs["gen_ai.tool.name"] === "echo");
      },
      undefined,
      20_000,
    );
    assert.deepEqual(calls.attrs, {
      "hangar.provider": "weather",
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "echo",
      "hangar.outcome": "ok",
    });
    assert.equal(calls.value, 1, "one call counted");
    const depth = points(req, "hangar.queue.depth");
    assert.ok(
      depth.some((p) => p.attrs["hangar.queue"] === "siem:rsyslog"),
      JSON.stringify(depth),
    );
    assert.ok(
      depth.some((p) => p.attrs["hangar.queue"] === "hub_to_agents"),
      JSON.stringify(depth),
    );
    const sent = await waitFor(
      "the SIEM destination's sent count",
      () => {
        const last = receiver.requests.at(-1);
        const p = last === undefined ? [] : points(last, "hangar.siem.records.sent");
        return p.find((x) => x.attrs["hangar.siem.destination"] === "rsyslog" && x.value >= 2);
      },
      undefined,
      20_000,
    );
    assert.ok(sent.value >= 2);

    assert.ok(promPort > 0, "serve logged the Prometheus port");
    const text = await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text();
    assert.match(
      text,
      /hangar_enforcement_events_total\{[^}]*hangar_enforcement_action="block_egress"[^}]*\} 1/,
    );
    assert.match(text, /hangar_hub_messages_total\{[^}]*hangar_hub_message_kind="alert"[^}]*\} [1-9]/);
    assert.match(text, /k8s_namespace_name="hangar-system"/);
  });
});
