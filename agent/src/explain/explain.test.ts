import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counters, MemoryAlertSink, type EnforcementRequest } from "@hangar/core";
import { hangar } from "@hangar/proto";
import { T0, alert, callTrace, events } from "@hangar/testkit";
import { Correlator } from "../correlate/correlator.js";
import { traceEvent } from "../normalize/traces.js";
import { OutputStage } from "../outputs/outputs.js";
import { ExplainStage } from "./explain.js";

const POD = "weather-6c9d7b8f4-x2x7q";

/** The correlator and the explain stage, fed as the pipeline feeds them. */
function stages(maxTraces?: number) {
  const counters = new Counters();
  const sink = new MemoryAlertSink();
  const requests: EnforcementRequest[] = [];
  const outputs = new OutputStage({ sinks: [sink], counters, onEnforcement: (r) => requests.push(r) });
  const explain = new ExplainStage({ next: outputs, ...(maxTraces === undefined ? {} : { maxTraces }) });
  const correlator = new Correlator({ counters });
  const feed = (...evs: hangar.RuntimeEvent[]): void => {
    for (const ev of evs) {
      explain.record(ev);
      correlator.process(ev);
    }
  };
  return { explain, feed, sink, requests, counters };
}

describe("ExplainStage", () => {
  it("puts the calls and the chain caller → session → call (redacted args) → process → destination on the alert", () => {
    const { explain, feed, sink } = stages();
    const t1 = callTrace({ n: 1, pod: POD, startMs: T0, endMs: T0 + 1000 });
    t1.arguments = {
      $typeName: "google.protobuf.Value",
      kind: {
        case: "structValue",
        value: {
          $typeName: "google.protobuf.Struct",
          fields: {
            city: { $typeName: "google.protobuf.Value", kind: { case: "stringValue", value: "Oslo" } },
            token: {
              $typeName: "google.protobuf.Value",
              kind: { case: "stringValue", value: "[REDACTED:key]" },
            },
          },
        },
      },
    };
    const t2 = callTrace({ n: 2, pod: POD, startMs: T0 + 100, endMs: T0 + 1200 });
    const ev = events.connect("203.0.113.66", 443, {
      at: T0 + 500,
      pod: POD,
      binary: "/bin/sh",
      pid: 4711,
      execId: "sh",
      parentExecId: "server",
    });
    feed(traceEvent(t1), traceEvent(t2), ev);
    const a = alert({ evidence: [ev] });
    explain.alert(a);
    assert.equal(sink.alerts[0], a, "the alert goes on to the outputs");
    assert.deepEqual(
      a.toolCalls.map((t) => t.tool),
      ["tool_1", "tool_2"],
    );
    const lines = a.explanation.split("\n");
    assert.equal(lines.length, 2, "two candidate calls");
    assert.equal(
      lines[0],
      'caller agent:planner (claude-desktop, unauthenticated) → session session-1 → tools/call tool_1 {"city":"Oslo","token":"[REDACTED:key]"} [trace 00000000000000000000000000000001/0000000000000001; time window, confidence 0.50, 1 of 2 overlapping calls] → process /bin/sh (pid 4711) → connect 203.0.113.66:443/tcp',
    );
    assert.match(
      lines[1] ?? "",
      /^ {2}or caller agent:planner .* tools\/call tool_2 .*confidence 0\.50, 1 of 2 overlapping calls\] → process \/bin\/sh/,
    );
  });

  it("says so when no call was in flight", () => {
    const { explain, feed } = stages();
    const ev = events.connect("203.0.113.66", 443, { at: T0 + 500, pod: POD, binary: "", pid: 0 });
    feed(ev);
    const a = alert({ evidence: [ev], explanation: "rule text" });
    explain.alert(a);
    assert.deepEqual(a.toolCalls, []);
    assert.equal(
      a.explanation,
      "rule text\nno tool call in flight: process ? → connect 203.0.113.66:443/tcp",
    );
  });

  it("keeps the latest trace of a call: the end replaces the start", () => {
    const { explain, feed } = stages();
    feed(
      traceEvent(callTrace({ n: 1, pod: POD, startMs: T0 })),
      traceEvent(callTrace({ n: 1, pod: POD, startMs: T0, endMs: T0 + 500 })),
    );
    assert.ok(explain.trace("0000000000000001")?.endTime !== undefined, "the end trace is the one kept");
    assert.equal(explain.size, 1);
  });

  it("forgets the oldest traces past its bound", () => {
    const { explain, feed } = stages(2);
    for (let n = 1; n <= 3; n++) feed(traceEvent(callTrace({ n, pod: POD, startMs: T0 + n })));
    assert.equal(explain.size, 2);
    assert.equal(explain.trace("0000000000000001"), undefined);
    assert.ok(explain.trace("0000000000000003") !== undefined);
  });

  it("passes enforcement requests on unchanged", () => {
    const { explain, requests, counters } = stages();
    const r = { $typeName: "hangar.v1.EnforcementRequest", id: "req-1" } as EnforcementRequest;
    explain.enforcement(r);
    assert.deepEqual(requests, [r]);
    assert.equal(counters.get("enforcement_requests"), 1);
  });
});
