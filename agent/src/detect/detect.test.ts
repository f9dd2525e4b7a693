import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { Counters } from "../pipeline/counters.js";
import { FunctionDetector, MemoryAlertSink, MemoryBaselineStore } from "../ports/memory.js";
import type { BaselineStore, Detection, RuntimeEvent } from "../ports/ports.js";
import { DetectStage } from "./detect.js";

function alert(ruleId: string, source: hangar.AlertSource): hangar.Alert {
  return create(hangar.AlertSchema, {
    ruleId,
    source,
    severity: hangar.Severity.HIGH,
    baselineVersion: "v3",
  });
}

describe("DetectStage", () => {
  it("sends the baseline's deviation alerts to the sinks before the rules' alerts, and counts both", () => {
    const seen: string[] = [];
    const baseline: BaselineStore = {
      observe(ev: RuntimeEvent): Detection | undefined {
        seen.push(`baseline ${ev.id}`);
        return ev.id === "new"
          ? { alerts: [alert("baseline/new-egress", hangar.AlertSource.BASELINE)] }
          : undefined;
      },
      lookup: () => "known",
      version: () => "v3",
    };
    const detector = new FunctionDetector("rules", (ev) => {
      seen.push(`rules ${ev.id}`);
      return ev.id === "new" ? [alert("exfil/curl-token", hangar.AlertSource.RULE)] : undefined;
    });
    const sink = new MemoryAlertSink();
    const counters = new Counters();
    const stage = new DetectStage({ detector, baseline, sinks: [sink], counters });
    stage.process(create(hangar.RuntimeEventSchema, { id: "old" }));
    stage.process(create(hangar.RuntimeEventSchema, { id: "new" }));
    assert.deepEqual(seen, ["baseline old", "rules old", "baseline new", "rules new"]);
    assert.deepEqual(
      sink.alerts.map((a) => a.ruleId),
      ["baseline/new-egress", "exfil/curl-token"],
    );
    assert.deepEqual(counters.byLabel("alerts", "rule"), { "baseline/new-egress": 1, "exfil/curl-token": 1 });
  });

  it("accepts a baseline whose observe returns nothing (the in-memory store)", () => {
    const sink = new MemoryAlertSink();
    const stage = new DetectStage({
      detector: new FunctionDetector("none", () => undefined),
      baseline: new MemoryBaselineStore(),
      sinks: [sink],
      counters: new Counters(),
    });
    stage.process(create(hangar.RuntimeEventSchema, { id: "x", provider: "p" }));
    assert.equal(sink.alerts.length, 0);
  });

  it("tick moves a quiet detector's clock on by the idle time, and not while events flow", () => {
    const advanced: number[] = [];
    const sink = new MemoryAlertSink();
    const stage = new DetectStage({
      detector: {
        name: "clocked",
        process: () => undefined,
        advance(ms: number) {
          advanced.push(ms);
          return { alerts: [alert("seq/expired", hangar.AlertSource.RULE)] };
        },
      },
      sinks: [sink],
      counters: new Counters(),
    });
    const t0 = Date.now();
    stage.process(create(hangar.RuntimeEventSchema, { id: "a" }));
    stage.tick(t0 + 100);
    assert.deepEqual(advanced, [], "100 ms is not quiet yet");
    stage.tick(t0 + 10_000);
    assert.equal(advanced.length, 1);
    assert.ok((advanced[0] ?? 0) >= 9_000 && (advanced[0] ?? 0) <= 10_000, String(advanced[0]));
    stage.tick(t0 + 10_700);
    assert.deepEqual(advanced.slice(1), [700], "the next tick advances only by what passed since");
    assert.equal(sink.alerts.length, 2);
  });

  it("tick is a no-op for a detector without a clock", () => {
    const stage = new DetectStage({
      detector: new FunctionDetector("plain", () => undefined),
      sinks: [],
      counters: new Counters(),
    });
    assert.doesNotThrow(() => stage.tick(Date.now() + 60_000));
  });

  it("hands the detector's enforcement requests to the enforce hook and counts them", () => {
    const requests: hangar.EnforcementRequest[] = [];
    const counters = new Counters();
    const stage = new DetectStage({
      detector: {
        name: "blocker",
        process: (ev) =>
          ev.id === "bad"
            ? {
                alerts: [alert("net/block", hangar.AlertSource.RULE)],
                enforcement: [create(hangar.EnforcementRequestSchema, { id: "req-1", provider: "weather" })],
              }
            : undefined,
      },
      sinks: [],
      counters,
      enforce: (r) => requests.push(r),
    });
    stage.process(create(hangar.RuntimeEventSchema, { id: "ok" }));
    stage.process(create(hangar.RuntimeEventSchema, { id: "bad" }));
    assert.deepEqual(
      requests.map((r) => r.id),
      ["req-1"],
    );
    assert.equal(counters.get("enforcement_requests"), 1);
  });
});
