import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RateLimiter, decide, parseConfig } from "./policy.js";

describe("enforcement policy", () => {
  it("defaults to audit with every action allowed", () => {
    const c = parseConfig(undefined);
    assert.deepEqual(decide(c, "mcp", "weather", "quarantine"), {
      mode: "audit",
      allowed: true,
      source: "default",
      actionsSource: "default",
    });
  });
  it("provider (namespace/name, then name) over namespace over default, separately for mode and actions", () => {
    const c = parseConfig({
      mode: "audit",
      namespaces: { mcp: { mode: "enforce", allowedActions: ["block_egress"] } },
      providers: { "mcp/weather": { mode: "audit" }, maps: { allowedActions: ["quarantine"] } },
    });
    assert.deepEqual(decide(c, "mcp", "weather", "quarantine"), {
      mode: "audit",
      allowed: false,
      source: "provider:mcp/weather",
      actionsSource: "namespace:mcp",
    });
    assert.deepEqual(decide(c, "mcp", "maps", "quarantine"), {
      mode: "enforce",
      allowed: true,
      source: "namespace:mcp",
      actionsSource: "provider:maps",
    });
    assert.equal(decide(c, "other", "x", "quarantine").mode, "audit");
  });
  it("errors name the field", () => {
    assert.throws(
      () => parseConfig({ mode: "on" }, "p.yaml"),
      /p\.yaml: mode: must be "audit" or "enforce", got "on"/,
    );
    assert.throws(() => parseConfig({ namespaces: { mcp: { mode: "x" } } }), /namespaces\.mcp\.mode/);
    // A "__proto__" key of the file is a key, not the map's prototype.
    const odd = parseConfig(JSON.parse('{"namespaces": {"__proto__": {"mode": "enforce"}}}'));
    assert.equal(Object.getPrototypeOf(odd.namespaces), Object.prototype);
    assert.equal((odd.namespaces as Record<string, unknown>)["mode"], undefined);
    assert.throws(
      () => parseConfig({ providers: { a: { allowedActions: ["nuke"] } } }),
      /providers\.a\.allowedActions\[0\]: unknown action "nuke"/,
    );
    assert.throws(
      () => parseConfig({ rateLimitGlobal: { max: 0, windowSeconds: 1 } }),
      /rateLimitGlobal\.max: must be a positive integer/,
    );
    assert.throws(() => parseConfig({ colour: "red" }), /colour: unknown field/);
    assert.throws(
      () => parseConfig({ defaultTtlSeconds: 10, maxTtlSeconds: 5 }),
      /defaultTtlSeconds: is longer than maxTtlSeconds/,
    );
    assert.throws(() => parseConfig({ dns: { namespace: "", podLabels: {} } }), /dns\.namespace/);
  });
  it("rate limiter: a sliding window per key; giveBack returns a hit", () => {
    const r = new RateLimiter();
    const l = { max: 2, windowSeconds: 10 };
    assert.equal(r.take("k", l, 0), true);
    assert.equal(r.take("k", l, 1000), true);
    assert.equal(r.take("k", l, 2000), false);
    assert.equal(r.take("other", l, 2000), true);
    r.giveBack("k");
    assert.equal(r.take("k", l, 3000), true);
    assert.equal(r.take("k", l, 10_001), true, "the first hit left the window");
  });
});
