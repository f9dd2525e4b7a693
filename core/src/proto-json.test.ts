import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, toJsonString, type DescMessage } from "@bufbuild/protobuf";
import { DurationSchema, TimestampSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { hangar, tetragon } from "@hangar/proto";
import { protoJsonString } from "./proto-json.js";

/** The compiled writer gives the library's text, or throws the library's error. */
function same(schema: DescMessage, message: object, what: string): string {
  let want: string | Error;
  try {
    want = toJsonString(schema, message as never);
  } catch (err) {
    want = err as Error;
  }
  if (want instanceof Error) {
    assert.throws(() => protoJsonString(schema, message), { message: want.message }, what);
    return "";
  }
  assert.equal(protoJsonString(schema, message), want, what);
  return want;
}

const ts = (seconds: bigint, nanos: number) => create(TimestampSchema, { seconds, nanos });

function event(i: number): hangar.RuntimeEvent {
  return create(hangar.RuntimeEventSchema, {
    id: `ev-${i}`,
    kind: hangar.EventKind.EXEC,
    sensor: hangar.Sensor.TETRAGON,
    time: ts(1_700_000_000n + BigInt(i), [0, 1, 1_000, 1_000_000, 123_456_789, 999_999_999][i % 6] ?? 0),
    node: "node-a",
    pod: create(hangar.PodIdentitySchema, {
      namespace: "mcp",
      name: `pod-${i}`,
      labels: { "mcp-hangar.io/provider": "fs", "app.kubernetes.io/name": `n${i}`, "1": "numeric key" },
    }),
    provider: "fs",
    process: create(hangar.ProcessIdentitySchema, {
      pid: i,
      binary: "/bin/sh",
      arguments: i % 2 === 0 ? "" : `-c "echo \u2028 \\ ${i}"`,
      auid: i % 3 === 0 ? 0 : 4294967295,
      ...(i % 4 === 0 ? { inInitTree: false } : {}),
    }),
    detail: { case: "exec", value: create(hangar.ExecDetailSchema, {}) },
  });
}

describe("protoJsonString: the library's proto-JSON from a compiled writer", () => {
  it("writes alerts with evidence, tool calls, maps, optional zeros and every timestamp precision as the library does", () => {
    for (let i = 0; i < 24; i++) {
      const alert = create(hangar.AlertSchema, {
        id: `a-${i}`,
        ruleId: "r",
        severity: i % 7 === 6 ? 99 : i % 6,
        provider: "fs",
        message: i % 5 === 0 ? "" : `message "${i}" é 🚀`,
        evidence: Array.from({ length: i % 4 }, (_, k) => event(i * 10 + k)),
        toolCalls:
          i % 3 === 0
            ? []
            : [
                create(hangar.CallTraceSchema, {
                  traceId: "t",
                  tool: "read",
                  arguments: create(ValueSchema, {
                    kind: {
                      case: "structValue",
                      value: {
                        fields: {
                          path: { kind: { case: "stringValue", value: "/etc/passwd" } },
                          n: { kind: { case: "numberValue", value: -0.5 } },
                          ok: { kind: { case: "boolValue", value: true } },
                          none: { kind: { case: "nullValue", value: 0 } },
                          list: {
                            kind: {
                              case: "listValue",
                              value: { values: [{ kind: { case: "numberValue", value: 1e21 } }] },
                            },
                          },
                        },
                      },
                    },
                  }),
                  startTime: ts(1_700_000_000n, 5),
                  requestBytes: BigInt(i),
                  responseBytes: 18_446_744_073_709_551_615n,
                }),
              ],
        time: ts(BigInt(i), i * 1000),
        source: hangar.AlertSource.RULE,
        mitre: i % 2 === 0 ? [] : ["T1059", "T1552"],
        score: [0, -0, 0.1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-7][i % 7] ?? 0,
      });
      same(hangar.AlertSchema, alert, `alert ${i}`);
    }
  });

  it("writes durations and timestamps at the edges, and refuses what the library refuses with its error", () => {
    for (const [seconds, nanos] of [
      [0n, 0],
      [1n, 500_000_000],
      [-1n, -500],
      [0n, -1_000_000],
      [315576000000n, 0],
      [315576000001n, 0],
      [1n, -1],
    ] as const)
      same(DurationSchema, create(DurationSchema, { seconds, nanos }), `duration ${seconds} ${nanos}`);
    for (const [seconds, nanos] of [
      [-62135596800n, 0],
      [-62135596801n, 0],
      [253402300799n, 999_999_999],
      [253402300800n, 0],
      [0n, -1],
      [0n, 1_000_000_000],
    ] as const)
      same(TimestampSchema, ts(seconds, nanos), `timestamp ${seconds} ${nanos}`);
    same(ValueSchema, create(ValueSchema, { kind: { case: "numberValue", value: Number.NaN } }), "NaN value");
    same(ValueSchema, create(ValueSchema, {}), "empty value");
  });

  it("leaves a __proto__ key out of maps and structs, as the library's plain object does", () => {
    const labels = JSON.parse('{"__proto__": "x", "a": "b"}') as Record<string, string>;
    const only = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    for (const l of [labels, only])
      same(
        hangar.PodIdentitySchema,
        create(hangar.PodIdentitySchema, { name: "p", labels: l }),
        `labels ${Object.keys(l).join(",")}`,
      );
    const fields = JSON.parse('{"__proto__": {"kind": {"case": "nullValue", "value": 0}}}') as Record<
      string,
      { kind: { case: "nullValue"; value: 0 } }
    >;
    same(
      ValueSchema,
      create(ValueSchema, {
        kind: {
          case: "structValue",
          value: { fields: { ...fields, z: { kind: { case: "boolValue", value: false } } } },
        },
      }),
      "struct with __proto__",
    );
  });

  it("passes Tetragon's messages (wrappers, bytes, int64 as strings) through with the library's text", () => {
    const msg = create(tetragon.GetEventsResponseSchema, {
      event: {
        case: "processExec",
        value: {
          process: {
            execId: "aWQ=",
            pid: 42,
            uid: 0,
            binary: "/usr/bin/curl",
            startTime: ts(1_700_000_000n, 1),
            pod: { namespace: "mcp", name: "p", podLabels: { a: "b" } },
            refcnt: 3,
          },
        },
      },
      nodeName: "n",
      time: ts(1_700_000_000n, 1_000),
    });
    assert.notEqual(same(tetragon.GetEventsResponseSchema, msg, "tetragon exec"), "");
  });

  it("is the same text the second time (the writer is compiled once per message type)", () => {
    const a = event(3);
    assert.equal(
      protoJsonString(hangar.RuntimeEventSchema, a),
      protoJsonString(hangar.RuntimeEventSchema, a),
    );
    same(hangar.RuntimeEventSchema, a, "event");
  });
});
