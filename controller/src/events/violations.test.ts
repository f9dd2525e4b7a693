import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { microTime } from "./recorder.js";
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
