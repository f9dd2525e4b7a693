import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { Counters } from "@hangar/core";
import { EventRecorder, microTime } from "./recorder.js";
import { alertEvent, enforcementEvent, EVENT_REASONS, type EnforcementFacts } from "./violations.js";

const pod = { apiVersion: "v1", kind: "Pod", namespace: "mcp", name: "weather-0", uid: "u1" };
const facts: EnforcementFacts = {
  id: "e1-2",
  alertId: "a1",
  provider: "weather",
  namespace: "mcp",
  action: "quarantine",
  mode: "enforce",
  outcome: "applied",
  objectKind: "CiliumNetworkPolicy",
  objectName: "hangar-quarantine-weather",
  destination: "",
  error: "",
  actor: "hangar.exec.reverse_shell",
};

describe("violation events: what an alert or an enforcement becomes", () => {
  it("an alert: Warning, its reason by source, the note with severity, rule, message and id", () => {
    const a = create(hangar.AlertSchema, {
      id: "a1",
      ruleId: "hangar.exec.reverse_shell",
      severity: hangar.Severity.HIGH,
      source: hangar.AlertSource.RULE,
      message: "shell",
      pod: create(hangar.PodIdentitySchema, { namespace: "mcp", name: "weather-0", uid: "u1" }),
    });
    const e = alertEvent(a);
    assert.deepEqual(e, {
      regarding: pod,
      type: "Warning",
      reason: "RuleMatched",
      action: "Detect",
      note: "HIGH hangar.exec.reverse_shell: shell (alert a1)",
      key: "hangar.exec.reverse_shell",
      annotations: { "mcp-hangar.io/alert-id": "a1" },
    });
    a.source = hangar.AlertSource.BASELINE;
    assert.equal(alertEvent(a)?.reason, "BaselineDeviation");
    a.pod = create(hangar.PodIdentitySchema, { namespace: "mcp" });
    assert.equal(alertEvent(a), undefined, "no pod name: no Event");
  });

  it("an enforcement: one documented reason per outcome, Warning when it changed or failed, related object", () => {
    const reasons = ["audited", "applied", "reverted", "expired", "refused", "failed"].map(
      (outcome) => enforcementEvent({ ...facts, outcome }, pod)?.reason,
    );
    for (const r of reasons) assert.ok(r !== undefined && r in EVENT_REASONS, String(r));
    assert.equal(enforcementEvent({ ...facts, outcome: "pending" }, pod), undefined);
    const e = enforcementEvent(facts, pod)!;
    assert.equal(e.type, "Warning");
    assert.deepEqual(e.related, {
      apiVersion: "cilium.io/v2",
      kind: "CiliumNetworkPolicy",
      namespace: "mcp",
      name: "hangar-quarantine-weather",
    });
    assert.equal(
      e.note,
      "quarantine applied (enforce mode) on CiliumNetworkPolicy/hangar-quarantine-weather; alert a1; enforcement e1-2 by hangar.exec.reverse_shell",
    );
    assert.equal(enforcementEvent({ ...facts, outcome: "reverted" }, pod)?.type, "Normal");
  });

  it("MicroTime has six fraction digits", () => {
    assert.equal(microTime(Date.UTC(2026, 11, 7, 13, 0, 0, 123)), "2026-12-07T13:00:00.123000Z");
  });
});

describe("the recorder's stop", () => {
  it("waits at most its timeout for a dead API server, then drops and counts what is left", async () => {
    const counters = new Counters();
    let calls = 0;
    const hung = {
      send: () => {
        calls++;
        return new Promise<never>(() => undefined);
      },
      call: () => Promise.reject(new Error("unused")),
      get: () => Promise.reject(new Error("unused")),
      serves: () => Promise.resolve(false),
    };
    const r = new EventRecorder({ kube: hung, counters, instance: "x" });
    for (let i = 0; i < 5; i++)
      r.record({
        regarding: pod,
        type: "Warning",
        reason: "RuleMatched",
        action: "Detect",
        note: `n${i}`,
        key: `k${i}`,
      });
    const t0 = Date.now();
    await r.close(50);
    assert.ok(Date.now() - t0 < 2_000);
    assert.equal(calls, 1, "one write in flight, the rest queued");
    r.record({ regarding: pod, type: "Warning", reason: "RuleMatched", action: "Detect", note: "late" });
    assert.deepEqual(counters.snapshot(), { 'k8s_events_dropped{reason="shutdown"}': 5 });
  });
});
