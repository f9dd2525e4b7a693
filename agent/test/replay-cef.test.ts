/**
 * `hangar-agent replay --format cef`: the same alerts as --format json, one CEF:0 line each,
 * from the SIEM encoder; liblognorm parses every line.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { lognormalizeCef, rsyslogAvailable } from "@hangar/testkit";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../../test/fixtures/realistic-tetragon.jsonl", import.meta.url));

function run(format: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [MAIN, "replay", "--default-rules", "--format", format, "--tetragon", FIXTURE],
    {
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

it("replay --format cef prints one CEF:0 line per alert, the same alerts as --format json", async (t) => {
  const json = run("json");
  if (json.status === 2 && json.stderr.includes("HANGAR_ERR_PLUGIN_LOAD")) {
    t.skip(`the rule engine is not built here, so replay raises no alerts: ${json.stderr.trim()}`);
    return;
  }
  assert.equal(json.status, 0, json.stderr);
  const cef = run("cef");
  assert.equal(cef.status, 0, cef.stderr);
  const jsonLines = json.stdout
    .trim()
    .split("\n")
    .filter((l) => l !== "");
  const cefLines = cef.stdout
    .trim()
    .split("\n")
    .filter((l) => l !== "");
  assert.ok(jsonLines.length > 0, "the fixture raises alerts with the default rules");
  assert.equal(cefLines.length, jsonLines.length);
  const alerts = jsonLines.map((l) => JSON.parse(l) as { id: string; ruleId: string });
  cefLines.forEach((line, i) => {
    assert.match(line, /^CEF:0\|MCP Hangar\|hangar-agent\|/);
    assert.ok(line.includes(` externalId=${alerts[i]?.id ?? "?"} `), line);
    assert.ok(line.includes(`cs4=${alerts[i]?.ruleId ?? "?"}`), line);
  });
  const a = rsyslogAvailable();
  if (!a.ok) {
    t.diagnostic(`lognormalizer check skipped: ${a.reason}`);
    return;
  }
  const parsed = await lognormalizeCef(cefLines);
  parsed.forEach((p, i) => assert.equal(p["unparsed"], undefined, `line ${i} parses: ${cefLines[i] ?? ""}`));
});
