import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar, observer, tetragon } from "@hangar/proto";
import {
  EventKind,
  Sensor,
  timeMs,
  type RuntimeEvent,
  FunctionDetector,
  MemoryAlertSink,
  Counters,
  BoundedQueue,
} from "@hangar/core";
import { buildScenario } from "../simulator/scenario.js";
import type { SensorRecord, SourceRecord } from "../sources/records.js";
import { NormalizeStage } from "../normalize/stage.js";
import { traceEvent } from "../normalize/traces.js";
import { merge } from "./merge.js";
import { createPipeline, type Pipeline } from "./pipeline.js";

const T0 = Date.parse("2026-03-02T09:00:00Z");

async function* timed<T>(items: readonly [T, number][]): AsyncIterable<T> {
  for (const [v, ms] of items) {
    await delay(ms);
    yield v;
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

/** Rejects when `p` has not settled within `ms`: turns a hang into a failure. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("merge", () => {
  it("interleaves sources in arrival order", { timeout: 5000 }, async () => {
    const a = timed([
      ["a1", 0],
      ["a2", 40],
    ]);
    const b = timed([
      ["b1", 20],
      ["b2", 40],
    ]);
    assert.deepEqual(await collect(merge([a, b])), ["a1", "b1", "a2", "b2"]);
  });

  it("ends only when every source has ended", { timeout: 5000 }, async () => {
    const out = await collect(
      merge([
        timed([["short", 0]]),
        timed([
          ["long", 0],
          ["long2", 30],
        ]),
        timed<string>([]),
      ]),
    );
    assert.deepEqual(out.sort(), ["long", "long2", "short"]);
  });

  it("ends at once with no sources", { timeout: 5000 }, async () => {
    assert.deepEqual(await collect(merge([])), []);
  });

  it("propagates an error from one source", { timeout: 5000 }, async () => {
    async function* failing(): AsyncIterable<string> {
      yield "x";
      await delay(5);
      throw new Error("source failed");
    }
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const v of merge([failing(), timed([["y", 0]])])) seen.push(v);
    }, /source failed/);
    assert.ok(seen.includes("x"));
  });

  it(
    "propagates an error even while another source is idle (a live stream with no traffic)",
    { timeout: 5000 },
    async () => {
      const idle = new BoundedQueue<string>({ capacity: 4, name: "idle", counters: new Counters() });
      const failing = new BoundedQueue<string>({ capacity: 4, name: "failing", counters: new Counters() });
      setTimeout(() => failing.close(new Error("tetragon: bad address")), 5);
      await within(assert.rejects(collect(merge([failing, idle])), /bad address/), 2000, "merge");
      // The idle source is closed once it settles.
      idle.close();
    },
  );

  it("returns promptly when the consumer stops early while a source is idle", { timeout: 5000 }, async () => {
    const idle = new BoundedQueue<string>({ capacity: 4, name: "idle", counters: new Counters() });
    const busy = new BoundedQueue<string>({ capacity: 4, name: "busy", counters: new Counters() });
    busy.push("first");
    const consume = async (): Promise<string | undefined> => {
      for await (const v of merge([busy, idle])) return v;
      return undefined;
    };
    assert.equal(await within(consume(), 2000, "early return"), "first");
    idle.close();
  });
});

describe("traceEvent", () => {
  it("turns a call trace into a tool_call event of the proxy sensor", () => {
    const trace = create(hangar.CallTraceSchema, {
      traceId: "t1",
      spanId: "s1",
      provider: "weather",
      node: "node-a",
      tool: "get_forecast",
      podNamespace: "mcp",
      podName: "weather-1",
      podUid: "uid-1",
      startTime: timestampFromMs(T0),
    });
    const ev = traceEvent(trace);
    assert.equal(ev.kind, EventKind.TOOL_CALL);
    assert.equal(ev.sensor, Sensor.PROXY);
    assert.equal(ev.id, "call:t1:s1");
    assert.equal(ev.provider, "weather");
    assert.equal(ev.node, "node-a");
    assert.equal(timeMs(ev.time), T0);
    assert.equal(ev.pod?.namespace, "mcp");
    assert.equal(ev.pod?.name, "weather-1");
    assert.equal(ev.pod?.uid, "uid-1");
    assert.equal(ev.detail.case, "toolCall");
    assert.equal(ev.detail.case === "toolCall" ? ev.detail.value.trace : undefined, trace);
  });

  it("has no pod and no time when the trace has none", () => {
    const ev = traceEvent(create(hangar.CallTraceSchema, { traceId: "t", spanId: "s" }));
    assert.equal(ev.pod, undefined);
    assert.equal(ev.time, undefined);
  });
});

describe("NormalizeStage", () => {
  it("counts events by sensor and kind, and not dropped records", () => {
    const counters = new Counters();
    const stage = new NormalizeStage(counters);
    const s = buildScenario();
    for (const msg of s.tetragon) stage.process({ sensor: "tetragon", msg });
    for (const msg of s.hubble) stage.process({ sensor: "hubble", msg });
    for (const trace of s.traces) stage.process({ sensor: "proxy", trace });
    // 4 calls: each has 1 tcp_connect and 1 nginx exec; the injected call has 2 execs,
    // 1 file read, 1 connect and 2 exits.
    assert.equal(counters.get("events", { sensor: "tetragon", kind: "connect" }), 5);
    assert.equal(counters.get("events", { sensor: "tetragon", kind: "exec" }), 6);
    assert.equal(counters.get("events", { sensor: "tetragon", kind: "file" }), 1);
    assert.equal(counters.get("events", { sensor: "tetragon", kind: "exit" }), 2);
    assert.equal(counters.get("events", { sensor: "hubble", kind: "dns" }), 4);
    assert.equal(counters.get("events", { sensor: "hubble", kind: "flow" }), 5);
    assert.equal(counters.get("events", { sensor: "proxy", kind: "tool_call" }), 4);
    // rate_limit_info and lost_events are notices, not events.
    assert.equal(counters.get("dropped", { reason: "sensor_notice" }), 2);
    const total = Object.values(counters.byLabel("events", "sensor")).reduce((a, b) => a + b, 0);
    assert.equal(total, s.tetragon.length + s.hubble.length + s.traces.length - 2);
  });
});

function stages(
  counters: Counters,
  onEvent?: (ev: RuntimeEvent) => void,
): Pipeline & { sink: MemoryAlertSink } {
  const sink = new MemoryAlertSink();
  const detector = new FunctionDetector("curl", (ev) =>
    ev.process?.binary === "/usr/bin/curl" && ev.kind === EventKind.CONNECT
      ? [create(hangar.AlertSchema, { ruleId: "test-curl", severity: hangar.Severity.HIGH, evidence: [ev] })]
      : undefined,
  );
  const pipeline = createPipeline({
    counters,
    detector,
    sinks: [sink],
    ...(onEvent === undefined ? {} : { onEvent }),
  });
  return Object.assign(pipeline, { sink });
}

describe("createPipeline: process", () => {
  it("returns undefined for a record the normalizer drops, counting the reason, and calls no hook", () => {
    const counters = new Counters();
    const seen: RuntimeEvent[] = [];
    const rec: SensorRecord = {
      sensor: "tetragon",
      msg: create(tetragon.GetEventsResponseSchema, {
        event: { case: "rateLimitInfo", value: { numberOfDroppedProcessEvents: 2n } },
      }),
    };
    assert.equal(stages(counters, (ev) => seen.push(ev)).process(rec), undefined);
    assert.equal(counters.get("dropped", { reason: "sensor_notice" }), 1);
    assert.equal(counters.get("kept"), 0);
    assert.deepEqual(seen, []);
  });

  it("returns undefined for the event of a pod that is not an MCP provider", () => {
    const counters = new Counters();
    const s = buildScenario();
    const nginx = s.tetragon.find(
      (m) => m.event.case === "processExec" && m.event.value.process?.binary === "/usr/sbin/nginx",
    );
    assert.ok(nginx !== undefined);
    assert.equal(stages(counters).process({ sensor: "tetragon", msg: nginx }), undefined);
    assert.equal(counters.get("dropped", { reason: "not_mcp_pod" }), 1);
  });

  it("returns undefined for an empty hubble response", () => {
    const counters = new Counters();
    const rec: SensorRecord = { sensor: "hubble", msg: create(observer.GetFlowsResponseSchema) };
    assert.equal(stages(counters).process(rec), undefined);
    assert.equal(counters.get("dropped", { reason: "unknown_variant" }), 1);
  });

  it("resolves, correlates and detects a kept event, then hands it to onEvent", () => {
    const counters = new Counters();
    const seen: RuntimeEvent[] = [];
    const st = stages(counters, (ev) => seen.push(ev));
    const s = buildScenario({ benignCalls: 0 });
    const records: SensorRecord[] = [
      ...s.traces.map((trace) => ({ sensor: "proxy" as const, trace })),
      ...s.tetragon.map((msg) => ({ sensor: "tetragon" as const, msg })),
    ];
    const kept = records.map((r) => st.process(r)).filter((e) => e !== undefined);
    assert.equal(counters.get("kept"), kept.length);
    assert.deepEqual(seen, kept);
    const curlConnect = kept.find(
      (e) => e.kind === EventKind.CONNECT && e.process?.binary === "/usr/bin/curl",
    );
    assert.ok(curlConnect !== undefined);
    assert.equal(curlConnect.provider, "weather");
    assert.equal(curlConnect.attributions[0]?.reason, hangar.AttributionReason.LINEAGE);
    assert.equal(curlConnect.attributions[0]?.tool, "fetch_forecast_report");
    assert.deepEqual(
      st.sink.alerts.map((a) => a.ruleId),
      ["test-curl"],
    );
    assert.equal(counters.get("alerts", { rule: "test-curl", severity: "high" }), 1);
    // The explain stage always runs: the alert names the call behind its evidence.
    const [a] = st.sink.alerts;
    assert.deepEqual(
      a?.toolCalls.map((t) => t.tool),
      ["fetch_forecast_report"],
    );
    assert.match(
      a?.explanation ?? "",
      /tools\/call fetch_forecast_report .*process lineage.* → process \/usr\/bin\/curl/,
    );
  });
});

describe("createPipeline: run", () => {
  it("processes every record and ends when the records end", { timeout: 5000 }, async () => {
    const counters = new Counters();
    const s = buildScenario();
    async function* records(): AsyncIterable<SensorRecord> {
      for (const trace of s.traces) yield await Promise.resolve({ sensor: "proxy" as const, trace });
      for (const msg of s.hubble) yield { sensor: "hubble" as const, msg };
    }
    await stages(counters).run(records());
    assert.equal(counters.get("kept"), s.traces.length + s.hubble.length - 1);
  });

  it("decodes Tetragon bytes (the live source's records) as the decoded messages go; bad bytes are counted, reported and skipped", async () => {
    const s = buildScenario({ benignCalls: 0 });
    const traces = s.traces.map((trace) => ({ sensor: "proxy" as const, trace }));
    const decoded = new Counters();
    const viaMessages: RuntimeEvent[] = [];
    const a = stages(decoded, (ev) => viaMessages.push(ev));
    await a.run(
      (async function* (): AsyncIterable<SourceRecord> {
        for (const r of [...traces, ...s.tetragon.map((msg) => ({ sensor: "tetragon" as const, msg }))])
          yield await Promise.resolve(r);
      })(),
    );

    const counters = new Counters();
    const viaBytes: RuntimeEvent[] = [];
    const reported: string[] = [];
    const sink = new MemoryAlertSink();
    const b = createPipeline({
      counters,
      sinks: [sink],
      detector: new FunctionDetector("curl", (ev) =>
        ev.process?.binary === "/usr/bin/curl" && ev.kind === EventKind.CONNECT
          ? [
              create(hangar.AlertSchema, {
                ruleId: "test-curl",
                severity: hangar.Severity.HIGH,
                evidence: [ev],
              }),
            ]
          : undefined,
      ),
      onEvent: (ev) => void viaBytes.push(ev),
      onUndecodable: (sensor, err) => void reported.push(`${sensor}: ${String(err)}`),
    });
    const bytes: SourceRecord[] = s.tetragon.map((msg) => ({
      sensor: "tetragon-bytes" as const,
      bytes: toBinary(tetragon.GetEventsResponseSchema, msg),
    }));
    const first = bytes[0] as { bytes: Uint8Array };
    // A truncated message and a bad tag, among the good ones: each skipped, nothing after them lost.
    bytes.splice(1, 0, { sensor: "tetragon-bytes", bytes: first.bytes.subarray(0, first.bytes.length - 3) });
    bytes.splice(3, 0, { sensor: "tetragon-bytes", bytes: Uint8Array.from([0x07, 0x01]) });
    async function* records(): AsyncIterable<SourceRecord> {
      for (const r of [...traces, ...bytes]) yield await Promise.resolve(r);
    }
    await b.run(records());
    assert.equal(counters.get("dropped", { reason: "undecodable" }), 2);
    assert.equal(reported.length, 2);
    assert.ok(
      reported.every((r) => r.startsWith("tetragon: ")),
      reported.join("\n"),
    );
    assert.ok(viaMessages.length > 0);
    assert.equal(counters.get("kept"), decoded.get("kept"));
    assert.deepEqual(
      viaBytes.map((e) => `${e.kind} ${e.process?.binary ?? ""} ${e.provider}`),
      viaMessages.map((e) => `${e.kind} ${e.process?.binary ?? ""} ${e.provider}`),
    );
    assert.deepEqual(
      sink.alerts.map((x) => x.ruleId),
      a.sink.alerts.map((x) => x.ruleId),
    );
    assert.equal(sink.alerts.length, 1);
  });
});
