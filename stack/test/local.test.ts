/**
 * `hangar-local` (npm start) end to end, as a user runs it: the
 * built CLI as a child process with a short learning window and a temporary
 * data dir. The scripted MCP client's poisoned call must produce alerts that
 * name that call and its session, as CEF lines a real CEF parser (liblognorm's
 * lognormalizer) accepts; an audit EnforcementEvent with a diff and nothing
 * applied; `hangar-ctl baseline show` and `hangar-ctl alerts` must work against
 * the running stack; a second run on the same data dir reuses the baseline.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { lognormalizeCef, skipUnlessRsyslog } from "@hangar/testkit";
import { CTL, MAIN, parseCef, startLocal, type Line, type Run } from "./local-run.js";

function ctl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CTL, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    p.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("hangar-local (npm start)", () => {
  let dir: string;
  let first: Run;
  let ready: Line;
  let session: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "hangar-local-test-"));
    // The simulator path (what a user without root gets); real mode is local-probe.test.ts.
    first = startLocal([
      "--sensor",
      "simulator",
      "--fast",
      "--data-dir",
      dir,
      "--api-listen",
      "127.0.0.1:0",
      "--proxy-listen",
      "127.0.0.1:0",
    ]);
    ready = await first.waitFor((l) => l.kind === "ready", "the scenario to finish");
    session = ready["session"] as string;
  });

  after(async () => {
    if (first.child.exitCode === null) {
      first.child.kill("SIGINT");
      await first.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const alerts = (): { cef: string; alert: Record<string, unknown> }[] =>
    first.lines.filter((l) => l.kind === "alert") as unknown as {
      cef: string;
      alert: Record<string, unknown>;
    }[];

  it("says first which sensor runs: the simulator, as asked", () => {
    assert.equal(first.lines[0]?.kind, "sensor");
    assert.equal(first.lines[0]?.["mode"], "simulator");
    assert.equal(first.lines[0]?.["chosen"], true);
    assert.equal(first.lines.find((l) => l.kind === "stack")?.["sensor"], "simulator");
    assert.equal(first.lines.find((l) => l.kind === "effects")?.["real"], false);
  });

  it("learns first, with progress, on a new data dir", () => {
    const stack = first.lines.find((l) => l.kind === "stack");
    assert.equal(stack?.["reused"], false);
    const progress = first.lines.filter((l) => l.kind === "progress");
    assert.ok(progress.length >= 2, "progress is reported while learning");
    const last = progress.at(-1);
    assert.equal(last?.["done"], true);
    assert.equal(last?.["state"], "enforcing");
    assert.ok(
      ((last?.["items"] as Record<string, number>)["egress"] ?? 0) >= 1,
      "an egress item was learned",
    );
  });

  it("the alerts of the poisoned call name that call and its session (the join)", () => {
    const list = alerts();
    const rules = list.map((a) => a.alert["ruleId"]);
    for (const rule of [
      "hangar.exec.shell_from_server",
      "hangar.cred.service_account_token_read",
      "hangar.exec.reverse_shell",
      "baseline/new-egress",
    ])
      assert.ok(rules.includes(rule), `${rule} among ${rules.join(", ")}`);
    const reverse = list.find((a) => a.alert["ruleId"] === "hangar.exec.reverse_shell")?.alert;
    const calls = reverse?.["toolCalls"] as {
      tool: string;
      sessionId: string;
      caller?: { clientName?: string };
    }[];
    assert.equal(calls[0]?.tool, "run_report");
    assert.equal(calls[0]?.sessionId, session);
    assert.equal(calls[0]?.caller?.clientName, "travel-planner");
    assert.match(
      reverse?.["explanation"] as string,
      new RegExp(
        `caller travel-planner .* → session ${session} → tools/call run_report .* → process /bin/bash \\(pid \\d+\\) → connect 203\\.0\\.113\\.66:443/tcp`,
      ),
    );
  });

  it("every alert is a CEF line that a strict reader parses, with provider, tool and session", () => {
    const list = alerts();
    assert.ok(list.length >= 4);
    for (const { cef, alert } of list) {
      const { header, ext } = parseCef(cef);
      assert.deepEqual(header.slice(0, 3), ["CEF:0", "MCP Hangar", "hangar-agent"]);
      assert.equal(header[5], alert["ruleId"]);
      assert.equal(ext["cs1Label"], "provider");
      assert.equal(ext["cs1"], "weather");
      assert.equal(ext["cs2"], "run_report");
      assert.equal(ext["cs3"], session);
    }
    const conn = list.find((a) => a.alert["ruleId"] === "hangar.exec.reverse_shell");
    const { ext } = parseCef(conn?.cef ?? "");
    assert.equal(ext["dst"], "203.0.113.66");
    assert.equal(ext["dpt"], "443");
    assert.equal(ext["sproc"], "/bin/bash");
  });

  it("liblognorm's CEF parser accepts every line", { skip: skipUnlessRsyslog() }, async () => {
    const list = alerts();
    const parsed = await lognormalizeCef(list.map((a) => a.cef));
    assert.equal(parsed.length, list.length);
    parsed.forEach((p, i) => {
      assert.equal(p["unparsed"], undefined, `line ${i} rejected`);
      const ext = (p["cef"] as { Extensions: Record<string, string> }).Extensions;
      assert.equal(ext["cs3"], session);
    });
  });

  it("the enforcer records an audit EnforcementEvent with the NetworkPolicy and its diff; nothing applied", () => {
    const events = first.lines.filter((l) => l.kind === "enforcement");
    assert.ok(events.length >= 1);
    const e = events[0]?.["event"] as Record<string, string>;
    assert.equal(e["mode"], "audit");
    assert.equal(e["outcome"], "audited");
    assert.equal(e["action"], "block_egress");
    assert.equal(e["destination"], "203.0.113.66");
    assert.equal(e["objectKind"], "NetworkPolicy");
    assert.match(e["diff"] ?? "", /^--- \/dev\/null\n\+\+\+ new\/NetworkPolicy\//);
    const manifest = JSON.parse(e["manifest"] ?? "{}") as { metadata: { labels: Record<string, string> } };
    assert.equal(manifest.metadata.labels["app.kubernetes.io/managed-by"], "hangar-controller");
    assert.match(events[0]?.["against"] as string, /empty cluster/);
    // The enforcement event as the SIEM record the controller exports.
    const { header, ext } = parseCef(events[0]?.["cef"] as string);
    assert.deepEqual(header.slice(0, 3), ["CEF:0", "MCP Hangar", "hangar-controller"]);
    assert.equal(ext["act"], "block_egress");
    assert.equal(ext["outcome"], "audited");
    assert.equal(ext["dst"], "203.0.113.66");
    assert.equal(ready["clusterObjects"], 0, "audit mode applied nothing to the (in-memory) cluster");
  });

  it("hangar-ctl baseline show and alerts work against the running stack", async () => {
    const api = ready["api"] as string;
    const token = ready["token"] as string;
    assert.equal(token, "hangar-local");
    const show = await ctl(["baseline", "show", "weather", "--server", api, "--token", token, "-o", "json"]);
    assert.equal(show.code, 0, show.stderr);
    const report = JSON.parse(show.stdout) as {
      provider: string;
      state: string;
      facets: Record<string, { value: string }[]>;
    };
    assert.equal(report.provider, "weather");
    assert.equal(report.state, "enforcing");
    assert.ok(report.facets["egress"]?.some((e) => e.value === "198.51.100.7:443/tcp"));
    const table = await ctl(["alerts", "--server", api, "--token", token]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /hangar\.exec\.reverse_shell/);
    const json = await ctl([
      "alerts",
      "--server",
      api,
      "--token",
      token,
      "--provider",
      "weather",
      "-o",
      "json",
    ]);
    assert.equal(json.code, 0, json.stderr);
    const listed = (JSON.parse(json.stdout) as { ruleId: string }[]).map((a) => a.ruleId);
    assert.ok(listed.includes("hangar.cred.service_account_token_read"));
    const denied = await ctl(["alerts", "--server", api]);
    assert.equal(denied.code, 4, "without the token: not authenticated");
  });

  it("Ctrl-C stops it cleanly; a second run on the same data dir reuses the baseline", async () => {
    first.child.kill("SIGINT");
    assert.equal(await first.exited, 0, first.stderr());
    assert.ok(first.lines.some((l) => l.kind === "stopped"));
    const second = startLocal([
      "--sensor",
      "simulator",
      "--fast",
      "--exit",
      "--data-dir",
      dir,
      "--api-listen",
      "127.0.0.1:0",
      "--proxy-listen",
      "127.0.0.1:0",
    ]);
    const code = await second.exited;
    assert.equal(code, 0, second.stderr());
    assert.equal(second.lines.find((l) => l.kind === "stack")?.["reused"], true);
    const progress = second.lines.filter((l) => l.kind === "progress");
    assert.equal(progress.length, 1);
    assert.equal(progress[0]?.["reused"], true);
    const rules = second.lines
      .filter((l) => l.kind === "alert")
      .map((l) => (l["alert"] as { ruleId: string }).ruleId);
    assert.ok(rules.includes("hangar.exec.reverse_shell"));
    assert.ok(second.lines.some((l) => l.kind === "enforcement"));
  });

  it("--help helps and a bad flag is a usage error", async () => {
    const help = spawn(process.execPath, [MAIN, "--help"], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    help.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    assert.equal(await new Promise((r) => help.once("exit", r)), 0);
    assert.match(out, /--fast/);
    assert.match(out, /--data-dir DIR/);
    const bad = spawn(process.execPath, [MAIN, "--learning-window", "soon"], { stdio: "ignore" });
    assert.equal(await new Promise((r) => bad.once("exit", r)), 2);
  });
});
