import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { Backoff, sleep } from "./backoff.js";

describe("Backoff", () => {
  it("grows by the factor per attempt (random 1 gives the cap itself)", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 100_000, factor: 3, random: () => 1 });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [100, 300, 900, 2700]);
    assert.equal(b.attempt, 4);
  });

  it("never exceeds maxMs", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
    const delays = Array.from({ length: 12 }, () => b.next());
    assert.deepEqual(delays.slice(0, 5), [100, 200, 400, 800, 1000]);
    assert.ok(delays.every((d) => d <= 1000));
    assert.equal(delays.at(-1), 1000);
  });

  it("jitters uniformly in [cap/2, cap]", () => {
    const low = new Backoff({ initialMs: 1000, random: () => 0 });
    const mid = new Backoff({ initialMs: 1000, random: () => 0.5 });
    const high = new Backoff({ initialMs: 1000, random: () => 0.999999 });
    assert.equal(low.next(), 500);
    assert.equal(mid.next(), 750);
    assert.equal(high.next(), 1000);
    assert.equal(low.next(), 1000); // second attempt: cap 2000
    assert.equal(mid.next(), 1500);
  });

  it("stays within [cap/2, cap] with the real random source", () => {
    const b = new Backoff({ initialMs: 200, maxMs: 200 });
    for (let i = 0; i < 200; i++) {
      const d = b.next();
      assert.ok(d >= 100 && d <= 200, `delay ${d} outside [100, 200]`);
    }
  });

  it("defaults to 250 ms initial, factor 2, 30 s cap", () => {
    const b = new Backoff({ random: () => 1 });
    assert.equal(b.next(), 250);
    assert.equal(b.next(), 500);
    for (let i = 0; i < 20; i++) b.next();
    assert.equal(b.next(), 30_000);
  });

  it("reset starts over from the first delay", () => {
    const b = new Backoff({ initialMs: 100, random: () => 1 });
    b.next();
    b.next();
    b.next();
    b.reset();
    assert.equal(b.attempt, 0);
    assert.equal(b.next(), 100);
  });
});

describe("sleep", () => {
  it("resolves after the delay and removes its abort listener", { timeout: 5000 }, async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    await sleep(30, ac.signal);
    assert.ok(performance.now() - t0 >= 25);
    assert.equal(getEventListeners(ac.signal, "abort").length, 0);
  });

  it("resolves early, without throwing, when the signal aborts", { timeout: 5000 }, async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const p = sleep(60_000, ac.signal);
    setTimeout(() => ac.abort(), 10);
    await p;
    assert.ok(performance.now() - t0 < 5_000);
  });

  it("resolves at once for an already aborted signal", { timeout: 5000 }, async () => {
    const t0 = performance.now();
    await sleep(60_000, AbortSignal.abort());
    assert.ok(performance.now() - t0 < 1_000);
  });
});
