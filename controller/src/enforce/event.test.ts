import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { toProtoEvent } from "./event.js";

describe("toProtoEvent", () => {
  it("maps actions, modes, outcomes and times onto hangar.v1.EnforcementEvent", () => {
    const p = toProtoEvent({
      id: "e1-1",
      requestId: "r",
      alertId: "a",
      provider: "weather",
      namespace: "mcp",
      action: "block_egress",
      mode: "enforce",
      outcome: "applied",
      objectKind: "NetworkPolicy",
      objectName: "hangar-block-weather-x",
      manifest: "{}",
      diff: "",
      time: "2026-11-22T00:00:00.000Z",
      expiresAt: "",
      error: "",
      destination: "203.0.113.1",
      actor: "r.exfil",
    });
    assert.equal(p.action, hangar.EnforcementAction.BLOCK_EGRESS);
    assert.equal(p.mode, hangar.EnforcementMode.ENFORCE);
    assert.equal(p.outcome, hangar.EnforcementOutcome.APPLIED);
    assert.equal(timestampMs(p.time!), Date.parse("2026-11-22T00:00:00.000Z"));
    assert.equal(p.expiresAt, undefined);
    const pending = toProtoEvent({
      ...{ ...p, time: "", expiresAt: "" },
      outcome: "pending",
      action: "quarantine",
      mode: "audit",
    } as never);
    assert.equal(pending.outcome, hangar.EnforcementOutcome.UNSPECIFIED);
    assert.equal(pending.mode, hangar.EnforcementMode.AUDIT);
  });
});
