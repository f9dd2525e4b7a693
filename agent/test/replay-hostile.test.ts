/**
 * `hangar-agent replay` over hostile recordings, as a user runs it (a child process): a
 * flood of malformed lines gives a bounded summary, terminal escape sequences in the input
 * never reach stderr or stdout raw, and an alert about a 12 MB argument is one bounded,
 * valid JSON line with a truncation marker.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { tempDir } from "@hangar/testkit";
import { MAX_ALERT_LINE_BYTES } from "../src/replay/bounded.js";

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../../test/fixtures/realistic-tetragon.jsonl", import.meta.url));
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, "replay", ...args], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("replay over hostile recordings", () => {
  it("5,000 malformed lines: the summary lists 100 and counts the rest; stderr stays small", () => {
    const { dir, cleanup } = tempDir("hangar-replay-hostile-");
    try {
      const file = join(dir, "bad.jsonl");
      writeFileSync(
        file,
        Array.from({ length: 5_000 }, (_, i) => `{"not json ${"x".repeat(3_000)} ${i}\n`).join(""),
      );
      const r = run(["--tetragon", file]);
      assert.equal(r.status, 0, r.stderr.slice(0, 500));
      const lines = r.stderr.trimEnd().split("\n");
      const summaryLine = lines.at(-1) ?? "";
      const summary = JSON.parse(summaryLine) as { malformed: unknown[]; malformed_omitted: number };
      assert.equal(summary.malformed.length, 100);
      assert.equal(summary.malformed_omitted, 4_900);
      assert.ok(summaryLine.length < 100_000, `summary line of ${summaryLine.length} characters`);
      assert.ok(lines.length <= 103, `${lines.length} stderr lines`);
      assert.match(r.stderr, /… and 4900 more malformed records/);
      assert.equal(run(["--strict", "--tetragon", file]).status, 1, "--strict still sees every one");
    } finally {
      cleanup();
    }
  });

  it("escape sequences in malformed input, pod names and file names never reach the terminal raw", () => {
    const { dir, cleanup } = tempDir("hangar-replay-hostile-");
    try {
      const file = join(dir, "esc\x1b[31m.jsonl");
      writeFileSync(
        file,
        [
          '{"process_exec": \x1b]0;pwned\x07\x1b[2J\u009b31m}',
          '{"bogus\x1b[5m": 1}',
          // A valid exec of an unlabelled pod whose name carries an escape: named in the hint.
          readFileSync(FIXTURE, "utf8")
            .split("\n")[0]
            ?.replaceAll('"mcp-hangar.io/provider":"fs"', '"x":"y"')
            .replaceAll("mcp-fs-server-6c9d7b8f4-x2x7q", "evil\\u001b[41mpod"),
        ].join("\n") + "\n",
      );
      const r = run(["--tetragon", file]);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr, RAW_CONTROL, JSON.stringify(r.stderr.slice(0, 600)));
      assert.doesNotMatch(r.stdout, RAW_CONTROL);
      assert.match(r.stderr, /\\x1b/, "shown escaped");
      assert.match(r.stderr, /evil\\x1b\[41mpod/, "the pod name in the hint, escaped");
    } finally {
      cleanup();
    }
  });

  it("an alert about a 12 MB argument is one valid JSON line within the bound, marked as cut", (t) => {
    const { dir, cleanup } = tempDir("hangar-replay-hostile-");
    try {
      const file = join(dir, "big.jsonl");
      const lines = readFileSync(FIXTURE, "utf8").split("\n");
      const huge = `${"A".repeat(12 * 1024 * 1024)}\\u001b[2J\\u009b`;
      lines[0] = (lines[0] ?? "").replace('"arguments":"-c \\"curl', `"arguments":"-c \\"${huge} curl`);
      writeFileSync(file, lines.join("\n"));
      const r = run(["--default-rules", "--tetragon", file]);
      if (r.status === 2 && r.stderr.includes("HANGAR_ERR_PLUGIN_LOAD")) {
        t.skip(`the rule engine is not built here, so replay raises no alerts: ${r.stderr.trim()}`);
        return;
      }
      assert.equal(r.status, 0, r.stderr.slice(0, 500));
      const out = r.stdout.trimEnd().split("\n");
      assert.ok(out.length > 0 && out[0] !== "", "alerts");
      let cut = 0;
      for (const l of out) {
        assert.ok(Buffer.byteLength(l) <= MAX_ALERT_LINE_BYTES, `a line of ${Buffer.byteLength(l)} bytes`);
        assert.doesNotMatch(l, RAW_CONTROL);
        JSON.parse(l);
        // Cut where the alert is made (core/src/bound.ts: "…[truncated by hangar: N bytes in all]")
        // or, failing that, at the line bound (./bounded.ts: "…[truncated N bytes]").
        if (/…\[truncated (\d+ bytes|by hangar: \d+ bytes in all)\]/.test(l)) cut++;
      }
      assert.ok(cut > 0, "the alert carrying the argument says it was cut");
    } finally {
      cleanup();
    }
  });
});
