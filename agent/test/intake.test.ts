/**
 * Integration: the sensor simulator (real gRPC servers on unix sockets and TCP)
 * → the agent's sources → normalize → resolve → correlate → detect.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { flow, hangar, observer, tetragon } from "@hangar/proto";
import { startAgent, type AgentOptions } from "../src/agent.js";
import { MemoryAlertSink, type RuntimeEvent } from "@hangar/core";
import { buildScenario } from "../src/simulator/scenario.js";
import { startSimulator } from "../src/simulator/simulator.js";
import { memoryLogger, tempDir, waitFor } from "@hangar/testkit";

const BASE_MS = Date.parse("2026-03-02T09:00:00Z");
const FAST_BACKOFF = { initialMs: 20, maxMs: 200 };

function execEvent(
  i: number,
  labels: Record<string, string> = { "mcp-hangar.io/provider": "weather" },
): tetragon.GetEventsResponse {
  return create(tetragon.GetEventsResponseSchema, {
    nodeName: "node-a",
    time: timestampFromMs(BASE_MS + i),
    event: {
      case: "processExec",
      value: {
        process: {
          execId: Buffer.from(`node-a:${1000 + i}:${i}`).toString("base64"),
          pid: 1000 + i,
          binary: "/bin/true",
          arguments: String(i),
          pod: { namespace: "mcp", name: "weather-0", podLabels: labels },
        },
      },
    },
  });
}

function tcpFlow(i: number): observer.GetFlowsResponse {
  return create(observer.GetFlowsResponseSchema, {
    nodeName: "node-a",
    responseTypes: {
      case: "flow",
      value: {
        time: timestampFromMs(BASE_MS + i * 10),
        uuid: `flow-${i}`,
        verdict: flow.Verdict.FORWARDED,
        IP: { source: "10.0.0.5", destination: "198.51.100.7", ipVersion: flow.IPVersion.IPv4 },
        l4: { protocol: { case: "TCP", value: { sourcePort: 40000 + i, destinationPort: 443 } } },
        source: { namespace: "mcp", podName: "weather-0", labels: ["k8s:mcp-hangar.io/provider=weather"] },
        destination: { labels: ["reserved:world"] },
        trafficDirection: flow.TrafficDirection.EGRESS,
      },
    },
  });
}

async function agentWith(opts: Partial<AgentOptions>) {
  const events: RuntimeEvent[] = [];
  const { logger, lines } = memoryLogger();
  const agent = await startAgent({
    node: "node-a",
    namespaces: [],
    sinks: [new MemoryAlertSink()],
    onEvent: (ev) => events.push(ev),
    logger,
    ...opts,
  });
  return { agent, events, lines };
}

describe("intake over real gRPC sockets", () => {
  it("streams Tetragon and Hubble into normalized events; the sensors' filters keep other pods out", async () => {
    const { dir, cleanup } = tempDir("hangar-intake-");
    const scenario = buildScenario({ startMs: BASE_MS });
    const sim = await startSimulator({
      tetragon: { address: `unix://${join(dir, "t.sock")}`, messages: scenario.tetragon },
      hubble: { address: `unix://${join(dir, "h.sock")}`, messages: scenario.hubble },
    });
    const { agent, events } = await agentWith({
      tetragon: { address: sim.tetragonAddress ?? "" },
      hubble: { address: sim.hubbleAddress ?? "" },
      healthPort: 0,
    });
    try {
      // Everything but the unlabelled pod's execs and the two loss notices becomes an event.
      const unlabelled = 4;
      const expected = scenario.tetragon.length + scenario.hubble.length - unlabelled - 2;
      await waitFor(`${expected} events`, () => events.length >= expected, agent.counters);
      const c = agent.counters;
      assert.equal(sim.stats.tetragon.filtered, unlabelled, "the simulator applies the agent's allow-list");
      assert.equal(c.get("dropped", { reason: "not_mcp_pod" }), 0);
      assert.equal(c.get("sensor_lost_events", { sensor: "tetragon", reason: "rate_limit" }), 3);
      assert.equal(c.get("sensor_lost_events", { sensor: "hubble", reason: "hubble_ring_buffer" }), 5);
      const kinds = new Set(events.map((e) => hangar.EventKind[e.kind]));
      assert.deepEqual([...kinds].sort(), ["CONNECT", "DNS", "EXEC", "EXIT", "FILE", "FLOW"]);
      assert.ok(events.every((e) => e.provider === "weather" && e.node === "node-a"));
      const shell = events.find((e) => e.process?.binary === "/bin/sh" && e.kind === hangar.EventKind.EXEC);
      assert.equal(shell?.pod?.container?.image, "ghcr.io/example/weather-mcp:1.2.0");
      // readyz reports ready once both streams are connected.
      const res = await fetch(`http://127.0.0.1:${agent.health?.port ?? 0}/readyz`);
      assert.equal(res.status, 200);
    } finally {
      await agent.stop();
      await sim.stop();
      cleanup();
    }
  });

  it("drops and counts events of pods without the provider label at the edge when the sensor does not filter", async () => {
    const { dir, cleanup } = tempDir("hangar-intake-");
    const msgs = [execEvent(0), execEvent(1, { app: "web" }), execEvent(2), execEvent(3, {})];
    const sim = await startSimulator({
      tetragon: { address: `unix://${join(dir, "t.sock")}`, messages: msgs, applyFilters: false },
    });
    const { agent, events } = await agentWith({ tetragon: { address: sim.tetragonAddress ?? "" } });
    try {
      await waitFor(
        "4 records",
        () => agent.counters.get("sensor_messages", { sensor: "tetragon" }) >= 4,
        agent.counters,
      );
      await waitFor("2 events", () => events.length >= 2, agent.counters);
      assert.deepEqual(
        events.map((e) => e.process?.arguments),
        ["0", "2"],
      );
      assert.equal(agent.counters.get("dropped", { reason: "not_mcp_pod" }), 2);
    } finally {
      await agent.stop();
      await sim.stop();
      cleanup();
    }
  });

  it("reconnects after the Tetragon server restarts mid-stream: gap counted, no crash, no duplicate", async () => {
    const { dir, cleanup } = tempDir("hangar-intake-");
    const address = `unix://${join(dir, "t.sock")}`;
    const msgs = Array.from({ length: 100 }, (_, i) => execEvent(i));
    const first = await startSimulator({ tetragon: { address, messages: msgs.slice(0, 40) } });
    const { agent, events, lines } = await agentWith({ tetragon: { address, backoff: FAST_BACKOFF } });
    try {
      await waitFor("40 events", () => events.length >= 40, agent.counters);
      await first.stop();
      // Ten events happen while the sensor is down: a restarted Tetragon never replays them.
      const second = await startSimulator({ tetragon: { address, messages: msgs, startAt: 50 } });
      try {
        await waitFor("90 events", () => events.length >= 90, agent.counters);
        await new Promise((r) => setTimeout(r, 100));
        const ids = events.map((e) => e.process?.arguments);
        assert.equal(new Set(ids).size, ids.length, "no event twice");
        assert.equal(events.length, 90);
        assert.deepEqual(ids.slice(38, 42), ["38", "39", "50", "51"]);
        const c = agent.counters;
        assert.equal(c.get("sensor_gaps", { sensor: "tetragon" }), 1);
        assert.ok(c.get("sensor_reconnects", { sensor: "tetragon" }) >= 1);
        assert.equal(c.get("sensor_connects", { sensor: "tetragon" }), 2);
        assert.ok(
          lines.some((l) => l.includes("tetragon stream lost")),
          "the disconnect is logged",
        );
      } finally {
        await second.stop();
      }
    } finally {
      await agent.stop();
      cleanup();
    }
  });

  it("resumes Hubble with `since` after a restart, filling the gap from the ring and skipping the seam's duplicates", async () => {
    const { dir, cleanup } = tempDir("hangar-intake-");
    const address = `unix://${join(dir, "h.sock")}`;
    const msgs = Array.from({ length: 100 }, (_, i) => tcpFlow(i));
    const first = await startSimulator({ hubble: { address, messages: msgs.slice(0, 30) } });
    const { agent, events } = await agentWith({ hubble: { address, backoff: FAST_BACKOFF } });
    try {
      await waitFor("30 events", () => events.length >= 30, agent.counters);
      await first.stop();
      const second = await startSimulator({
        hubble: { address, messages: msgs, startAt: 60, ringSize: 1000 },
      });
      try {
        await waitFor("100 events", () => events.length >= 100, agent.counters);
        await new Promise((r) => setTimeout(r, 100));
        const ids = events.map((e) => e.id);
        assert.equal(new Set(ids).size, 100, "every flow exactly once");
        assert.equal(events.length, 100);
        assert.ok(
          agent.counters.get("dropped", { reason: "duplicate" }) >= 1,
          "the flow at `since` came again and was skipped",
        );
        assert.equal(agent.counters.get("sensor_gaps", { sensor: "hubble" }), 1);
      } finally {
        await second.stop();
      }
    } finally {
      await agent.stop();
      cleanup();
    }
  });

  it("keeps streaming when the sensor drops the connection every N events", async () => {
    const { dir, cleanup } = tempDir("hangar-intake-");
    const msgs = Array.from({ length: 60 }, (_, i) => execEvent(i));
    const sim = await startSimulator({
      tetragon: { address: `unix://${join(dir, "t.sock")}`, messages: msgs, dropAfter: 25 },
    });
    const { agent, events } = await agentWith({
      tetragon: { address: sim.tetragonAddress ?? "", backoff: FAST_BACKOFF },
    });
    try {
      await waitFor("60 events", () => events.length >= 60, agent.counters);
      assert.equal(new Set(events.map((e) => e.id)).size, 60);
      assert.ok(agent.counters.get("sensor_reconnects", { sensor: "tetragon" }) >= 2);
    } finally {
      await agent.stop();
      await sim.stop();
      cleanup();
    }
  });

  it("skips and counts unknown fields and unknown oneof variants from a newer Tetragon", async () => {
    const { dir, cleanup } = tempDir("hangar-intake-");
    // A known event whose Process carries a field this build does not know (number 99) …
    const withUnknownInProcess = execEvent(1);
    if (
      withUnknownInProcess.event.case === "processExec" &&
      withUnknownInProcess.event.value.process !== undefined
    ) {
      const bytes = new BinaryWriter()
        .raw(toBinary(tetragon.ProcessSchema, withUnknownInProcess.event.value.process))
        .tag(99, WireType.LengthDelimited)
        .string("a field from the future")
        .finish();
      withUnknownInProcess.event.value.process = fromBinary(tetragon.ProcessSchema, bytes);
    }
    // … and an event of a variant this build has never heard of (oneof number 30).
    const unknownVariant = fromBinary(
      tetragon.GetEventsResponseSchema,
      new BinaryWriter()
        .tag(30, WireType.LengthDelimited)
        .bytes(new Uint8Array([0x0a, 0x02, 0x68, 0x69]))
        .tag(1000, WireType.LengthDelimited)
        .string("node-a")
        .finish(),
    );
    assert.equal(unknownVariant.event.case, undefined);
    const sim = await startSimulator({
      tetragon: {
        address: `unix://${join(dir, "t.sock")}`,
        messages: [withUnknownInProcess, unknownVariant, execEvent(2)],
        applyFilters: false,
      },
    });
    const { agent, events } = await agentWith({ tetragon: { address: sim.tetragonAddress ?? "" } });
    try {
      await waitFor(
        "3 records",
        () => agent.counters.get("sensor_messages", { sensor: "tetragon" }) >= 3,
        agent.counters,
      );
      await waitFor("2 events", () => events.length >= 2, agent.counters);
      const c = agent.counters;
      assert.equal(c.get("dropped", { reason: "unknown_variant" }), 1);
      assert.ok(
        c.get("unknown_fields", { sensor: "tetragon" }) >= 2,
        "the unknown variant and the unknown Process field are counted",
      );
      assert.deepEqual(
        events.map((e) => e.process?.arguments),
        ["1", "2"],
      );
    } finally {
      await agent.stop();
      await sim.stop();
      cleanup();
    }
  });

  it("receives a message over gRPC's 4 MiB default; with the limit at 4 MiB the stream fails and is retried", async () => {
    const { dir, cleanup } = tempDir("hangar-intake-");
    const big = execEvent(1);
    if (big.event.case === "processExec" && big.event.value.process !== undefined) {
      big.event.value.process.arguments = "A".repeat(5 * 1024 * 1024);
    }
    const size = toBinary(tetragon.GetEventsResponseSchema, big).length;
    assert.ok(size > 4 * 1024 * 1024);
    const sim = await startSimulator({
      tetragon: { address: `unix://${join(dir, "t.sock")}`, messages: [big, execEvent(2)] },
    });
    const { agent, events } = await agentWith({ tetragon: { address: sim.tetragonAddress ?? "" } });
    try {
      await waitFor("2 events", () => events.length >= 2, agent.counters);
      assert.equal(events[0]?.process?.arguments.length, 5 * 1024 * 1024);
    } finally {
      await agent.stop();
      await sim.stop();
    }
    const sim2 = await startSimulator({
      tetragon: { address: `unix://${join(dir, "t2.sock")}`, messages: [big] },
    });
    const limited = await agentWith({
      tetragon: {
        address: sim2.tetragonAddress ?? "",
        maxReceiveMessageBytes: 4 * 1024 * 1024,
        backoff: FAST_BACKOFF,
      },
    });
    try {
      await waitFor(
        "a failed stream",
        () => limited.agent.counters.get("sensor_reconnects", { sensor: "tetragon" }) >= 1,
        limited.agent.counters,
      );
      assert.equal(limited.events.length, 0);
      assert.ok(
        limited.lines.some((l) => /RESOURCE_EXHAUSTED|larger than max/i.test(l)),
        "the reason is logged",
      );
    } finally {
      await limited.agent.stop();
      await sim2.stop();
      cleanup();
    }
  });

  it("serves Hubble over TCP too, and reports not-ready until the stream is up", async () => {
    const msgs = Array.from({ length: 5 }, (_, i) => tcpFlow(i));
    // Start the agent first: nothing listens yet, so it is not ready.
    const probe = await startSimulator({ hubble: { address: "127.0.0.1:0", messages: [] } });
    const port = (probe.hubbleAddress ?? "").split(":")[1];
    await probe.stop();
    const { agent, events } = await agentWith({
      hubble: { address: `127.0.0.1:${port}`, backoff: FAST_BACKOFF },
      healthPort: 0,
    });
    try {
      const before = await fetch(`http://127.0.0.1:${agent.health?.port ?? 0}/readyz`);
      assert.equal(before.status, 503);
      assert.match(await before.text(), /hubble stream not connected/);
      assert.equal((await fetch(`http://127.0.0.1:${agent.health?.port ?? 0}/healthz`)).status, 200);
      const sim = await startSimulator({ hubble: { address: `127.0.0.1:${port}`, messages: msgs } });
      try {
        await waitFor("5 events", () => events.length >= 5, agent.counters);
        assert.equal((await fetch(`http://127.0.0.1:${agent.health?.port ?? 0}/readyz`)).status, 200);
      } finally {
        await sim.stop();
      }
    } finally {
      await agent.stop();
    }
  });

  it("drains on stop: stop() resolves after the pipeline ends, and is idempotent", async () => {
    const { dir, cleanup } = tempDir("hangar-intake-");
    const sim = await startSimulator({
      tetragon: {
        address: `unix://${join(dir, "t.sock")}`,
        messages: Array.from({ length: 20 }, (_, i) => execEvent(i)),
      },
    });
    const { agent, events } = await agentWith({ tetragon: { address: sim.tetragonAddress ?? "" } });
    await waitFor("20 events", () => events.length >= 20, agent.counters);
    await Promise.all([agent.stop(), agent.stop()]);
    await agent.done;
    assert.equal(agent.counters.get("kept"), 20);
    await sim.stop();
    cleanup();
  });
});
