import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runTarget } from "./runner.js";
import { fuzzTargets } from "./targets.js";

// The CI share of the fuzz suite: a few thousand inputs per target, each under a time bound.
// `npm run fuzz -- --runs 1000000` is the long run (README.md in this folder).
const RUNS = Number(process.env["HANGAR_FUZZ_RUNS"] ?? 3000);
const targets = await fuzzTargets();

describe("fuzz", () => {
  for (const target of targets) {
    it(`${target.name}: ${RUNS} inputs, 0 crashes, 0 hangs`, { timeout: 120_000 }, () => {
      const r = runTarget(target, { runs: RUNS, timeBoundMs: 2000 });
      assert.equal(r.failure, undefined, r.failure);
      assert.equal(r.inputs, RUNS);
      assert.equal(r.crashes + r.hangs, 0);
    });
  }

  it("the harness finds a crash and a hang, with a replayable seed", () => {
    const base = targets[0];
    assert.ok(base !== undefined);
    let n = 0;
    const crashy = {
      ...base,
      name: "crashy",
      run: () => void (++n === 50 ? (undefined as unknown as string).length : 0),
    };
    const c = runTarget(crashy, { runs: 200, timeBoundMs: 2000, seed: 1 });
    assert.equal(c.crashes, 1);
    assert.match(
      c.failure ?? "",
      /Cannot read properties of undefined[\s\S]*replay: npm run fuzz -- --target crashy --seed 1 --path /,
    );
    const slow = {
      ...base,
      name: "slow",
      run: () => {
        const end = performance.now() + 30;
        while (performance.now() < end);
      },
    };
    const h = runTarget(slow, { runs: 3, timeBoundMs: 10, seed: 1 });
    assert.equal(h.hangs, 1);
    assert.match(h.failure ?? "", /one input took \d+ ms \(bound 10 ms\)/);
  });
});
