import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { EventKind, Sensor, newEvent, newPod, newProcess, type RuntimeEvent, Counters } from "@hangar/core";
import { T0, callTrace } from "@hangar/testkit";
import { traceEvent } from "../normalize/traces.js";
import { Correlator } from "./correlator.js";

const NS = "mcp";
const POD = "weather-6c9d7b8f4-x2x7q";
const { AttributionReason } = hangar;

function call(
  n: number,
  startMs: number,
  endMs: number | undefined,
  opts: { pod?: string; subject?: string; clientName?: string } = {},
): RuntimeEvent {
  return traceEvent(
    callTrace({
      n,
      provider: "weather",
      namespace: NS,
      pod: opts.pod ?? POD,
      startMs: T0 + startMs,
      ...(endMs === undefined ? {} : { endMs: T0 + endMs }),
      ...(opts.subject === undefined ? {} : { subject: opts.subject }),
      ...(opts.clientName === undefined ? {} : { clientName: opts.clientName }),
    }),
  );
}

function runtime(
  kind: hangar.EventKind,
  atMs: number,
  proc: { execId: string; parentExecId?: string } | undefined,
  pod = POD,
): RuntimeEvent {
  const ev = newEvent(kind, Sensor.TETRAGON, { case: undefined });
  ev.time = timestampFromMs(T0 + atMs);
  ev.pod = newPod(NS, pod, {});
  if (proc !== undefined) {
    const p = newProcess();
    p.execId = proc.execId;
    p.parentExecId = proc.parentExecId ?? "";
    ev.process = p;
  }
  return ev;
}

const exec = (at: number, execId: string, parentExecId = "server", pod = POD): RuntimeEvent =>
  runtime(EventKind.EXEC, at, { execId, parentExecId }, pod);
const connect = (at: number, execId: string, parentExecId = "server", pod = POD): RuntimeEvent =>
  runtime(EventKind.CONNECT, at, { execId, parentExecId }, pod);
const exit = (at: number, execId: string, parentExecId = "server"): RuntimeEvent =>
  runtime(EventKind.EXIT, at, { execId, parentExecId });

function correlator(
  counters = new Counters(),
  opts: { graceMs?: number; maxCallMs?: number; reorderMs?: number; maxLineage?: number } = {},
) {
  return new Correlator({ counters, ...opts });
}

/** Runs events through a fresh correlator and returns them. */
function run(events: RuntimeEvent[], c = correlator()): RuntimeEvent[] {
  for (const ev of events) c.process(ev);
  return events;
}

function summary(ev: RuntimeEvent): { tool: string; reason: hangar.AttributionReason; confidence: number }[] {
  return ev.attributions.map((a) => ({ tool: a.tool, reason: a.reason, confidence: a.confidence }));
}

