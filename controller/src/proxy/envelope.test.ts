/**
 * The envelope reader agrees with JSON.parse on what routing and tracing read
 * (jsonrpc, id, method, error, params, result.isError), for any JSON-RPC
 * message, including strings full of quotes, backslashes and braces, and
 * refuses what is not a JSON object.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { splitAt } from "@hangar/testkit";
import { EnvelopeScanner, isEnvelope, readEnvelope } from "./envelope.js";

const payload = fc.jsonValue({ maxDepth: 4 });
const tricky = fc.string({ unit: fc.constantFrom("\\", '"', "{", "}", "[", "]", ":", ",", "a", "é", " ") });

const message = fc.oneof(
  fc.record({
    jsonrpc: fc.constant("2.0"),
    id: fc.oneof(fc.integer(), tricky),
    result: fc.oneof(
      fc.record({
        content: fc.array(fc.record({ type: fc.constant("text"), text: tricky })),
        isError: fc.boolean(),
      }),
      fc.record({ other: payload, note: tricky }),
    ),
  }),
  fc.record({
    jsonrpc: fc.constant("2.0"),
    id: fc.integer(),
    error: fc.record({ code: fc.integer(), message: tricky, data: payload }),
  }),
  fc.record({ jsonrpc: fc.constant("2.0"), method: tricky, params: fc.dictionary(tricky, payload) }),
);

describe("readEnvelope", () => {
  it("reads what JSON.parse reads of the envelope, whatever the payload", () => {
    fc.assert(
      fc.property(message, fc.boolean(), (m, spaced) => {
        const text = spaced ? JSON.stringify(m, null, 1).replace(/\n/g, " ") : JSON.stringify(m);
        const full = JSON.parse(text) as Record<string, unknown>;
        const env = readEnvelope(Buffer.from(text)) as unknown as Record<string, unknown>;
        assert.ok(isEnvelope(env));
        for (const k of ["jsonrpc", "id", "method", "error", "params"]) assert.deepEqual(env[k], full[k], k);
        if ("result" in full) {
          const r = full["result"] as Record<string, unknown>;
          assert.deepEqual(env["result"], "isError" in r ? { isError: r["isError"] } : {});
        } else assert.equal("result" in env, false);
      }),
    );
  });

  it("refuses bytes that are not a JSON object", () => {
    for (const bad of ['[{"id":1}]', '{"id":1', '{"id" 1}', '{"a":"unterminated}', ""])
      assert.throws(() => readEnvelope(Buffer.from(bad)), SyntaxError, bad);
  });
});

function scan(chunks: Buffer[]): { env: Record<string, unknown>; kind: string | undefined } {
  const s = new EnvelopeScanner();
  for (const c of chunks) s.push(c);
  return { env: s.finish(), kind: s.kind };
}

describe("EnvelopeScanner", () => {
  it("reads what readEnvelope reads, however the message is cut into chunks", () => {
    fc.assert(
      fc.property(message, fc.boolean(), fc.array(fc.nat(), { maxLength: 12 }), (m, spaced, cuts) => {
        const text = spaced ? JSON.stringify(m, null, 1) : JSON.stringify(m);
        const bytes = Buffer.from(text);
        const want = readEnvelope(bytes) as unknown as Record<string, unknown>;
        const { env, kind } = scan(splitAt(bytes, cuts));
        assert.ok(isEnvelope(env));
        assert.deepEqual(env, want);
        const full = JSON.parse(text) as Record<string, unknown>;
        const first = Object.keys(full).find((k) => k === "result" || k === "error" || k === "method");
        assert.equal(kind, first === undefined ? undefined : first === "method" ? "message" : "response");
      }),
      { numRuns: 300 },
    );
  });

  it("tells a response from its first members, before the rest arrives", () => {
    const s = new EnvelopeScanner();
    s.push(Buffer.from('{"result":{"content":[{"type":"text","text":"abc'));
    assert.equal(s.kind, "response");
    const q = new EnvelopeScanner();
    q.push(Buffer.from('{"jsonrpc":"2.0","method":"notifications/progress","params":{"x'));
    assert.equal(q.kind, "message");
    const u = new EnvelopeScanner();
    u.push(Buffer.from('{"jsonrpc":"2.0","id":'));
    assert.equal(u.kind, undefined);
  });

  it("finds isError after a payload with escaped quotes and backslashes split across chunks", () => {
    const text = `{"result":{"content":[{"type":"text","text":"a\\\\\\"b\\\\"}],"isError":true},"jsonrpc":"2.0","id":"k\\"1"}`;
    // The text holds a\\\"b (an escaped backslash, then an escaped quote), b\\ before a closing
    // quote, and the id k\"1.
    assert.equal((JSON.parse(text) as { id: string }).id, 'k"1');
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      const { env } = scan([bytes.subarray(0, cut), bytes.subarray(cut)]);
      assert.deepEqual(env, readEnvelope(bytes), `cut at ${cut}`);
    }
  });

  it("refuses what is not one JSON object, and drops members over 64 KiB", () => {
    for (const bad of ['[{"id":1}]', '{"id":1', '{"a":"unterminated}', '{"id":1} {"id":2}', "x"])
      assert.throws(() => scan([Buffer.from(bad)]), SyntaxError, bad);
    const s = new EnvelopeScanner();
    s.push(Buffer.from(`{"error":{"code":1,"message":"${"m".repeat(70_000)}"},"id":3,"jsonrpc":"2.0"}`));
    const env = s.finish() as unknown as Record<string, unknown>;
    assert.deepEqual(s.oversized, ["error"]);
    assert.equal(env["id"], 3);
    assert.equal("error" in env, false);
  });
});
