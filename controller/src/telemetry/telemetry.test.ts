import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import type { EnforcementEventJson } from "../enforce/engine.js";
import { startTelemetry } from "./telemetry.js";

const ctx = { identity: "ctl-0", namespace: "hangar-system", version: "0.1.0", stderr: () => undefined };

function event(outcome: EnforcementEventJson["outcome"]): EnforcementEventJson {
  return {
    id: "enf-1",
    requestId: "req-1",
    alertId: "al-1",
    provider: "weather",
    namespace: "mcp",
    action: "block_egress",
    mode: "audit",
    outcome,
    objectKind: "NetworkPolicy",
    objectName: "hangar-egress-weather",
    manifest: "",
    diff: "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n",
    time: "2026-11-22T05:00:00.000Z",
    expiresAt: "",
    error: "",
    destination: "203.0.113.66:443",
    actor: "hangar.exfil.shell",
  };
}

describe("controller telemetry", () => {
  it("without flags it starts no destination and no metrics", async () => {
    const t = await startTelemetry({}, ctx);
    assert.equal(t.siem, undefined);
    assert.equal(t.metrics, undefined);
    t.alert(create(hangar.AlertSchema, { id: "a" }));
    t.enforcement(event("audited"));
    await t.shutdown();
  });

  it("exports the MCP proxy's refusals as hangar.proxy.requests.refused by provider and reason", async () => {
    const t = await startTelemetry({ "prometheus-port": "0" }, ctx);
    try {
      const counts: Record<string, number> = { "weather|sessions_per_caller": 3, "weather|duplicate_id": 1 };
      t.observeProxy({
        providers: ["weather", "empty"],
        stats: { get: (_n, l) => counts[`${l["provider"]}|${l["reason"]}`] ?? 0 },
      });
      const port = t.metrics?.prometheusPort;
      assert.ok(port !== undefined);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(
        text,
        /hangar_proxy_requests_refused_total\{hangar_provider="weather",hangar_reason="sessions_per_caller"[^}]*\} 3/,
      );
      assert.match(
        text,
        /hangar_proxy_requests_refused_total\{hangar_provider="weather",hangar_reason="duplicate_id"[^}]*\} 1/,
      );
      assert.match(
        text,
        /hangar_proxy_requests_refused_total\{hangar_provider="empty",hangar_reason="batch"[^}]*\} 0/,
      );
    } finally {
      await t.shutdown();
    }
  });

  it("a file destination gets forwarded alerts and finished enforcement events as JSON lines", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hangar-ctl-telemetry-"));
    try {
      const file = join(dir, "events.jsonl");
      const t = await startTelemetry({ siem: [`file://${file}?flush-ms=0`] }, ctx);
      t.alert(create(hangar.AlertSchema, { id: "al-1", ruleId: "hangar.exfil.shell", provider: "weather" }));
      t.enforcement(event("pending"));
      t.enforcement(event("audited"));
      await t.siem?.flush();
      await t.shutdown();
      const lines = (await readFile(file, "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.length, 2, "the pending record is not exported");
      assert.equal(lines[0]?.["id"], "al-1");
      assert.equal(lines[1]?.["id"], "enf-1");
      assert.equal(lines[1]?.["outcome"], "ENFORCEMENT_OUTCOME_AUDITED");
      assert.equal(lines[1]?.["mode"], "ENFORCEMENT_MODE_AUDIT");
      assert.equal(lines[1]?.["objectName"], "hangar-egress-weather");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