describe("Correlator: time window", () => {
  it("attributes an exec inside a call window with confidence 1 and the call's identity", () => {
    const counters = new Counters();
    const [, ev] = run([call(1, 1000, 1800), exec(1200, "sh")], correlator(counters)) as [
      RuntimeEvent,
      RuntimeEvent,
    ];
    assert.equal(ev.attributions.length, 1);
    const a = ev.attributions[0];
    assert.ok(a !== undefined);
    assert.equal(a.reason, AttributionReason.TIME_WINDOW);
    assert.equal(a.confidence, 1);
    assert.equal(a.traceId, "00000000000000000000000000000001");
    assert.equal(a.spanId, "0000000000000001");
    assert.equal(a.sessionId, "session-1");
    assert.equal(a.tool, "tool_1");
    assert.equal(a.caller, "agent:planner");
    assert.equal(counters.get("correlated", { reason: "time_window" }), 1);
  });

  it("names the caller by client name when the call has no authenticated subject", () => {
    const [, ev] = run([call(1, 0, 500, { subject: "" }), connect(100, "x")]) as [RuntimeEvent, RuntimeEvent];
    assert.equal(ev.attributions[0]?.caller, "claude-desktop");
  });

  it("two overlapping calls give two attributions with confidence 0.5", () => {
    const [, , ev] = run([call(1, 0, 1000), call(2, 200, 1200), connect(500, "x")]);
    assert.ok(ev !== undefined);
    assert.deepEqual(summary(ev), [
      { tool: "tool_1", reason: AttributionReason.TIME_WINDOW, confidence: 0.5 },
      { tool: "tool_2", reason: AttributionReason.TIME_WINDOW, confidence: 0.5 },
    ]);
  });

  it("a running call wins over one that has ended and is only within its grace period", () => {
    const [, , ev] = run([call(1, 0, 800), call(2, 900, 2000), connect(1000, "x")]);
    assert.ok(ev !== undefined);
    assert.deepEqual(summary(ev), [{ tool: "tool_2", reason: AttributionReason.TIME_WINDOW, confidence: 1 }]);
  });

  it("attributes within end + grace, and not after", () => {
    const c = correlator(new Counters(), { graceMs: 2000, reorderMs: 0 });
    const [, inGrace, atEdge, after] = run(
      [call(1, 0, 800), connect(2500, "x"), connect(2800, "x"), connect(2801, "x")],
      c,
    );
    assert.equal(inGrace?.attributions.length, 1);
    assert.equal(atEdge?.attributions.length, 1);
    assert.deepEqual(after?.attributions, []);
    assert.equal(c.openCalls, 0, "an expired call is forgotten");
  });

  it("keeps a closed call for events that arrive out of order, within reorderMs", () => {
    const c = correlator(new Counters(), { graceMs: 0, reorderMs: 5000 });
    // Hubble's flow at 4000 reaches the correlator before Tetragon's exec at 500.
    const [, newer, older, muchLater] = run(
      [call(1, 0, 1000), connect(4000, "x"), connect(500, "x"), connect(6001, "x")],
      c,
    );
    assert.deepEqual(newer?.attributions, [], "4000 is outside the call");
    assert.equal(older?.attributions.length, 1, "the late event still finds its call");
    assert.deepEqual(muchLater?.attributions, []);
    assert.equal(c.openCalls, 0, "forgotten once reorderMs has passed");
  });

  it("does not attribute an event before the call started", () => {
    const c = correlator();
    const [, before] = run([call(1, 1000, 2000), connect(999, "x")], c);
    assert.deepEqual(before?.attributions, []);
    assert.equal(c.openCalls, 1);
  });

  it("does not attribute events of another pod", () => {
    const [, other] = run([call(1, 0, 1000), connect(500, "x", "server", "web-5f7d8c9b6-abcde")]);
    assert.deepEqual(other?.attributions, []);
  });

  it("a call without end_time stays open until maxCallMs", () => {
    const c = correlator(new Counters(), { maxCallMs: 10_000, reorderMs: 0 });
    const [, late, tooLate] = run([call(1, 0, undefined), connect(10_000, "x"), connect(10_001, "x")], c);
    assert.equal(late?.attributions.length, 1);
    assert.deepEqual(tooLate?.attributions, []);
    assert.equal(c.openCalls, 0);
  });

  it("ignores events without a pod and tool calls without a trace", () => {
    const c = correlator();
    const noPod = connect(10, "x");
    noPod.pod = undefined;
    const bad = newEvent(EventKind.TOOL_CALL, Sensor.PROXY, { case: undefined });
    bad.pod = newPod(NS, POD, {});
    run([call(1, 0, 1000), noPod, bad], c);
    assert.deepEqual(noPod.attributions, []);
    assert.equal(c.openCalls, 1);
  });
});

