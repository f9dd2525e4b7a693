/**
 * The join, end to end: an MCP client calls a tool through the proxy; the
 * server (an SDK server playing pod mcp/files-0) runs a real child process that
 * opens a real TCP connection. What the child does is reported the way Tetragon
 * reports it (process_exec and a tcp_connect kprobe, in Tetragon's JSON export
 * format, built from what the test observed: the child's pid, the moment it was
 * spawned, the moment its connection was accepted, the real destination port),
 * as a live sensor stream. The proxy's call traces reach the agent through its
 * TraceSource shape (`feed.source()`), as the agent⇄controller stream will
 * deliver them. The agent's pipeline (normalize → resolve → correlate → detect)
 * runs with a test Detector that alerts on every connect; each alert must name
 * the call that caused the connection.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { create, fromJson } from "@bufbuild/protobuf";
import { hangar, tetragon } from "@hangar/proto";
import { createPipeline, startAgent, startSimulator, type SensorRecord } from "@hangar/agent";
import { Counters, FunctionDetector, MemoryAlertSink, MemoryTraceSource, type Alert } from "@hangar/core";
import { pino } from "pino";
import type { ToolContext } from "@hangar/testkit/mcp";
import { connect, startRig, textOf, type Rig } from "./helpers.js";
import { waitFor } from "@hangar/testkit";

const NS = "mcp";
const POD = "files-0";
const SERVER_EXEC = Buffer.from("node-a:1000000:1").toString("base64");

/** A push-driven live source (a sensor stream), ended by `signal`. */
function liveSource(signal: AbortSignal): {
  push(r: SensorRecord): void;
  iterable: AsyncIterable<SensorRecord>;
} {
  const queue: SensorRecord[] = [];
  let wake: (() => void) | undefined;
  signal.addEventListener("abort", () => wake?.(), { once: true });
  return {
    push(r) {
      queue.push(r);
      wake?.();
    },
    iterable: (async function* () {
      for (;;) {
        while (queue.length > 0) yield queue.shift() as SensorRecord;
        if (signal.aborted) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    })(),
  };
}

function tetragonProcess(pid: number, execId: string, parentExecId: string, binary: string, args: string) {
  return {
    exec_id: execId,
    pid,
    uid: 1000,
    cwd: "/app",
    binary,
    arguments: args,
    flags: "execve clone",
    start_time: new Date().toISOString(),
    pod: {
      namespace: NS,
      name: POD,
      pod_labels: { "mcp-hangar.io/provider": "files" },
      container: { id: "containerd://0f1e2d3c4b5a", name: "server", image: { id: "", name: "files:1" } },
    },
    parent_exec_id: parentExecId,
  };
}

interface Child {
  pid: number;
  execId: string;
}

describe("join: runtime events of a tool's child process name the call that caused them", () => {
  let rig: Rig;
  let dest: Server;
  let destPort = 0;
  const sink = new MemoryAlertSink();
  const ac = new AbortController();
  let sensor: ReturnType<typeof liveSource>;
  let pipeline: Promise<void>;
  const children = new Map<number, Child>();
  /** Everything the "sensor" reported and every trace the proxy published: the recording of this run. */
  const recorded: tetragon.GetEventsResponse[] = [];
  const recordedTraces: hangar.CallTrace[] = [];
  const push = (msg: tetragon.GetEventsResponse): void => {
    recorded.push(msg);
    sensor.push({ sensor: "tetragon", msg });
  };

  /** The "sensor": reports what the child processes do, in Tetragon's format. */
  const reportExec = (c: Child, binary: string, args: string): void => {
    push(
      fromJson(tetragon.GetEventsResponseSchema, {
        process_exec: { process: tetragonProcess(c.pid, c.execId, SERVER_EXEC, binary, args) },
        node_name: "node-a",
        time: new Date().toISOString(),
      }),
    );
  };
  const reportConnect = (c: Child, sport: number): void => {
    push(
      fromJson(tetragon.GetEventsResponseSchema, {
        process_kprobe: {
          process: tetragonProcess(c.pid, c.execId, SERVER_EXEC, process.execPath, ""),
          function_name: "tcp_connect",
          args: [
            {
              sock_arg: {
                family: "AF_INET",
                type: "SOCK_STREAM",
                protocol: "IPPROTO_TCP",
                saddr: "127.0.0.1",
                daddr: "127.0.0.1",
                sport,
                dport: destPort,
                state: "TCP_SYN_SENT",
              },
            },
          ],
          action: "KPROBE_ACTION_POST",
          policy_name: "connect",
        },
        node_name: "node-a",
        time: new Date().toISOString(),
      }),
    );
  };

  /** Runs a real child that waits `delayMs`, connects to the destination and says its pid. */
  const runChild = (delayMs: number): Child => {
    const code = `setTimeout(() => { const s = require("node:net").connect(${destPort}, "127.0.0.1", () => s.end(String(process.pid))); }, ${delayMs});`;
    const p = spawn(process.execPath, ["-e", code], { stdio: "ignore" });
    const pid = p.pid ?? 0;
    const child = { pid, execId: Buffer.from(`node-a:${Date.now()}:${pid}`).toString("base64") };
    children.set(pid, child);
    reportExec(child, process.execPath, `-e ${code}`);
    return child;
  };

  const fetchTool = async ({ args }: ToolContext) => {
    // The overlapping-calls case starts both children once both calls are in flight.
    const after = Number(args["spawnAfterMs"] ?? 0);
    if (after > 0) await new Promise((r) => setTimeout(r, after));
    runChild(Number(args["delayMs"] ?? 0));
    // Keep the call open a little (the overlapping-calls case holds both calls open together).
    await new Promise((r) => setTimeout(r, Number(args["holdMs"] ?? 150)));
    return { content: [{ type: "text" as const, text: "fetched" }] };
  };

  before(async () => {
    dest = createServer((sock: Socket) => {
      const sport = sock.remotePort ?? 0;
      let data = "";
      sock.setEncoding("utf8");
      sock.on("data", (d: string) => (data += d));
      sock.on("end", () => {
        const child = children.get(Number(data));
        if (child !== undefined) reportConnect(child, sport);
      });
    });
    await new Promise<void>((r) => dest.listen(0, "127.0.0.1", r));
    destPort = (dest.address() as { port: number }).port;
    sensor = liveSource(ac.signal);
    rig = await startRig({
      pods: [{ pod: POD, tools: { fetch: fetchTool } }],
      config: { providers: [{ provider: "files", namespace: NS, service: "files" }] },
    });
    // startRig serves provider "weather" by default; point "files" at the same pod.
    rig.proxy.directory.set("files", [
      {
        key: `${NS}/${POD}`,
        podNamespace: NS,
        podName: POD,
        podUid: "uid-files-0",
        node: "node-a",
        address: "127.0.0.1",
        port: rig.pods[0]!.port,
        url: rig.pods[0]!.url,
        ready: true,
        slice: "",
      },
    ]);
    const counters = new Counters();
    const agentPipeline = createPipeline({
      counters,
      correlate: { graceMs: 50 },
      detector: new FunctionDetector("test/connect", (ev) =>
        ev.kind === hangar.EventKind.CONNECT
          ? [
              create(hangar.AlertSchema, {
                id: ev.id,
                ruleId: "test/connect",
                provider: ev.provider,
                evidence: [ev],
              }),
            ]
          : undefined,
      ),
      sinks: [sink],
    });
    const traces = (async function* (): AsyncIterable<SensorRecord> {
      for await (const trace of rig.proxy.proxy.feed.source().traces(ac.signal)) {
        recordedTraces.push(trace);
        yield { sensor: "proxy", trace };
      }
    })();
    pipeline = agentPipeline.run([traces, sensor.iterable]);
  });

  after(async () => {
    ac.abort();
    await pipeline;
    await rig.close();
    await new Promise<void>((r) => dest.close(() => r()));
  });

  const alertFor = (pid: number): Alert | undefined =>
    sink.alerts.find((a) => a.evidence[0]?.process?.pid === pid);

  it("names the caller, session, tool and redacted arguments of the call whose child connected", async () => {
    const { client, transport } = await connect(new URL(`${rig.proxy.url}/mcp/files`), { name: "planner" });
    const before = new Set(children.keys());
    assert.equal(
      textOf(
        await client.callTool({
          name: "fetch",
          arguments: { url: "https://example.net", api_key: "s3cr3t" },
        }),
      ),
      "fetched",
    );
    const pid = [...children.keys()].find((p) => !before.has(p)) ?? 0;
    await waitFor("the connect alert", () => alertFor(pid) !== undefined, undefined, 5000);
    const alert = alertFor(pid)!;
    const a = alert.evidence[0]?.attributions;
    assert.equal(a?.length, 1);
    assert.equal(a?.[0]?.tool, "fetch");
    assert.equal(a?.[0]?.sessionId, transport.sessionId);
    assert.equal(a?.[0]?.confidence, 1);
    assert.equal(alert.toolCalls.length, 1);
    assert.equal(alert.toolCalls[0]?.caller?.clientName, "planner");
    assert.equal(alert.toolCalls[0]?.podName, POD);
    assert.match(
      alert.explanation,
      new RegExp(
        `^caller planner \\(planner 1\\.2\\.3, unauthenticated\\) → session ${transport.sessionId} → tools/call fetch \\{"url":"https://example\\.net","api_key":"\\[REDACTED:key\\]"\\} \\[trace [0-9a-f]{32}/[0-9a-f]{16}; process lineage, confidence 1\\.00\\] → process ${process.execPath.replace(/[/.]/g, "\\$&")} \\(pid ${pid}\\) → connect 127\\.0\\.0\\.1:${destPort}/tcp$`,
      ),
    );
    assert.ok(!alert.explanation.includes("s3cr3t"), "the secret never reaches the alert");
    await client.close();
  });

  it("with overlapping calls, names every candidate with its confidence", async () => {
    const one = await connect(new URL(`${rig.proxy.url}/mcp/files`), { name: "alice-agent" });
    const two = await connect(new URL(`${rig.proxy.url}/mcp/files`), { name: "bob-agent" });
    const before = new Set(children.keys());
    await Promise.all([
      one.client.callTool({
        name: "fetch",
        arguments: { url: "https://a.example", spawnAfterMs: 150, holdMs: 400 },
      }),
      two.client.callTool({
        name: "fetch",
        arguments: { url: "https://b.example", spawnAfterMs: 150, holdMs: 400 },
      }),
    ]);
    const pids = [...children.keys()].filter((p) => !before.has(p));
    assert.equal(pids.length, 2);
    await waitFor("both connect alerts", () => pids.every((p) => alertFor(p) !== undefined), undefined, 5000);
    for (const pid of pids) {
      const alert = alertFor(pid)!;
      const sessions = alert.evidence[0]?.attributions.map((x) => x.sessionId).sort();
      assert.deepEqual(sessions, [one.transport.sessionId, two.transport.sessionId].sort());
      assert.ok(alert.evidence[0]?.attributions.every((x) => x.confidence === 0.5));
      assert.equal(alert.toolCalls.length, 2);
      assert.match(
        alert.explanation,
        /confidence 0\.50, 1 of 2 overlapping calls\] → process .* → connect 127\.0\.0\.1:/,
      );
      assert.match(alert.explanation, /\n {2}or caller /);
    }
    await one.client.close();
    await two.client.close();
  });

  it("a child that outlives its call stays attributed to it, not to the call running when it connects", async () => {
    const first = await connect(new URL(`${rig.proxy.url}/mcp/files`), { name: "first" });
    const second = await connect(new URL(`${rig.proxy.url}/mcp/files`), { name: "second" });
    const before = new Set(children.keys());
    // The call returns at once; its child connects 500 ms later.
    await first.client.callTool({ name: "fetch", arguments: { delayMs: 500, holdMs: 0 } });
    const pid = [...children.keys()].find((p) => !before.has(p)) ?? 0;
    // Meanwhile another call is in flight on the same pod when the child connects.
    const waiting = second.client.callTool({ name: "wait", arguments: { ms: 1500, tag: "concurrent" } });
    await waitFor("the late connect alert", () => alertFor(pid) !== undefined, undefined, 5000);
    const alert = alertFor(pid)!;
    const a = alert.evidence[0]?.attributions ?? [];
    assert.equal(a.length, 1);
    assert.equal(a[0]?.sessionId, first.transport.sessionId);
    assert.equal(a[0]?.reason, hangar.AttributionReason.LINEAGE);
    assert.match(
      alert.explanation,
      /^caller first .* → tools\/call fetch .*process lineage, confidence 1\.00\]/,
    );
    await waiting;
    await first.client.close();
    await second.client.close();
  });

  it("the recording of this run through the whole agent (sensor simulator over gRPC, traces through the TraceSource port) names the same calls", async () => {
    const live = sink.alerts.filter((a) => a.evidence[0]?.process?.pid !== undefined);
    assert.ok(live.length >= 4, "the scenarios above produced their alerts");
    const sim = await startSimulator({
      tetragon: { address: "127.0.0.1:0", messages: [...recorded], applyFilters: false },
    });
    const replayed = new MemoryAlertSink();
    const agent = await startAgent({
      node: "node-a",
      namespaces: [],
      tetragon: { address: sim.tetragonAddress ?? "" },
      traceSource: new MemoryTraceSource([...recordedTraces]),
      detector: new FunctionDetector("test/connect", (ev) =>
        ev.kind === hangar.EventKind.CONNECT
          ? [
              create(hangar.AlertSchema, {
                id: ev.id,
                ruleId: "test/connect",
                provider: ev.provider,
                evidence: [ev],
              }),
            ]
          : undefined,
      ),
      sinks: [replayed],
      graceMs: 50,
      logger: pino({ level: "silent" }),
    });
    try {
      await waitFor("the replayed alerts", () => replayed.alerts.length >= live.length, undefined, 10_000);
      const summary = (alerts: readonly Alert[]) =>
        alerts
          .map((a) => ({
            pid: a.evidence[0]?.process?.pid ?? 0,
            calls: (a.evidence[0]?.attributions ?? [])
              .map((x) => `${x.sessionId}:${x.tool}:${x.confidence}`)
              .sort(),
          }))
          .sort((x, y) => x.pid - y.pid);
      assert.deepEqual(summary(replayed.alerts), summary(live));
      assert.ok(replayed.alerts.every((a) => a.explanation.includes("→ connect 127.0.0.1:")));
    } finally {
      await agent.stop();
      await sim.stop();
    }
  });
});
