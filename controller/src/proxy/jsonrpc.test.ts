import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { batchProblem, checkBody, messageProblem } from "./jsonrpc.js";

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

  it("refuses a batch in which two requests (or two responses) share an id", () => {
    const call = (id: unknown): unknown => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "x" },
    });
    const dup = checkBody([call(7), call(8), call(7)]);
    assert.deepEqual(dup, {
      ok: false,
      code: -32600,
      message: "[2].id: 7 is also the id of [0]; each request of a batch needs its own id",
    });
    const answers = checkBody([
      { jsonrpc: "2.0", id: "a", result: {} },
      { jsonrpc: "2.0", id: "a", result: {} },
    ]);
    assert.equal(answers.ok, false);
    // A string id and a number id differ; a request and a response may share one.
    assert.equal(checkBody([call(1), call("1")]).ok, true);
    assert.equal(checkBody([call(1), { jsonrpc: "2.0", id: 1, result: {} }]).ok, true);
  });

  it("knows which protocol versions have batches (MCP 2025-06-18 removed them)", () => {
    assert.equal(batchProblem(undefined), undefined);
    assert.equal(batchProblem("2025-03-26"), undefined);
    assert.match(batchProblem("2025-06-18") ?? "", /has no batches \(removed in 2025-06-18\)/);
    assert.match(batchProblem("2025-11-25") ?? "", /has no batches/);
  });
});
