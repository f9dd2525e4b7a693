import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import {
  Counters,
  FunctionDetector,
  MemoryAlertSink,
  MemoryBaselineStore,
  type BaselineStore,
  type Detection,
  type Detector,
  type RuntimeEvent,
} from "@hangar/core";
import { OutputStage } from "../outputs/outputs.js";
import { DetectStage, FOLD_MEMORY } from "./detect.js";

/** The detect stage with the outputs stage after it, as the pipeline wires them. */
function detectStage(o: {
  detector: Detector;
  baseline?: BaselineStore;
  sinks: MemoryAlertSink[];
  counters: Counters;
  enforce?: (r: hangar.EnforcementRequest) => void;
}): DetectStage {
  const next = new OutputStage({
    sinks: o.sinks,
    counters: o.counters,
    ...(o.enforce === undefined ? {} : { onEnforcement: o.enforce }),
  });
  return new DetectStage({
    detector: o.detector,
    ...(o.baseline === undefined ? {} : { baseline: o.baseline }),
    counters: o.counters,
    next,
  });
}

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
      finishLearning: () => undefined,
      configureProvider: () => undefined,
    };
    const detector = new FunctionDetector("rules", (ev) => {
      seen.push(`rules ${ev.id}`);
      return ev.id === "new" ? [alert("exfil/curl-token", hangar.AlertSource.RULE)] : undefined;
    });
    const sink = new MemoryAlertSink();
    const counters = new Counters();
    const stage = detectStage({ detector, baseline, sinks: [sink], counters });
    stage.process(create(hangar.RuntimeEventSchema, { id: "old" }));
    stage.process(create(hangar.RuntimeEventSchema, { id: "new" }));
    assert.deepEqual(seen, ["baseline old", "rules old", "baseline new", "rules new"]);
    assert.deepEqual(
      sink.alerts.map((a) => a.ruleId),
      ["baseline/new-egress", "exfil/curl-token"],
    );
    assert.deepEqual(counters.byLabel("alerts", "rule"), { "baseline/new-egress": 1, "exfil/curl-token": 1 });
  });

  it("folds a single-event rule alert that repeats a deviation of its event, even when it comes later", () => {
    const ev = (id: string) => create(hangar.RuntimeEventSchema, { id, provider: "p" });
    const deviation = (id: string) =>
      create(hangar.AlertSchema, {
        ruleId: "baseline/new-egress",
        source: hangar.AlertSource.BASELINE,
        severity: hangar.Severity.HIGH,
        evidence: [ev(id)],
      });
    const ruleAlert = (
      ruleId: string,
      severity: hangar.Severity,
      evidence: string[],
      baselineVersion = "v3",
    ) =>
      create(hangar.AlertSchema, {
        ruleId,
        source: hangar.AlertSource.RULE,
        severity,
        baselineVersion,
        evidence: evidence.map(ev),
      });
    const baseline: BaselineStore = {
      observe: (e) => (e.id.startsWith("new") ? { alerts: [deviation(e.id)] } : undefined),
      lookup: () => "new",
      version: () => "v3",
      finishLearning: () => undefined,
      configureProvider: () => undefined,
    };
    const requests: unknown[] = [];
    // The rule engine answers one event late (allowed lateness), as the real one may.
    let previous = "";
    const detector: Detector = {
      name: "late rules",
      process(e) {
        const about = previous;
        previous = e.id;
        if (!about.startsWith("new")) return undefined;
        return {
          alerts: [
            ruleAlert("net.egress_not_in_baseline", hangar.Severity.MEDIUM, [about]),
            ruleAlert("exfil.critical_single", hangar.Severity.CRITICAL, [about]),
            ruleAlert("exfil.sequence", hangar.Severity.MEDIUM, ["read", about]),
            ruleAlert("no.baseline", hangar.Severity.LOW, [about], ""),
          ],
          enforcement: [create(hangar.EnforcementRequestSchema, { provider: "p" })],
        };
      },
    };
    const sink = new MemoryAlertSink();
    const counters = new Counters();
    const stage = detectStage({
      detector,
      baseline,
      sinks: [sink],
      counters,
      enforce: (r) => requests.push(r),
    });
    for (const id of ["a", "new-1", "b"]) stage.process(ev(id));
    assert.deepEqual(
      sink.alerts.map((a) => a.ruleId),
      ["baseline/new-egress", "exfil.critical_single", "exfil.sequence", "no.baseline"],
    );
    assert.deepEqual(counters.byLabel("alerts_folded", "rule"), { "net.egress_not_in_baseline": 1 });
    assert.equal(requests.length, 1, "the folded alert's rule still asks for enforcement");
  });

  it("remembers only the last FOLD_MEMORY deviation events", () => {
    const baseline: BaselineStore = {
      observe: (e) => ({
        alerts: [
          create(hangar.AlertSchema, {
            ruleId: "baseline/new-dns",
            source: hangar.AlertSource.BASELINE,
            severity: hangar.Severity.MEDIUM,
            evidence: [e],
          }),
        ],
      }),
      lookup: () => "new",
      version: () => "v1",
      finishLearning: () => undefined,
      configureProvider: () => undefined,
    };
    // After every event, a rule alert about the first event e0.
    const late = new FunctionDetector("late", () => [
      create(hangar.AlertSchema, {
        ruleId: "dns.name_not_in_baseline",
        source: hangar.AlertSource.RULE,
        severity: hangar.Severity.LOW,
        baselineVersion: "v1",
        evidence: [create(hangar.RuntimeEventSchema, { id: "e0" })],
      }),
    ]);
    const sink = new MemoryAlertSink();
    const counters = new Counters();
    const stage = detectStage({ detector: late, baseline, sinks: [sink], counters });
    for (let i = 0; i <= FOLD_MEMORY; i++) stage.process(create(hangar.RuntimeEventSchema, { id: `e${i}` }));
    // Folded while e0 was among the last FOLD_MEMORY deviation events; sent once it was forgotten.
    assert.deepEqual(counters.byLabel("alerts_folded", "rule"), { "dns.name_not_in_baseline": FOLD_MEMORY });
    assert.equal(sink.alerts.filter((a) => a.ruleId === "dns.name_not_in_baseline").length, 1);
    assert.equal(sink.alerts.filter((a) => a.ruleId === "baseline/new-dns").length, FOLD_MEMORY + 1);
  });

  it("accepts a baseline whose observe returns nothing (the in-memory store)", () => {
    const sink = new MemoryAlertSink();
    const stage = detectStage({
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
    const stage = detectStage({
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
    const stage = detectStage({
      detector: new FunctionDetector("plain", () => undefined),
      sinks: [],
      counters: new Counters(),
    });
    assert.doesNotThrow(() => stage.tick(Date.now() + 60_000));
  });

  it("hands the detector's enforcement requests to the enforce hook and counts them", () => {
    const requests: hangar.EnforcementRequest[] = [];
    const counters = new Counters();
    const stage = detectStage({
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
