import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toResult } from "../harness.js";
import type { CaseContext } from "./case.js";
import { CASES } from "./index.js";

const ctx = (events: number, simulator: "child" | "inline"): CaseContext => ({
  events,
  warmup: 500,
  log: () => undefined,
  simulator,
});

// Smoke runs: every case end to end at a tiny size (numbers are not checked, only their shape).
describe("cases", () => {
  for (const c of CASES) {
    it(`${c.name} runs and reports`, { timeout: 60_000 }, async (t) => {
      const skip = await c.unavailable?.();
      if (skip !== undefined) {
        t.skip(skip);
        return;
      }
      // Tiny: 2000 events, or fewer for a case whose default is smaller (e.g. one API-server write per event).
      const events = Math.min(2000, c.defaultEvents);
      const r = toResult(c.name, await c.run(ctx(events, "child")), undefined);
      if (c.timeBased === true) assert.ok(r.events > 0, `${r.events} events`);
      else assert.equal(r.events, events);
      assert.ok(r.eventsPerSec > 0);
      assert.ok(r.p99Us >= r.p50Us && r.p50Us > 0);
      assert.ok(r.rssMiB > 0);
    });
  }

  it("pipeline/intake runs with the simulator in-process too", { timeout: 60_000 }, async () => {
    const intake = CASES.find((c) => c.name === "pipeline/intake");
    assert.ok(intake);
    const m = await intake.run(ctx(2000, "inline"));
    assert.equal(m.detail?.simulator, "in-process");
    assert.equal(m.detail?.queueDropped, 0);
  });
});
