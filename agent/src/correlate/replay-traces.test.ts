/**
 * `hangar-agent replay --traces` applies the same correlation to recordings:
 * a proxy recording holds each call twice (start, then end, same span); the
 * replay merges it with a Tetragon recording by time and attributes the child's
 * connect, after the call ended, to the call that spawned it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { it } from "node:test";
import { create, toJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { pino } from "pino";
import { replay } from "../replay/replay.js";

const T0 = Date.parse("2026-03-02T09:28:31Z");
const iso = (ms: number): string => new Date(T0 + ms).toISOString();

function proc(pid: number, execId: string, parent: string, binary: string) {
  return {
    exec_id: execId,
    pid,
    binary,
    arguments: "",
    start_time: iso(0),
    pod: { namespace: "mcp", name: "files-0", pod_labels: { "mcp-hangar.io/provider": "files" } },
    parent_exec_id: parent,
  };
}

function collect(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  let buf = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString("utf8");
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      lines.push(...parts.filter((l) => l !== ""));
      cb();
    },
  });
  return { stream, lines };
}

it("replay --traces: start and end of a call are one call; its child stays attributed after it ends", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hangar-replay-traces-"));
  const base = {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    sessionId: "s-1",
    provider: "files",
    tool: "fetch_url",
    method: "tools/call",
    caller: { subject: "alice", authMethod: "jwt" },
    podNamespace: "mcp",
    podName: "files-0",
    startTime: timestampFromMs(T0 + 100),
  };
  const start = create(hangar.CallTraceSchema, base);
  const end = create(hangar.CallTraceSchema, {
    ...base,
    endTime: timestampFromMs(T0 + 400),
    status: hangar.CallStatus.OK,
  });
  const traces = join(dir, "traces.jsonl");
  writeFileSync(
    traces,
    `${toJsonString(hangar.CallTraceSchema, start)}\n${toJsonString(hangar.CallTraceSchema, end)}\n`,
  );
  const sh = proc(4711, "c2g6NDcxMQ==", "c2VydmVyOjE=", "/bin/sh");
  const tetragon = join(dir, "tetragon.jsonl");
  writeFileSync(
    tetragon,
    [
      { process_exec: { process: sh }, node_name: "node-a", time: iso(200) },
      {
        process_kprobe: {
          process: sh,
          function_name: "tcp_connect",
          args: [
            { sock_arg: { family: "AF_INET", protocol: "IPPROTO_TCP", daddr: "203.0.113.66", dport: 443 } },
          ],
        },
        node_name: "node-a",
        time: iso(60_000),
      },
    ]
      .map((l) => JSON.stringify(l))
      .join("\n") + "\n",
  );
  const events = collect();
  const out = collect();
  const { summary } = await replay({
    tetragon: [tetragon],
    hubble: [],
    traces: [traces],
    rules: [],
    learn: false,
    format: "json",
    strict: true,
    graceMs: 100,
    events: events.stream,
    stdout: out.stream,
    logger: pino({ level: "silent" }),
  });
  assert.deepEqual(summary.malformed, []);
  const parsed = events.lines.map(
    (l) =>
      JSON.parse(l) as {
        kind: string;
        attributions?: { spanId: string; confidence: number; reason: string }[];
      },
  );
  const connect = parsed.find((e) => e.kind === "EVENT_KIND_CONNECT");
  assert.ok(connect !== undefined, "the connect was kept");
  assert.deepEqual(
    connect.attributions?.map((a) => [a.spanId, a.confidence, a.reason]),
    [["00f067aa0ba902b7", 1, "ATTRIBUTION_REASON_LINEAGE"]],
    "one call (not two halves), by lineage, a minute after the call ended",
  );
});
