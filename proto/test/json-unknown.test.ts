// What protobuf-es fromJson does with JSON from a newer Tetragon than this
// schema: an enum name it does not know, a key it does not know, a oneof
// variant it does not know. The test names state the observed behaviour.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { fromJson } from "@bufbuild/protobuf";

import { countUnknownFields, tetragon } from "../src/index.js";

const { GetEventsResponseSchema, KprobeAction } = tetragon;

function kprobeWithAction(action: string | number) {
  return { process_kprobe: { function_name: "tcp_connect", action }, node_name: "kind-worker" };
}

function kprobeOf(event: tetragon.GetEventsResponse): tetragon.ProcessKprobe {
  assert.equal(event.event.case, "processKprobe");
  if (event.event.case !== "processKprobe") throw new Error("unreachable");
  return event.event.value;
}

describe("fromJson with ignoreUnknownFields: false (default)", () => {
  it("throws on an unknown enum name", () => {
    assert.throws(
      () => fromJson(GetEventsResponseSchema, kprobeWithAction("KPROBE_ACTION_FROM_THE_FUTURE")),
      /cannot decode enum tetragon\.KprobeAction from JSON: "KPROBE_ACTION_FROM_THE_FUTURE"/,
    );
  });

  it("throws on an unknown key, naming the message and key", () => {
    assert.throws(
      () => fromJson(GetEventsResponseSchema, { process_kprobe: { function_name: "x", new_field: 1 } }),
      /cannot decode message tetragon\.ProcessKprobe from JSON: key "new_field" is unknown/,
    );
  });

  it("throws on an unknown oneof variant key", () => {
    assert.throws(
      () => fromJson(GetEventsResponseSchema, { process_future: {}, node_name: "n" }),
      /key "process_future" is unknown/,
    );
  });

  it("accepts an unknown enum NUMBER and keeps it (proto3 enums are open)", () => {
    assert.equal(kprobeOf(fromJson(GetEventsResponseSchema, kprobeWithAction(99))).action, 99);
  });
});

describe("fromJson with ignoreUnknownFields: true", () => {
  const lenient = { ignoreUnknownFields: true } as const;

  it("silently leaves an unknown enum name at the zero value (KPROBE_ACTION_UNKNOWN), nothing in $unknown", () => {
    const event = fromJson(
      GetEventsResponseSchema,
      kprobeWithAction("KPROBE_ACTION_FROM_THE_FUTURE"),
      lenient,
    );
    const kprobe = kprobeOf(event);
    assert.equal(kprobe.action, KprobeAction.UNKNOWN);
    assert.equal(kprobe.functionName, "tcp_connect");
    assert.equal(countUnknownFields(event), 0);
  });

  it("drops an unknown enum name from a repeated enum field, keeping the known elements", () => {
    const event = fromJson(
      GetEventsResponseSchema,
      { process_exec: { process: { cap: { permitted: ["CAP_CHOWN", "CAP_FROM_THE_FUTURE", "CAP_KILL"] } } } },
      lenient,
    );
    assert.equal(event.event.case, "processExec");
    if (event.event.case !== "processExec") return;
    assert.deepEqual(event.event.value.process?.cap?.permitted, [
      tetragon.CapabilitiesType.CAP_CHOWN,
      tetragon.CapabilitiesType.CAP_KILL,
    ]);
  });

  it("discards an unknown key (not kept in $unknown, unlike binary decoding)", () => {
    const event = fromJson(
      GetEventsResponseSchema,
      { process_kprobe: { function_name: "x", new_field: 1 } },
      lenient,
    );
    assert.equal(kprobeOf(event).functionName, "x");
    assert.equal(countUnknownFields(event), 0);
  });

  it("leaves event.case undefined for an unknown oneof variant key, other fields still parsed", () => {
    const event = fromJson(
      GetEventsResponseSchema,
      { process_future: { a: 1 }, node_name: "kind-worker" },
      lenient,
    );
    assert.equal(event.event.case, undefined);
    assert.equal(event.nodeName, "kind-worker");
  });
});
