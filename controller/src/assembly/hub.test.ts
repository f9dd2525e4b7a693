import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { AlertStore, RecentIds } from "../api/alerts.js";
import type { Enforcer } from "../enforce/engine.js";
import { hubHandlers } from "./hub.js";

const who = { node: "n1", principal: "agent", via: "mtls" as const };

function handlers(alerts: AlertStore, recentIds: RecentIds) {
  return hubHandlers({
    alerts,
    recentIds,
    enforcer: {} as Enforcer,
    merge: undefined,
    fanout: undefined,
    telemetry: undefined,
    log: () => undefined,
  });
}

describe("hub handlers: alerts", () => {
  it("keep a redelivered alert once, and hold a bounded window of ids however many alerts come", async () => {
    const alerts = new AlertStore({ maxAlerts: 500 });
    const recent = new RecentIds({ maxIds: 2000 });
    const h = handlers(alerts, recent);
    const a = (id: string) => create(hangar.AlertSchema, { id, ruleId: "r", provider: "p" });
    await h.alert?.(a("x"), who);
    await h.alert?.(a("x"), who);
    assert.equal(alerts.size, 1, "the second delivery of x was dropped");
    for (let i = 0; i < 20_000; i++) await h.alert?.(a(`id-${i}`), who);
    assert.ok(recent.size <= 2000, `${recent.size} ids`);
    assert.equal(alerts.size, 500);
    assert.equal(alerts.dropped, 20_001 - 500);
  });
});
