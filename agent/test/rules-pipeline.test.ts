/**
 * The rule engine, loaded by the agent's bootstrap as `run` and `replay` load it, inside
 * the agent's pipeline (`createPipeline`) over recordings, with a baseline store: the
 * rules with baseline predicates fire on the attack, and an enforcing baseline of the
 * normal recording keeps it quiet.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { Counters, MemoryAlertSink, MemoryBaselineStore } from "@hangar/core";
import { attackRecording, normalRecording, type RecordingBuilder } from "@hangar/testkit";
import { loadRuleEngine } from "../src/bootstrap/plugins.js";
import { createPipeline } from "../src/pipeline/pipeline.js";
import { mergeByTime, readRecording, type Malformed } from "../src/replay/recording.js";

const RULES = fileURLToPath(new URL("../../../rules/", import.meta.url));

async function detect(b: RecordingBuilder, dir: string, name: string, baseline: MemoryBaselineStore) {
  const files = b.write(dir, name);
  const counters = new Counters();
  const malformed: Malformed[] = [];
  const detector = await loadRuleEngine({ paths: [RULES], baseline });
  const sink = new MemoryAlertSink();
  const inputs = [
    { path: files.tetragon, format: "tetragon" as const },
    { path: files.hubble, format: "hubble" as const },
    { path: files.traces, format: "traces" as const },
  ];
  await createPipeline({ counters, detector, baseline, sinks: [sink] }).run(
    mergeByTime(
      inputs.map((input, fileIndex) => readRecording({ ...input, fileIndex, counters, malformed })),
    ),
  );
  assert.deepEqual(malformed, []);
  return { alerts: sink.alerts, counters };
}

describe("the rule engine in the agent pipeline, with a baseline", () => {
  const dir = mkdtempSync(join(tmpdir(), "hangar-rules-pipeline-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the attack trips the baseline rules too, and asks for enforcement", async () => {
    const baseline = new MemoryBaselineStore();
    baseline.allow("files", "egress", "198.51.100.7");
    baseline.allow("files", "tool", "list_directory");
    baseline.allow("files", "dns", "api.files.example");
    baseline.allow("files", "binary", "/usr/local/bin/node");
    const { alerts, counters } = await detect(attackRecording(), dir, "attack", baseline);
    const ids = new Set(alerts.map((a) => a.ruleId));
    for (const id of [
      "hangar.exfil.secret_read_then_new_egress",
      "hangar.net.egress_not_in_baseline",
      "hangar.tool.never_called_before",
      "hangar.dns.name_not_in_baseline",
      "hangar.exec.binary_not_in_baseline",
    ])
      assert.ok(ids.has(id), `${id} missing; got ${[...ids].join(", ")}`);
    const exfil = alerts.find((a) => a.ruleId === "hangar.exfil.secret_read_then_new_egress");
    assert.ok(exfil !== undefined);
    assert.equal(exfil.baselineVersion, baseline.version("files"));
    assert.equal(exfil.toolCalls[0]?.tool, "read_file");
    assert.match(exfil.explanation, /for session\.id=sess-9/);
    assert.match(exfil.explanation, /203\.0\.113\.66 in egress baseline of provider files: new/);
    assert.ok(counters.get("enforcement_requests") > 0, "block_egress / quarantine requests were emitted");
  });

  it("normal work against its own (enforcing) baseline raises nothing", async () => {
    const baseline = new MemoryBaselineStore();
    baseline.allow("weather", "egress", "198.51.100.7");
    baseline.allow("weather", "dns", "api.weather.example");
    for (const t of ["get_forecast", "get_alerts"]) baseline.allow("weather", "tool", t);
    for (const bin of ["/usr/local/bin/node", "/app/bin/healthcheck"])
      baseline.allow("weather", "binary", bin);
    const { alerts } = await detect(normalRecording(), dir, "normal", baseline);
    assert.deepEqual(
      alerts.map((a) => `${a.ruleId}: ${a.message}`),
      [],
    );
  });
});
