// Guards the upstream field numbers and names that make these subsets
// wire- and JSON-compatible with Tetragon and Hubble. If one of these fails,
// a .proto edit broke compatibility with real agents.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { DescMessage } from "@bufbuild/protobuf";

import { flow, observer, relay, tetragon } from "../src/index.js";

function numbers(schema: DescMessage): Record<string, number> {
  return Object.fromEntries(schema.fields.map((field) => [field.name, field.number]));
}

function oneofNumbers(schema: DescMessage, oneof: string): Record<string, number> {
  const desc = schema.oneofs.find((o) => o.name === oneof);
  assert.ok(desc, `${schema.typeName} has oneof ${oneof}`);
  return Object.fromEntries(desc.fields.map((field) => [field.name, field.number]));
}

describe("tetragon descriptors match upstream", () => {
  it("GetEventsResponse oneof event and envelope fields", () => {
    assert.deepEqual(oneofNumbers(tetragon.GetEventsResponseSchema, "event"), {
      process_exec: 1,
      process_exit: 5,
      process_kprobe: 9,
      process_tracepoint: 10,
      process_loader: 11,
      process_uprobe: 12,
      process_throttle: 27,
      process_lsm: 28,
      process_usdt: 29,
      test: 40000,
      rate_limit_info: 40001,
    });
    const n = numbers(tetragon.GetEventsResponseSchema);
    assert.deepEqual(
      [n["node_name"], n["time"], n["aggregation_info"], n["cluster_name"], n["node_labels"]],
      [1000, 1001, 1002, 1003, 1004],
    );
  });

  it("EventType numbers equal the oneof numbers", () => {
    const byName = Object.fromEntries(tetragon.EventTypeSchema.values.map((v) => [v.name, v.number]));
    for (const [field, number] of Object.entries(oneofNumbers(tetragon.GetEventsResponseSchema, "event"))) {
      assert.equal(byName[field.toUpperCase()], number, field);
    }
  });

  it("Process has fields 1-21 and KprobeArgument variants 1-33 plus label 18", () => {
    assert.deepEqual(
      tetragon.ProcessSchema.fields.map((f) => f.number),
      Array.from({ length: 21 }, (_, i) => i + 1),
    );
    const variants = Object.values(oneofNumbers(tetragon.KprobeArgumentSchema, "arg")).sort((a, b) => a - b);
    assert.deepEqual(
      variants,
      Array.from({ length: 33 }, (_, i) => i + 1).filter((n) => n !== 18),
    );
    assert.equal(numbers(tetragon.KprobeArgumentSchema)["label"], 18);
    assert.equal(numbers(tetragon.KprobeArgumentSchema)["sockaddrun_arg"], 33);
  });

  it("Filter has fields 1-19", () => {
    assert.deepEqual(
      tetragon.FilterSchema.fields.map((f) => f.number).sort((a, b) => a - b),
      Array.from({ length: 19 }, (_, i) => i + 1),
    );
  });

  it("capability enum uses the Linux numbers and upstream's names", () => {
    const caps = tetragon.CapabilitiesTypeSchema.values;
    assert.equal(caps.length, 41);
    assert.equal(caps.find((v) => v.number === 1)?.name, "DAC_OVERRIDE");
    assert.equal(caps.find((v) => v.number === 21)?.name, "CAP_SYS_ADMIN");
    assert.equal(caps.find((v) => v.number === 40)?.name, "CAP_CHECKPOINT_RESTORE");
  });

  it("KprobeAction names carry the KPROBE_ACTION_ prefix", () => {
    const names = tetragon.KprobeActionSchema.values.map((v) => v.name);
    assert.equal(names.length, 16);
    assert.ok(names.every((name) => name.startsWith("KPROBE_ACTION_")));
  });

  it("service path is /tetragon.FineGuidanceSensors/GetEvents, server streaming", () => {
    const method = tetragon.FineGuidanceSensors.method.getEvents;
    assert.equal(tetragon.FineGuidanceSensors.typeName, "tetragon.FineGuidanceSensors");
    assert.equal(method.name, "GetEvents");
    assert.equal(method.methodKind, "server_streaming");
    assert.equal(method.input.typeName, "tetragon.GetEventsRequest");
    assert.equal(method.output.typeName, "tetragon.GetEventsResponse");
  });
});

describe("hubble descriptors match upstream", () => {
  it("GetFlowsResponse oneof and envelope", () => {
    assert.deepEqual(oneofNumbers(observer.GetFlowsResponseSchema, "response_types"), {
      flow: 1,
      node_status: 2,
      lost_events: 3,
    });
    const n = numbers(observer.GetFlowsResponseSchema);
    assert.deepEqual([n["node_name"], n["time"]], [1000, 1001]);
  });

  it("Flow keeps upstream names that become JSON keys", () => {
    const n = numbers(flow.FlowSchema);
    assert.equal(n["IP"], 5);
    assert.equal(n["l4"], 6);
    assert.equal(n["Type"], 10);
    assert.equal(n["l7"], 15);
    assert.equal(n["drop_reason_desc"], 25);
    assert.equal(n["is_reply"], 26);
    assert.equal(n["Summary"], 100000);
    assert.equal(n["extensions"], 150000);
    assert.equal(n["egress_denied_by"], 21004);
    assert.equal(numbers(flow.IPSchema)["ipVersion"], 3);
    assert.deepEqual(oneofNumbers(flow.Layer4Schema, "protocol"), {
      TCP: 1,
      UDP: 2,
      ICMPv4: 3,
      ICMPv6: 4,
      SCTP: 5,
      VRRP: 6,
      IGMP: 7,
    });
    assert.deepEqual(oneofNumbers(flow.Layer7Schema, "record"), { dns: 100, http: 101, kafka: 102 });
  });

  it("service path is /observer.Observer/GetFlows, server streaming", () => {
    const method = observer.Observer.method.getFlows;
    assert.equal(observer.Observer.typeName, "observer.Observer");
    assert.equal(method.name, "GetFlows");
    assert.equal(method.methodKind, "server_streaming");
  });

  it("relay NodeState values", () => {
    assert.deepEqual(
      relay.NodeStateSchema.values.map((v) => [v.name, v.number]),
      [
        ["UNKNOWN_NODE_STATE", 0],
        ["NODE_CONNECTED", 1],
        ["NODE_UNAVAILABLE", 2],
        ["NODE_GONE", 3],
        ["NODE_ERROR", 4],
      ],
    );
  });
});