describe("Correlator: lineage", () => {
  it("a child exec'd during a call keeps the attribution after the call ends (LINEAGE)", () => {
    const counters = new Counters();
    const events = run(
      [
        call(1, 0, 800),
        exec(200, "sh"), // during the call
        connect(5000, "sh", "server"), // long after end + grace: by its own exec id
        exec(6000, "curl", "sh"), // a grandchild exec'd after the call: via parent_exec_id
        connect(6100, "forked", "curl"), // a forked child that never exec'd: via parent_exec_id
      ],
      correlator(counters),
    );
    const [, shExec, shConnect, curlExec, forkConnect] = events;
    assert.deepEqual(summary(shExec!), [
      { tool: "tool_1", reason: AttributionReason.TIME_WINDOW, confidence: 1 },
    ]);
    for (const ev of [shConnect, curlExec, forkConnect]) {
      assert.deepEqual(summary(ev!), [{ tool: "tool_1", reason: AttributionReason.LINEAGE, confidence: 1 }]);
      assert.equal(ev!.attributions[0]?.traceId, "00000000000000000000000000000001");
    }
    assert.equal(counters.get("correlated", { reason: "lineage" }), 3);
    assert.equal(counters.get("correlated", { reason: "time_window" }), 1);
  });

  it("keeps the split confidence of overlapping calls through lineage", () => {
    const [, , , child] = run([call(1, 0, 800), call(2, 0, 800), exec(100, "sh"), connect(9000, "sh")]);
    assert.deepEqual(summary(child!), [
      { tool: "tool_1", reason: AttributionReason.LINEAGE, confidence: 0.5 },
      { tool: "tool_2", reason: AttributionReason.LINEAGE, confidence: 0.5 },
    ]);
  });

  it("exit removes the lineage of the exiting process", () => {
    const [, , ex, afterExit] = run([
      call(1, 0, 800),
      exec(200, "sh"),
      exit(5000, "sh"),
      connect(5001, "sh"),
    ]);
    assert.equal(
      ex?.attributions[0]?.reason,
      AttributionReason.LINEAGE,
      "the exit itself is still attributed",
    );
    assert.deepEqual(afterExit?.attributions, []);
  });

  it("remembers at most maxLineage processes, evicting the oldest and counting it", () => {
    const counters = new Counters();
    const c = correlator(counters, { maxLineage: 2 });
    const [, , , , first, third] = run(
      [
        call(1, 0, 800),
        exec(100, "a"),
        exec(110, "b"),
        exec(120, "c"),
        connect(5000, "a"),
        connect(5001, "c"),
      ],
      c,
    );
    assert.equal(c.lineageSize, 2);
    assert.equal(counters.get("correlator_lineage_evicted"), 1);
    assert.deepEqual(first?.attributions, [], "the oldest process was evicted");
    assert.equal(third?.attributions[0]?.reason, AttributionReason.LINEAGE);
  });

  it("a process exec'd outside any call starts no lineage", () => {
    const [, , ev] = run([call(1, 1000, 1800), exec(100, "early"), connect(9000, "early")]);
    assert.deepEqual(ev?.attributions, []);
  });

  it("events of the long-lived server after the call are not attributed", () => {
    const [, ev] = run([call(1, 0, 800), connect(9000, "server", "init")]);
    assert.deepEqual(ev?.attributions, []);
  });
});

describe("Correlator: calls seen at start and at end", () => {
  /** The proxy publishes a call when it starts (no end) and again when it ends, same span. */
  function startAndEnd(n: number, startMs: number, endMs: number): [RuntimeEvent, RuntimeEvent] {
    return [call(n, startMs, undefined), call(n, startMs, endMs)];
  }

  it("the end of a call closes the window opened by its start, without counting it twice", () => {
    const c = correlator(new Counters(), { graceMs: 100, reorderMs: 0 });
    const [s, e] = startAndEnd(1, 0, 500);
    const [, during, , inGrace, after] = run(
      [s, connect(200, "x"), e, connect(550, "x"), connect(700, "x")],
      c,
    );
    assert.deepEqual(summary(during!), [
      { tool: "tool_1", reason: AttributionReason.TIME_WINDOW, confidence: 1 },
    ]);
    assert.deepEqual(summary(inGrace!), [
      { tool: "tool_1", reason: AttributionReason.TIME_WINDOW, confidence: 1 },
    ]);
    assert.deepEqual(after?.attributions, []);
    assert.equal(c.openCalls, 0);
  });

  it("passes the start of a call on and holds back its end, so detection sees one tool_call per call", () => {
    const c = correlator(new Counters(), { graceMs: 100, reorderMs: 0 });
    const [s, e] = startAndEnd(1, 0, 500);
    assert.equal(c.process(s), true);
    assert.equal(c.process(connect(200, "x")), true);
    assert.equal(c.process(e), false);
    assert.equal(
      c.process(call(2, 600, 700)),
      true,
      "a recorded call (start and end in one trace) is passed on",
    );
  });
});

describe("Correlator: lineage wins over the time window", () => {
  it("a child of call 1 acting during call 2 stays attributed to call 1", () => {
    const [, , , , ev] = run([
      call(1, 0, 500),
      exec(100, "sh"), // call 1 spawns sh
      call(2, 1000, 2000), // call 1 is over; call 2 runs
      exec(1100, "other"), // unrelated to sh: call 2 by time window
      connect(1500, "sh"), // sh connects while call 2 runs
    ]);
    assert.deepEqual(summary(ev!), [{ tool: "tool_1", reason: AttributionReason.LINEAGE, confidence: 1 }]);
  });
});
