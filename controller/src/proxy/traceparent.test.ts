import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { childContext, formatTraceparent, parseTraceparent } from "./traceparent.js";

describe("traceparent", () => {
  it("parses version 00 and continues the trace with a new span", () => {
    const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert.deepEqual(parseTraceparent(tp), {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      flags: "01",
    });
    const ctx = childContext(tp);
    assert.equal(ctx.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert.equal(ctx.parentSpanId, "00f067aa0ba902b7");
    assert.match(ctx.spanId, /^[0-9a-f]{16}$/);
    assert.notEqual(ctx.spanId, ctx.parentSpanId);
    assert.equal(formatTraceparent(ctx), `00-4bf92f3577b34da6a3ce929d0e0e4736-${ctx.spanId}-01`);
  });

  it("rejects invalid values (and starts a new trace instead)", () => {
    for (const bad of [
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      "garbage",
    ])
      assert.equal(parseTraceparent(bad), undefined, bad);
    assert.ok(
      parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future") !== undefined,
    );
    const fresh = childContext(undefined);
    assert.match(fresh.traceId, /^[0-9a-f]{32}$/);
    assert.equal(fresh.parentSpanId, "");
  });

  it("gives every request its own ids", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => childContext(undefined).spanId));
    assert.equal(ids.size, 1000);
  });
});
