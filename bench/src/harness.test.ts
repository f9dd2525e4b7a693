import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  LatencyRecorder,
  MemoryPeak,
  percentile,
  runSync,
  table,
  toResult,
  withRatio,
  type BenchResult,
  type Measurement,
} from "./harness.js";
import { CASES } from "./cases/index.js";
import { defaultWarmup, median, selectCases } from "./runner.js";

describe("percentile", () => {
  it("uses the nearest rank", () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(v, 50), 50);
    assert.equal(percentile(v, 99), 99);
    assert.equal(percentile(v, 100), 100);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([], 50), 0);
  });

  it("sorts numerically, not as strings", () => {
    assert.equal(percentile([100, 9, 20], 50), 20);
  });
});

describe("LatencyRecorder", () => {
  it("grows past its initial capacity", () => {
    const r = new LatencyRecorder(2);
    for (let i = 1; i <= 10; i++) r.record(i * 1000);
    assert.equal(r.count, 10);
    assert.equal(r.percentile(50), 5000);
  });
});

describe("runSync", () => {
  it("runs warm-up then the window, sampling every stride-th event", () => {
    const seen: number[] = [];
    const m = runSync({ events: 20, warmup: 5, stride: 7, batch: 8, step: (i) => seen.push(i) });
    assert.deepEqual(
      seen,
      Array.from({ length: 25 }, (_, i) => i),
    );
    assert.equal(m.events, 20);
    assert.equal(m.latency.count, 3); // events 0, 7, 14 of the window
    assert.ok(m.elapsedNs > 0);
    assert.ok(m.memory.rss > 0);
  });
});

describe("results", () => {
  const base = (name: string, eventsPerSec: number): BenchResult => {
    const memory = new MemoryPeak();
    memory.rss = 64 * 1024 * 1024;
    memory.heapUsed = 8 * 1024 * 1024;
    const m: Measurement = { events: eventsPerSec, elapsedNs: 1e9, latency: new LatencyRecorder(1), memory };
    return toResult(name, m, undefined);
  };

  it("computes the ratio to the ceiling", () => {
    const ceiling = base("decode/tetragon-exec", 40_000);
    const r = withRatio(base("pipeline/intake", 22_000), ceiling);
    assert.equal(r.ratioToCeiling, 0.55);
    assert.equal(r.ceiling, "decode/tetragon-exec");
    assert.equal(r.rssMiB, 64);
    assert.equal(withRatio(r, undefined).ratioToCeiling, null);
  });

  it("prints a table with one row per case", () => {
    const t = table([base("a", 1000), withRatio(base("b", 500), base("a", 1000))]);
    const lines = t.split("\n");
    assert.match(lines[0] ?? "", /^case\s+events\s+events\/s/);
    assert.match(lines[2] ?? "", /^a\s+1000\s+1,000 .*—$/);
    assert.match(lines[3] ?? "", /^b\s+.*0\.500$/);
  });
});

describe("selectCases", () => {
  const names = (patterns: string[]): string[] => selectCases(patterns).map((c) => c.name);

  it("selects all cases, ceiling first, when no pattern is given", () => {
    const all = names([]);
    assert.deepEqual(
      all,
      CASES.map((c) => c.name),
    );
    for (const c of CASES) {
      if (c.ceiling !== undefined)
        assert.ok(all.indexOf(c.ceiling) < all.indexOf(c.name), `${c.ceiling} before ${c.name}`);
    }
  });

  it("adds the ceiling of a dependent case, and runs it first", () => {
    assert.deepEqual(names(["intake$"]), ["decode/tetragon-lazy", "pipeline/intake"]);
    assert.deepEqual(names(["intake-hubble"]), ["decode/hubble-lazy", "pipeline/intake-hubble"]);
    assert.deepEqual(names(["^normalize/"]), ["decode/tetragon-exec", "normalize/tetragon-mixed"]);
  });

  it("selects nothing for a pattern that matches nothing", () => {
    assert.deepEqual(names(["nope"]), []);
  });

  it("rejects an invalid regex with the pattern in the message", () => {
    assert.throws(() => selectCases(["("]), /invalid filter "\("/);
  });

  it("knows every ceiling it names", () => {
    for (const c of CASES) {
      if (c.ceiling !== undefined)
        assert.ok(
          CASES.some((x) => x.name === c.ceiling),
          c.name,
        );
    }
  });
});

describe("defaultWarmup", () => {
  it("is a tenth of the window, within 20 000..200 000", () => {
    assert.equal(defaultWarmup(1000), 20_000);
    assert.equal(defaultWarmup(1_000_000), 100_000);
    assert.equal(defaultWarmup(10_000_000), 200_000);
  });
});

describe("median", () => {
  it("reports the run with the median events/s and lists every run", () => {
    const run = (eventsPerSec: number): BenchResult => ({
      case: "x",
      events: 1,
      eventsPerSec,
      p50Us: eventsPerSec,
      p99Us: 0,
      rssMiB: 0,
      heapMiB: 0,
      ratioToCeiling: null,
      ceiling: null,
      node: "v24",
      cpu: "cpu",
    });
    const m = median([run(30), run(10), run(20)]);
    assert.equal(m.eventsPerSec, 20);
    assert.equal(m.p50Us, 20);
    assert.equal(m.detail?.runs, "30 10 20");
    assert.equal(median([run(5)]).detail, undefined);
  });
});
