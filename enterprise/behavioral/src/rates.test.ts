import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_RATE_OPTIONS, RateTracker, median, rateThreshold, robustStats } from "./rates.js";

describe("robust rate statistics", () => {
  it("median and MAD ignore a single outlier", () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([1, 2, 3, 4]), 2.5);
    const s = robustStats([4, 5, 5, 6, 5, 400]);
    assert.equal(s.median, 5);
    assert.equal(s.mad, 0.5);
    assert.equal(rateThreshold({ median: 0, mad: 0, minutes: 60 }, DEFAULT_RATE_OPTIONS), 10);
    assert.equal(rateThreshold({ median: 30, mad: 0, minutes: 60 }, DEFAULT_RATE_OPTIONS), 60);
  });

  it("learns per-minute counts (quiet minutes count as 0) and reports a burst once per minute", () => {
    const r = new RateTracker();
    const t0 = Date.parse("2026-03-02T09:00:00Z");
    // 30 minutes: 4 tool calls a minute, every third minute quiet.
    for (let m = 0; m < 30; m++) {
      if (m % 3 === 2) continue;
      for (let i = 0; i < 4; i++)
        assert.equal(
          r.count("tool_calls", t0 + m * 60_000 + i * 1000, true, DEFAULT_RATE_OPTIONS),
          undefined,
        );
    }
    r.freeze();
    // Minutes 0–27 are complete (the last active minute, 28, was still open when learning ended).
    assert.deepEqual(r.learned.tool_calls, { median: 4, mad: 0, minutes: 28 });
    const burst = t0 + 40 * 60_000;
    const excesses = [];
    for (let i = 0; i < 30; i++) {
      const x = r.count("tool_calls", burst + i * 100, false, DEFAULT_RATE_OPTIONS);
      if (x !== undefined) excesses.push(x);
    }
    assert.equal(excesses.length, 1);
    assert.equal(excesses[0]?.count, 15, "the first count above median + max(10, median)");
    assert.equal(r.count("tool_calls", burst + 60_000, false, DEFAULT_RATE_OPTIONS), undefined);
  });

  it("stays silent without enough learned minutes", () => {
    const r = new RateTracker();
    r.count("execs", 0, true, DEFAULT_RATE_OPTIONS);
    r.freeze();
    for (let i = 0; i < 100; i++)
      assert.equal(r.count("execs", 120_000 + i, false, DEFAULT_RATE_OPTIONS), undefined);
  });
});
