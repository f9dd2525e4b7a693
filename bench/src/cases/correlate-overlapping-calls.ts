/**
 * correlate/overlapping-calls — the correlator alone, on one busy pod: a tool
 * call starts every 8 events and ends 32 events later (so 4 calls are always in
 * flight), each call seen twice (start and end trace, as the proxy publishes
 * them); between them, children are exec'd (time window over 4 candidates,
 * remembered for lineage), connect twice (lineage) and exit, and the server
 * process itself connects and resolves names (time window, 4 candidates). One
 * event per simulated millisecond.
 */
import { create } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { Correlator, traceEvent } from "@hangar/agent";
import { Counters, type RuntimeEvent } from "@hangar/core";
import { runSync } from "../harness.js";
import type { BenchCase } from "./case.js";

const T0 = Date.parse("2026-03-02T09:00:00Z");
const NS = "mcp";
const POD = "files-6c9d7b8f4-x2x7q";

let lastSecond = -1;
let lastSeconds = 0n;
/** A timestamp (a new object: the correlator keeps those of calls). */
function ts(ms: number): Timestamp {
  const t: Timestamp = { $typeName: "google.protobuf.Timestamp", seconds: 0n, nanos: 0 };
  setTs(t, ms);
  return t;
}
/** Sets a timestamp in place (runtime events reuse theirs, as a sensor's decoder would allocate once). */
function setTs(t: Timestamp, ms: number): void {
  const s = Math.floor(ms / 1000);
  if (s !== lastSecond) {
    lastSecond = s;
    lastSeconds = BigInt(s);
  }
  t.seconds = lastSeconds;
  t.nanos = (ms - s * 1000) * 1e6;
}

function runtime(kind: hangar.EventKind, detail: RuntimeEvent["detail"]): RuntimeEvent {
  return create(hangar.RuntimeEventSchema, {
    kind,
    sensor: hangar.Sensor.TETRAGON,
    provider: "files",
    pod: { namespace: NS, name: POD },
    process: { binary: "/usr/bin/curl", pid: 4242, execId: "", parentExecId: "server" },
    detail,
  });
}

export const correlateOverlappingCalls: BenchCase = {
  name: "correlate/overlapping-calls",
  description:
    "Correlator.process on one pod with 4 overlapping tool calls (start and end traces), child execs/connects/exits by lineage and server events by time window",
  latency:
    "every 7th event timed alone with process.hrtime.bigint; nearest-rank percentiles of those samples",
  defaultEvents: 500_000,
  run(ctx) {
    const counters = new Counters();
    const correlator = new Correlator({ counters, graceMs: 2, reorderMs: 0 });
    const connect = (): RuntimeEvent =>
      runtime(hangar.EventKind.CONNECT, {
        case: "connect",
        value: create(hangar.ConnectDetailSchema, {
          destinationIp: "203.0.113.66",
          destinationPort: 443,
          protocol: "tcp",
        }),
      });
    const exec = runtime(hangar.EventKind.EXEC, { case: "exec", value: create(hangar.ExecDetailSchema, {}) });
    const childConnect1 = connect();
    const childConnect2 = connect();
    const exit = runtime(hangar.EventKind.EXIT, { case: "exit", value: create(hangar.ExitDetailSchema, {}) });
    const serverConnect = connect();
    serverConnect.process = create(hangar.ProcessIdentitySchema, {
      binary: "/usr/bin/python3",
      pid: 1,
      execId: "server",
      parentExecId: "init",
    });
    const serverDns = runtime(hangar.EventKind.DNS, {
      case: "dns",
      value: create(hangar.DnsDetailSchema, { query: "api.example.com" }),
    });
    serverDns.process = serverConnect.process;
    const template = create(hangar.CallTraceSchema, {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      sessionId: "9a0e0a4e-1f57-4c5e-bb55-0a3f7d9a3c11",
      provider: "files",
      tool: "read_file",
      method: "tools/call",
      caller: { subject: "agent:planner", clientName: "claude-desktop" },
      podNamespace: NS,
      podName: POD,
    });
    const started = new Map<number, hangar.CallTrace>();
    let attributed = 0;
    let candidates = 0;
    const step = (i: number): void => {
      const k = i & 7;
      const at = T0 + i;
      let ev: RuntimeEvent;
      switch (k) {
        case 0: {
          const t = { ...template, spanId: i.toString(16).padStart(16, "0"), startTime: ts(at) };
          started.set(i, t);
          ev = traceEvent(t);
          break;
        }
        case 4: {
          const s = started.get(i - 36);
          if (s === undefined) return;
          started.delete(i - 36);
          ev = traceEvent({ ...s, endTime: ts(at), status: hangar.CallStatus.OK });
          ev.time = s.startTime;
          break;
        }
        case 1:
          ev = exec;
          exec.process!.execId = `c${i}`;
          break;
        case 2:
          ev = childConnect1;
          childConnect1.process!.execId = `c${i - 1}`;
          break;
        case 3:
          ev = childConnect2;
          childConnect2.process!.execId = `c${i - 2}`;
          break;
        case 5:
          ev = exit;
          exit.process!.execId = `c${i - 4}`;
          break;
        case 6:
          ev = serverConnect;
          break;
        default:
          ev = serverDns;
      }
      if (k !== 0 && k !== 4) {
        if (ev.time === undefined) ev.time = ts(at);
        else setTs(ev.time, at);
        ev.attributions = [];
      }
      correlator.process(ev);
      if (ev.attributions.length > 0) {
        attributed++;
        candidates += ev.attributions.length;
      }
    };
    const m = runSync({ events: ctx.events, warmup: ctx.warmup, stride: 7, step });
    if (attributed === 0) throw new Error("nothing was attributed");
    m.detail = {
      openCalls: correlator.openCalls,
      lineage: correlator.lineageSize,
      attributedShare: Math.round((attributed / (ctx.events + ctx.warmup)) * 1000) / 1000,
      meanCandidates: Math.round((candidates / attributed) * 100) / 100,
    };
    return Promise.resolve(m);
  },
};
