import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import {
  MalformedList,
  boundJsonLine,
  boundTextLine,
  boundedAlertOutput,
  escapeControls,
  escapeJsonControls,
} from "./bounded.js";

// What a terminal acts on: C0, DEL, C1 and bidi overrides.
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/;

describe("what replay echoes of its input", () => {
  it("escapes ESC, the rest of C0, DEL, C1 and bidi overrides for a terminal", () => {
    const hostile = "a\x1b]0;pwned\x07b\x1b[2Jc\rd\u009b31me\u007ff\u202eg";
    const out = escapeControls(hostile);
    assert.equal(out, "a\\x1b]0;pwned\\x07b\\x1b[2Jc\\x0dd\\x9b31me\\x7ff\\u{202e}g");
    assert.doesNotMatch(out, RAW);
    assert.equal(escapeControls(out), out, "escaping twice changes nothing");
  });

  it("escapes in JSON what JSON.stringify leaves raw, and the JSON means the same", () => {
    const value = { m: "x\u009b2J\u007f\u202e\x1b" };
    const json = escapeJsonControls(JSON.stringify(value));
    assert.doesNotMatch(json, RAW);
    assert.deepEqual(JSON.parse(json), value);
  });

  it("lists the first 100 malformed records with their messages cut, and counts the rest", () => {
    const list = new MalformedList();
    for (let i = 1; i <= 5_000; i++) list.push({ file: "f", line: i, error: "e".repeat(10_000) });
    assert.equal(list.listed.length, 100);
    assert.equal(list.omitted, 4_900);
    assert.equal(list.total, 5_000);
    assert.ok((list.listed[0]?.error.length ?? 0) < 600);
    assert.match(list.listed[0]?.error ?? "", /…\[9500 more characters\]$/);
  });

  it("cuts an alert line over the bound into valid JSON with a visible marker", () => {
    const alert = { id: "a1", ruleId: "r", evidence: [{ args: "A".repeat(5_000_000) }], message: "short" };
    const line = boundJsonLine(JSON.stringify(alert), 64 * 1024);
    assert.ok(Buffer.byteLength(line) <= 64 * 1024, `${Buffer.byteLength(line)} bytes`);
    const back = JSON.parse(line) as typeof alert;
    assert.equal(back.id, "a1");
    assert.equal(back.message, "short", "short fields kept whole");
    assert.match(back.evidence[0]?.args ?? "", /^A+…\[truncated \d+ bytes\]$/);
    assert.equal(boundJsonLine('{"ok":1}', 100), '{"ok":1}', "a line within the bound is untouched");
    const cef = boundTextLine(`CEF:0|x|${"é".repeat(100_000)}`, 1_000);
    assert.ok(Buffer.byteLength(cef) <= 1_000);
    assert.match(cef, /…\[truncated \d+ bytes\]$/);
    assert.doesNotMatch(cef, /\uFFFD/, "not cut inside a character");
  });

  it("bounds and escapes every line written through it", async () => {
    const chunks: string[] = [];
    const sink = new Writable({
      write(c: Buffer, _e, done) {
        chunks.push(c.toString("utf8"));
        done();
      },
    });
    const out = boundedAlertOutput(sink, "json", 4_096);
    out.write(`${JSON.stringify({ m: "x".repeat(100_000) })}\n`);
    out.write(`${JSON.stringify({ m: "\u009b\x1b" })}\n`);
    await new Promise<void>((r) => out.end(r));
    const lines = chunks.join("").trimEnd().split("\n");
    assert.equal(lines.length, 2);
    for (const l of lines) {
      assert.ok(Buffer.byteLength(l) <= 4_096);
      assert.doesNotMatch(l, RAW);
      JSON.parse(l);
    }
  });
});
