/**
 * `hangar-agent replay` as users run it: the CLI in a child process over
 * recording files, checking stdout, the stderr contract and exit codes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { toJsonString } from "@bufbuild/protobuf";
import { hangar, observer, tetragon } from "@hangar/proto";
import { buildScenario } from "../src/simulator/scenario.js";
import { corpusPath, tempDir } from "@hangar/testkit";
import { readFileSync } from "node:fs";

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));

interface Summary {
  read: number;
  kept: number;
  dropped: Record<string, number>;
  malformed: { file: string; line: number; error: string }[];
  malformed_omitted: number;
  alerts: number;
  folded: Record<string, number>;
  unknown_fields: Record<string, number>;
  unsupported_hooks: Record<string, number>;
}

function run(args: string[]): {
  status: number | null;
  stdout: string;
  stderr: string;
  summary: Summary | undefined;
} {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  const lines = r.stderr.trimEnd().split("\n");
  let summary: Summary | undefined;
  try {
    summary = JSON.parse(lines[lines.length - 1] ?? "") as Summary;
  } catch {
    summary = undefined;
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, summary };
}

/** Writes the scenario as `tetra getevents -o json` / `hubble observe -o json` / CallTrace JSON lines. */
function writeScenario(dir: string) {
  const s = buildScenario();
  const files = {
    tetragon: join(dir, "tetragon.jsonl"),
    hubble: join(dir, "hubble.jsonl"),
    traces: join(dir, "traces.jsonl"),
  };
  writeFileSync(
    files.tetragon,
    s.tetragon
      .map((m) => toJsonString(tetragon.GetEventsResponseSchema, m, { useProtoFieldName: true }))
      .join("\n") + "\n",
  );
  writeFileSync(
    files.hubble,
    s.hubble
      .map((m) => toJsonString(observer.GetFlowsResponseSchema, m, { useProtoFieldName: true }))
      .join("\n") + "\n",
  );
  writeFileSync(files.traces, s.traces.map((m) => toJsonString(hangar.CallTraceSchema, m)).join("\n") + "\n");
  return { scenario: s, files };
}

