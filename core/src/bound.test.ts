import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import {
  boundAlert,
  boundEnforcement,
  DEFAULT_FIELD_LIMITS,
  truncateString,
  truncationMarker,
} from "./bound.js";

function bigAlert(argBytes: number): hangar.Alert {
  const args = `-c tag-1 ${"A".repeat(argBytes)}`;
  return create(hangar.AlertSchema, {
    id: "a1",
    ruleId: "r",
    message: `sh ${args}`,
    pod: { namespace: "mcp", name: "weather-0", labels: { app: "weather" } },
    evidence: [
      create(hangar.RuntimeEventSchema, {
        process: { binary: "/bin/sh", arguments: args, pid: 7 },
        detail: { case: "file", value: { path: `/tmp/${"p".repeat(argBytes)}` } },
      }),
    ],
  });
}

describe("bounds on what leaves the agent", () => {
  it("an alert within the limits is passed on as it is (same object)", () => {
    const a = bigAlert(100);
    const b = boundAlert(a);
    assert.equal(b.alert, a);
    assert.deepEqual(b.truncated, []);
  });

  it("a 9 MB argument is cut in the message and in the evidence, with the marker; the original is untouched", () => {
    const a = bigAlert(9 * 1024 * 1024);
    const b = boundAlert(a);
    assert.notEqual(b.alert, a);
    assert.equal(a.evidence[0]?.process?.arguments.length, 9 * 1024 * 1024 + 9, "detection's copy unchanged");
    const args = b.alert.evidence[0]?.process?.arguments ?? "";
    assert.ok(args.startsWith("-c tag-1 AAAA"));
    assert.ok(args.endsWith(truncationMarker(9 * 1024 * 1024 + 9)), args.slice(-80));
    assert.ok(Buffer.byteLength(args) <= DEFAULT_FIELD_LIMITS.fieldBytes);
    assert.ok(b.alert.message.includes("…[truncated by hangar: "));
    const file = b.alert.evidence[0]?.detail;
    assert.ok(file?.case === "file" && file.value.path.includes("…[truncated by hangar: "));
    assert.deepEqual(b.truncated.map((t) => t.path).sort(), [
      "evidence[0].detail.path",
      "evidence[0].process.arguments",
      "message",
    ]);
    assert.match(
      b.alert.explanation,
      /\[truncated by hangar: .*evidence\[0\]\.process\.arguments \(9437193\)/,
    );
    const size = toBinary(hangar.AlertSchema, b.alert).length;
    assert.ok(size < 64 * 1024, `${size} bytes on the wire`);
  });

  it("repeated fields, maps and evidence are bounded by count", () => {
    const a = create(hangar.AlertSchema, {
      id: "a2",
      mitre: Array.from({ length: 1000 }, (_, i) => `T${i}`),
      pod: { labels: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, "v"])) },
      evidence: Array.from({ length: 100 }, () => create(hangar.RuntimeEventSchema, {})),
    });
    const b = boundAlert(a);
    assert.equal(b.alert.mitre.length, DEFAULT_FIELD_LIMITS.repeated);
    assert.equal(Object.keys(b.alert.pod?.labels ?? {}).length, DEFAULT_FIELD_LIMITS.repeated);
    assert.equal(b.alert.evidence.length, DEFAULT_FIELD_LIMITS.evidence);
    assert.deepEqual(b.truncated.map((t) => `${t.path}:${t.size}`).sort(), [
      "evidence:100",
      "mitre:1000",
      "pod.labels:500",
    ]);
  });

  it("strings are cut on character boundaries, marker included in the limit", () => {
    const s = "é".repeat(10_000) + "😀".repeat(10_000);
    const t = truncateString(s, 8192);
    assert.ok(Buffer.byteLength(t) <= 8192);
    assert.ok(!t.includes("\ufffd"));
    assert.ok(t.endsWith(truncationMarker(Buffer.byteLength(s))));
    assert.equal(truncateString("short", 8192), "short");
  });

  it("an enforcement request's reason is bounded too", () => {
    const r = create(hangar.EnforcementRequestSchema, { id: "e", reason: "x".repeat(100_000) });
    const b = boundEnforcement(r);
    assert.ok(Buffer.byteLength(b.request.reason) <= 8192);
    assert.equal(r.reason.length, 100_000);
  });
});
