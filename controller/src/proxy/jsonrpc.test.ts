import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkBody, messageProblem } from "./jsonrpc.js";

describe("JSON-RPC checks", () => {
  it("accepts requests, notifications and responses", () => {
    assert.equal(messageProblem({ jsonrpc: "2.0", id: 1, method: "tools/list" }, ""), undefined);
    assert.equal(messageProblem({ jsonrpc: "2.0", method: "notifications/initialized" }, ""), undefined);
    assert.equal(messageProblem({ jsonrpc: "2.0", id: "a", result: {} }, ""), undefined);
    assert.equal(
      messageProblem({ jsonrpc: "2.0", id: 2, error: { code: -1, message: "no" } }, ""),
      undefined,
    );
  });

  it("names the field that is wrong", () => {
    assert.equal(messageProblem("x", ""), "body: must be a JSON object");
    assert.equal(messageProblem({ id: 1, method: "m" }, ""), 'jsonrpc: must be "2.0"');
    assert.equal(
      messageProblem({ jsonrpc: "2.0", id: 1.5, method: "m" }, ""),
      "id: must be a string or an integer",
    );
    assert.equal(
      messageProblem({ jsonrpc: "2.0", id: 1, method: "" }, ""),
      "method: must be a non-empty string",
    );
    assert.equal(
      messageProblem({ jsonrpc: "2.0", id: 1, method: "m", params: [1] }, ""),
      "params: must be an object",
    );
    assert.equal(
      messageProblem({ jsonrpc: "2.0" }, ""),
      "method: missing (a request or notification needs one; a response needs id)",
    );
    assert.equal(
      messageProblem({ jsonrpc: "2.0", id: 1, result: {}, error: {} }, ""),
      "result/error: a response carries exactly one of them",
    );
    assert.equal(
      messageProblem({ jsonrpc: "2.0", id: 1, error: { code: "x", message: "" } }, "[3]"),
      "[3].error.code: must be an integer",
    );
  });

  it("checks batches: not empty, bounded, every member", () => {
    assert.deepEqual(checkBody([]), { ok: false, code: -32600, message: "body: an empty batch" });
    const big = Array.from({ length: 101 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "ping" }));
    assert.equal(
      (checkBody(big) as { message: string }).message,
      "body: a batch of 101 messages (at most 100)",
    );
    const ok = checkBody([{ jsonrpc: "2.0", id: 1, method: "ping" }]);
    assert.equal(ok.ok && ok.batch, true);
  });
});