describe("hangar-agent replay", () => {
  it("merges Tetragon, Hubble and trace recordings by time and ties events to the tool call that caused them", () => {
    const { dir, cleanup } = tempDir("hangar-replay-");
    try {
      const { scenario, files } = writeScenario(dir);
      const r = run([
        "replay",
        "--tetragon",
        files.tetragon,
        "--hubble",
        files.hubble,
        "--traces",
        files.traces,
        "--events",
        "-",
      ]);
      assert.equal(r.status, 0, r.stderr);
      const total = scenario.tetragon.length + scenario.hubble.length + scenario.traces.length;
      assert.deepEqual(r.summary, {
        read: total,
        kept: total - 4 - 2,
        dropped: { not_mcp_pod: 4, sensor_notice: 2 },
        malformed: [],
        malformed_omitted: 0,
        alerts: 0,
        folded: {},
        unknown_fields: {},
        unsupported_hooks: {},
      });
      const events = r.stdout
        .trim()
        .split("\n")
        .map(
          (l) =>
            JSON.parse(l) as {
              time: string;
              kind: string;
              sensor: string;
              process?: { binary: string };
              attributions?: { tool: string; reason: string; sessionId: string }[];
              detail?: unknown;
              connect?: { destinationIp: string };
            },
        );
      assert.equal(events.length, total - 6);
      const times = events.map((e) => Date.parse(e.time));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
        "events come out in time order across files",
      );
      assert.deepEqual(
        new Set(events.map((e) => e.sensor)),
        new Set(["SENSOR_TETRAGON", "SENSOR_HUBBLE", "SENSOR_PROXY"]),
      );
      // The shell spawned during the injected call is attributed to it by time window …
      const sh = events.find((e) => e.kind === "EVENT_KIND_EXEC" && e.process?.binary === "/bin/sh");
      assert.equal(sh?.attributions?.[0]?.tool, "fetch_forecast_report");
      assert.equal(sh?.attributions?.[0]?.reason, "ATTRIBUTION_REASON_TIME_WINDOW");
      // … and curl's connection after the call ended, by process lineage.
      const exfil = events.find(
        (e) => e.kind === "EVENT_KIND_CONNECT" && e.connect?.destinationIp === "203.0.113.66",
      );
      assert.equal(exfil?.attributions?.[0]?.tool, "fetch_forecast_report");
      assert.equal(exfil?.attributions?.[0]?.reason, "ATTRIBUTION_REASON_LINEAGE");
      assert.equal(exfil?.attributions?.[0]?.sessionId, "session-7f3a");
    } finally {
      cleanup();
    }
  });

  it("reads hand-written lines in the exact upstream JSON shapes", () => {
    const r = run([
      "replay",
      "--tetragon",
      join(FIXTURES, "realistic-tetragon.jsonl"),
      "--hubble",
      join(FIXTURES, "realistic-hubble.jsonl"),
      "--events",
      "-",
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.summary?.malformed, []);
    assert.equal(r.summary?.read, 8);
    assert.equal(r.summary?.dropped.sensor_notice, 1, "the lost_events line");
    const kinds = r.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { kind: string }).kind);
    assert.ok(
      kinds.includes("EVENT_KIND_EXEC") &&
        kinds.includes("EVENT_KIND_CONNECT") &&
        kinds.includes("EVENT_KIND_FILE"),
      kinds.join(","),
    );
    assert.ok(kinds.includes("EVENT_KIND_FLOW") && kinds.includes("EVENT_KIND_DNS"), kinds.join(","));
  });

  it("reports malformed lines of every kind by file:line, skips them and processes the rest", () => {
    const file = join(FIXTURES, "malformed-tetragon.jsonl");
    const r = run(["replay", "--tetragon", file, "--events", "-"]);
    assert.equal(r.status, 0, "malformed lines do not fail the run without --strict");
    const s = r.summary;
    assert.ok(s !== undefined, `last stderr line is the JSON summary:\n${r.stderr}`);
    const byLine = new Map(s.malformed.map((m) => [m.line, m.error]));
    assert.deepEqual([...byLine.keys()], [2, 3, 4, 5, 6, 9, 10, 12]);
    assert.match(byLine.get(2) ?? "", /not valid JSON/);
    assert.match(byLine.get(3) ?? "", /not valid JSON/);
    assert.match(byLine.get(4) ?? "", /unknown tetragon event variant "process_future"/);
    assert.match(byLine.get(5) ?? "", /^process_exec\.process\.pid: .*expected number \(uint32\), got "abc"/);
    assert.match(byLine.get(6) ?? "", /expected a JSON object, got an array/);
    assert.match(byLine.get(9) ?? "", /expected a JSON object, got string/);
    assert.match(byLine.get(10) ?? "", /^process_kprobe\.args\[0\]\.sock_arg\.dport: /);
    assert.match(byLine.get(12) ?? "", /no tetragon event in the line/);
    assert.ok(s.malformed.every((m) => m.file === file));
    // Blank line 7 is not counted; lines 1, 8, 11 (unknown field, accepted) and 13 are events.
    assert.equal(s.read, 12);
    assert.equal(s.kept, 4);
    const args = r.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { process?: { binary: string; arguments?: string } }).process);
    assert.deepEqual(
      args.map((p) => p?.arguments ?? p?.binary),
      ["1", "2", "/bin/ok", "3"],
    );
    // People get one line per problem, before the summary.
    assert.match(
      r.stderr,
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:4: unknown tetragon event variant`),
    );
  });

  it("--strict exits 1 when any line was malformed, still printing the summary", () => {
    const r = run(["replay", "--strict", "--tetragon", join(FIXTURES, "malformed-tetragon.jsonl")]);
    assert.equal(r.status, 1);
    assert.equal(r.summary?.malformed.length, 8);
    const ok = run(["replay", "--strict", "--tetragon", join(FIXTURES, "realistic-tetragon.jsonl")]);
    assert.equal(ok.status, 0, ok.stderr);
  });

  it("rejects bad usage with exit 2 and a message that names the problem", () => {
    const none = run(["replay"]);
    assert.equal(none.status, 2);
    assert.match(
      none.stderr,
      /HANGAR_ERR_CONFIG_INVALID: replay needs at least one of --tetragon, --hubble or --traces/,
    );
    const missing = run(["replay", "--tetragon", "/nonexistent/recording.jsonl"]);
    assert.equal(missing.status, 2);
    assert.match(
      missing.stderr,
      /HANGAR_ERR_RECORDING_READ: cannot read --tetragon \/nonexistent\/recording.jsonl/,
    );
    const badFormat = run([
      "replay",
      "--format",
      "xml",
      "--tetragon",
      join(FIXTURES, "realistic-tetragon.jsonl"),
    ]);
    assert.equal(badFormat.status, 2);
    assert.match(badFormat.stderr, /--format must be json or cef/);
    const learn = run(["replay", "--learn", "--tetragon", join(FIXTURES, "realistic-tetragon.jsonl")]);
    assert.equal(learn.status, 2);
    assert.match(learn.stderr, /--learn needs --db FILE/);
    const unknownFlag = run(["replay", "--tetragonn", "x"]);
    assert.equal(unknownFlag.status, 2);
    assert.match(unknownFlag.stderr, /Unknown option '--tetragonn'/);
    const help = run(["replay", "--help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: hangar-agent replay/);
  });

  it("stops with exit 2 and names the path when --rules points at nothing", () => {
    const r = run([
      "replay",
      "--rules",
      "/nonexistent/rules",
      "--tetragon",
      join(FIXTURES, "realistic-tetragon.jsonl"),
    ]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /HANGAR_ERR_PLUGIN_LOAD: the rule engine did not start: .*HANGAR_ERR_RULE_READ/s);
    assert.match(r.stderr, /\/nonexistent\/rules/);
    assert.equal(r.stdout, "");
  });

  it("a first-time user whose pods carry no provider label is told once how to label or map them", () => {
    const { dir, cleanup } = tempDir("hangar-replay-hint-");
    try {
      // Two processes of the docs' example pod default/xwing, which has no mcp-hangar.io/provider label.
      const file = join(dir, "unlabelled.jsonl");
      const xwing = readFileSync(corpusPath("tetragon.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l.includes('"name":"xwing"'));
      writeFileSync(file, `${xwing.join("\n")}\n${xwing.join("\n")}\n`);
      const r = run(["replay", "--tetragon", file]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.summary?.kept, 0);
      const hints = r.stderr.split("\n").filter((l) => l.startsWith("kept 0 events"));
      assert.equal(hints.length, 1, r.stderr);
      assert.match(
        hints[0] ?? "",
        /only events of pods labelled mcp-hangar\.io\/provider=<provider> are kept/,
      );
      assert.match(hints[0] ?? "", /\(default\/xwing\)/);
      assert.match(hints[0] ?? "", /kubectl label pod -n default xwing mcp-hangar\.io\/provider=<provider>/);
      assert.match(hints[0] ?? "", /--provider default\/xwing=<provider>/);
      const mapped = run([
        "replay",
        "--tetragon",
        file,
        "--provider",
        "default/xw=xwing-tools",
        "--events",
        "-",
      ]);
      assert.equal(mapped.summary?.kept, 2);
      assert.ok(!mapped.stderr.includes("kept 0 events"));
      assert.match(mapped.stdout, /"provider":"xwing-tools"/);
      const bad = run(["replay", "--tetragon", file, "--provider", "xwing-tools"]);
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /--provider "xwing-tools" is not NAMESPACE\[\/POD-PREFIX\]=PROVIDER/);
    } finally {
      cleanup();
    }
  });

  it("--pods resolves events that carry only a container id through the pod list", () => {
    const { dir, cleanup } = tempDir("hangar-replay-pods-");
    try {
      const file = join(dir, "bare.jsonl");
      // The corpus event Tetragon had not enriched yet: process.docker and no pod.
      const bare = readFileSync(corpusPath("tetragon.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l.includes('"path":"/etc/shadow"'));
      assert.equal(bare.length, 1);
      writeFileSync(file, `${bare[0] ?? ""}\n`);
      const alone = run(["replay", "--tetragon", file]);
      assert.equal(alone.summary?.kept, 0);
      const pods = join(dir, "pods.json");
      writeFileSync(
        pods,
        JSON.stringify({
          apiVersion: "v1",
          kind: "List",
          items: [
            {
              apiVersion: "v1",
              kind: "Pod",
              metadata: {
                name: "fs-tools-5d8c7b9f6-8xk2p",
                namespace: "mcp",
                uid: "7c1e2a90-4b3d-4f7e-9a1b-2c3d4e5f6a7b",
                labels: { "mcp-hangar.io/provider": "fs-tools" },
              },
              status: {
                podIPs: [{ ip: "10.244.1.23" }],
                containerStatuses: [
                  {
                    name: "server",
                    image: "ghcr.io/acme/fs-tools-mcp:1.4.2",
                    containerID:
                      "containerd://3f6b9a1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8",
                  },
                ],
              },
            },
          ],
        }),
      );
      const r = run(["replay", "--tetragon", file, "--pods", pods, "--events", "-"]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.summary?.kept, 1);
      const ev = JSON.parse(r.stdout.trim()) as {
        provider: string;
        pod: { name: string; namespace: string };
      };
      assert.equal(ev.provider, "fs-tools");
      assert.deepEqual([ev.pod.namespace, ev.pod.name], ["mcp", "fs-tools-5d8c7b9f6-8xk2p"]);
      writeFileSync(pods, "not json");
      const broken = run(["replay", "--tetragon", file, "--pods", pods]);
      assert.equal(broken.status, 2);
      assert.match(
        broken.stderr,
        /HANGAR_ERR_RECORDING_READ: --pods .* is not JSON: give the output of kubectl get pods -o json/,
      );
    } finally {
      cleanup();
    }
  });
});
