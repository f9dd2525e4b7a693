/**
 * The envelope reader agrees with JSON.parse on what routing and tracing read
 * (jsonrpc, id, method, error, params, result.isError), for any JSON-RPC
 * message, including strings full of quotes, backslashes and braces, and
 * refuses what is not a JSON object.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isEnvelope, readEnvelope } from "./envelope.js";

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
