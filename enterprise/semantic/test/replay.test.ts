/**
 * The rule engine in the agent's replay, as users run it: `hangar-agent replay
 * --tetragon … --hubble … --traces … --rules rules/` in a child process over
 * recordings of an attack and of normal work.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { ATTACK_RULES, attackRecording, normalRecording } from "@hangar/testkit";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const AGENT = join(ROOT, "agent", "dist", "src", "cli", "main.js");
const RULES = join(ROOT, "rules");

interface AlertJson {
  ruleId: string;
  severity: string;
  message: string;
  explanation: string;
  evidence: unknown[];
  mitre?: string[];
}

function replay(files: { tetragon: string; hubble: string; traces: string }, extra: string[]) {
  const r = spawnSync(
    process.execPath,
    [
      AGENT,
      "replay",
      "--tetragon",
      files.tetragon,
      "--hubble",
      files.hubble,
      "--traces",
      files.traces,
      ...extra,
    ],
    { encoding: "utf8" },
  );
  const alerts = r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as AlertJson);
  const lines = r.stderr.trimEnd().split("\n");
  let summary: { alerts?: number } = {};
  try {
    summary = JSON.parse(lines[lines.length - 1] ?? "{}") as { alerts: number };
  } catch {
    // A failed run ends with the error, not the summary.
  }
  return { status: r.status, stderr: r.stderr, alerts, summary };
}

describe("hangar-agent replay with the rule packs", () => {
  const dir = mkdtempSync(join(tmpdir(), "hangar-semantic-replay-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("raises the expected alerts on an attack recording, each explained", () => {
    const files = attackRecording().write(dir, "attack");
    const r = replay(files, ["--rules", RULES]);
    assert.equal(r.status, 0, r.stderr);
    const ids = new Set(r.alerts.map((a) => a.ruleId));
    for (const id of ATTACK_RULES)
      assert.ok(ids.has(id), `${id} did not fire; fired: ${[...ids].join(", ")}\n${r.stderr}`);
    assert.equal(r.summary.alerts, r.alerts.length);
    const dte = r.alerts.find((a) => a.ruleId === "hangar.exec.download_then_execute");
    assert.ok(dte !== undefined);
    assert.equal(dte.evidence.length, 2, "both steps are evidence");
    assert.match(dte.explanation, /step w: .*file write \/tmp\/x/);
    assert.match(dte.explanation, /step run: .*exec \/tmp\/x/);
    const sh = r.alerts.find((a) => a.ruleId === "hangar.exec.shell_from_server");
    assert.match(
      sh?.message ?? "",
      /tool read_file, session sess-9/,
      "the shell is tied to the tool call that caused it",
    );
  });

  it("raises none on a recording of normal work", () => {
    const files = normalRecording().write(dir, "normal");
    const r = replay(files, ["--rules", RULES]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      r.alerts.map((a) => `${a.ruleId}: ${a.message}`),
      [],
    );
  });

  it("--default-rules loads the repository's rules/ directory", () => {
    const files = attackRecording().write(dir, "attack2");
    const r = replay(files, ["--default-rules"]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.alerts.some((a) => a.ruleId === "hangar.exec.shell_from_server"));
  });

  it("a broken rule file stops replay with path:line:col", () => {
    const files = normalRecording().write(dir, "normal2");
    const bad = join(dir, "bad.rules");
    spawnSync("sh", ["-c", `printf 'rule x {\\n  event exec where process.binry = "a"\\n}\\n' > ${bad}`]);
    const r = replay(files, ["--rules", bad]);
    assert.notEqual(r.status, 0);
    assert.match(
      r.stderr,
      new RegExp(
        `${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2:20: HANGAR_ERR_RULE_UNKNOWN_FIELD: unknown field "process.binry" \\(did you mean "process.binary"\\?\\)`,
      ),
    );
  });
});
