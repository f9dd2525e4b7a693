import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { CASES } from "./cases/index.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

function bench(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run bench (main.js)", () => {
  it("--help lists the options and every case", () => {
    const r = bench("--help");
    assert.equal(r.code, 0);
    for (const word of ["--pretty", "--filter", "--events", "decode/tetragon-exec", "pipeline/intake"]) {
      assert.ok(r.stdout.includes(word), `help mentions ${word}`);
    }
  });

  it("--list prints one case per line with its description", () => {
    const r = bench("--list");
    assert.equal(r.code, 0);
    const names = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t")[0]);
    assert.deepEqual(
      names,
      CASES.map((c) => c.name),
    );
    assert.ok(names.includes("pipeline/intake"));
  });

  it("rejects a bad number, an unknown option and a filter that matches nothing, with exit 2", () => {
    const events = bench("--events", "ten");
    assert.equal(events.code, 2);
    assert.match(events.stderr, /--events must be a positive integer, got "ten"/);
    const unknown = bench("--fast");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown option '--fast'/);
    const none = bench("--filter", "^nope$");
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no case matches; cases: decode\/tetragon-exec/);
    const regex = bench("--filter", "(");
    assert.equal(regex.code, 2);
    assert.match(regex.stderr, /invalid filter "\("/);
  });

  it("prints one JSON line per case, the ceiling first, with the ratio to it", { timeout: 120_000 }, () => {
    const r = bench("normalize", "--events", "3000", "--warmup", "500");
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => l.case),
      ["decode/tetragon-exec", "normalize/tetragon-mixed"],
    );
    const [ceiling, normalize] = lines;
    assert.equal(ceiling?.ratioToCeiling, null);
    assert.equal(normalize?.ceiling, "decode/tetragon-exec");
    const ratio = (normalize?.eventsPerSec as number) / (ceiling?.eventsPerSec as number);
    assert.ok(Math.abs((normalize?.ratioToCeiling as number) - ratio) < 0.001);
    for (const l of lines) {
      assert.equal(l.events, 3000);
      for (const k of ["eventsPerSec", "p50Us", "p99Us", "rssMiB"]) {
        assert.equal(typeof l[k], "number", k);
        assert.ok((l[k] as number) > 0, k);
      }
    }
    assert.match(r.stderr, /\[normalize\/tetragon-mixed\] done in/);
  });

  it("--pretty prints a table instead", { timeout: 120_000 }, () => {
    const r = bench("decode", "--events", "2000", "--warmup", "500", "--pretty");
    assert.equal(r.code, 0, r.stderr);
    const [header, rule, row] = r.stdout.split("\n");
    assert.match(header ?? "", /^case\s+events\s+events\/s\s+p50 µs\s+p99 µs\s+RSS MiB/);
    assert.match(rule ?? "", /^-+ {2}-+/);
    assert.match(row ?? "", /^decode\/tetragon-exec\s+2000\s/);
  });
});
