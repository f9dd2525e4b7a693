import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar, tetragon } from "@hangar/proto";
import { Counters } from "@hangar/core";
import type { SensorRecord, SourceRecord } from "../sources/records.js";
import { holdRuntime } from "./hold.js";

const runtime = (name: string): SensorRecord => ({
  sensor: "tetragon",
  msg: create(tetragon.GetEventsResponseSchema, { nodeName: name }),
});
const trace = (span: string): SensorRecord => ({
  sensor: "proxy",
  trace: create(hangar.CallTraceSchema, { spanId: span }),
});
const label = (r: SourceRecord): string =>
  r.sensor === "proxy"
    ? `call:${r.trace.spanId}`
    : r.sensor === "tetragon"
      ? r.msg.nodeName
      : r.sensor === "tetragon-bytes"
        ? `bytes:${r.bytes.length}`
        : "?";

/** A live source: yields each item after its delay (ms from the previous one). */
async function* live(items: [number, SourceRecord][]): AsyncIterable<SourceRecord> {
  for (const [wait, rec] of items) {
    await new Promise((r) => setTimeout(r, wait));
    yield rec;
  }
}

describe("holdRuntime", () => {
  it("lets a call trace that arrives shortly after the events it caused go first", async () => {
    const out: string[] = [];
    const ac = new AbortController();
    for await (const r of holdRuntime(
      live([
        [0, runtime("exec")],
        [5, runtime("connect")],
        [20, trace("a")], // the trace is 25 ms late
      ]),
      { holdMs: 100, counters: new Counters() },
      ac.signal,
    ))
      out.push(label(r));
    assert.deepEqual(out, ["call:a", "exec", "connect"]);
  });

  it("holds undecoded Tetragon bytes like any runtime record: a late trace still goes first", async () => {
    const out: string[] = [];
    for await (const r of holdRuntime(
      live([
        [0, { sensor: "tetragon-bytes", bytes: new Uint8Array(3) }],
        [0, runtime("exec")],
        [20, trace("a")],
      ]),
      { holdMs: 100, counters: new Counters() },
      new AbortController().signal,
    ))
      out.push(label(r));
    assert.deepEqual(out, ["call:a", "bytes:3", "exec"]);
  });

  it("holds runtime records for holdMs while the input stays open, in order", async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const seen: [string, number][] = [];
    // The input stays open 400 ms after "b": the release is the hold, not the end of input.
    const input = live([
      [0, runtime("a")],
      [0, runtime("b")],
      [400, trace("late")],
    ]);
    for await (const r of holdRuntime(input, { holdMs: 60, counters: new Counters() }, ac.signal))
      seen.push([label(r), performance.now() - t0]);
    assert.deepEqual(
      seen.map(([l]) => l),
      ["a", "b", "call:late"],
    );
    assert.ok((seen[0]?.[1] ?? 0) >= 55, "a was held about 60 ms");
  });

  it("bounds what it holds: the oldest goes early, counted", async () => {
    const counters = new Counters();
    const ac = new AbortController();
    const out: string[] = [];
    const it = holdRuntime(
      live([
        [0, runtime("1")],
        [0, runtime("2")],
        [0, runtime("3")],
        [0, trace("x")],
      ]),
      { holdMs: 10_000, maxHeld: 2, counters },
      ac.signal,
    );
    for await (const r of it) {
      out.push(label(r));
      if (out.length === 2) break;
    }
    assert.deepEqual(out, ["1", "call:x"]);
    assert.equal(counters.get("correlator_hold_overflow"), 1);
  });

  it("releases everything held when the input ends", async () => {
    const ac = new AbortController();
    const out: string[] = [];
    const t0 = performance.now();
    for await (const r of holdRuntime(
      live([[0, runtime("last")]]),
      { holdMs: 10_000, counters: new Counters() },
      ac.signal,
    ))
      out.push(label(r));
    assert.deepEqual(out, ["last"]);
    assert.ok(performance.now() - t0 < 5000, "not held for the full 10 s once the input ended");
  });
});
