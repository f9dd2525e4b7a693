import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counters } from "./counters.js";

describe("Counters.key", () => {
  it("is the bare name without labels or with an empty label set", () => {
    assert.equal(Counters.key("kept"), "kept");
    assert.equal(Counters.key("kept", {}), "kept");
  });

  it("sorts label names and JSON-quotes the values", () => {
    assert.equal(
      Counters.key("dropped", { reason: "full", queue: "tetragon" }),
      'dropped{queue="tetragon",reason="full"}',
    );
  });

  it("gives the same key whatever the order the labels were written in", () => {
    assert.equal(Counters.key("x", { a: "1", b: "2" }), Counters.key("x", { b: "2", a: "1" }));
  });

  it("escapes quotes and commas inside values so they cannot forge another label", () => {
    assert.equal(Counters.key("x", { a: 'v",b="w' }), 'x{a="v\\",b=\\"w"}');
  });
});

describe("Counters", () => {
  it("inc adds 1 by default and `by` otherwise; get of an unknown counter is 0", () => {
    const c = new Counters<string>();
    assert.equal(c.get("events"), 0);
    c.inc("events");
    c.inc("events", undefined, 41);
    assert.equal(c.get("events"), 42);
  });

  it("keeps label sets apart", () => {
    const c = new Counters<string>();
    c.inc("dropped", { reason: "full" });
    c.inc("dropped", { reason: "closed" }, 2);
    assert.equal(c.get("dropped", { reason: "full" }), 1);
    assert.equal(c.get("dropped", { reason: "closed" }), 2);
    assert.equal(c.get("dropped"), 0);
  });

  it("set overwrites (gauge)", () => {
    const c = new Counters<string>();
    c.set("depth", 5, { queue: "q" });
    c.set("depth", 3, { queue: "q" });
    assert.equal(c.get("depth", { queue: "q" }), 3);
  });

  it("byLabel sums one label across the family and ignores other families", () => {
    const c = new Counters<string>();
    c.inc("queue_dropped", { queue: "tetragon", reason: "full" }, 3);
    c.inc("queue_dropped", { queue: "hubble", reason: "full" }, 2);
    c.inc("queue_dropped", { queue: "hubble", reason: "closed" });
    c.inc("queue_dropped_total", { reason: "full" }, 100);
    c.inc("dropped", { reason: "full" }, 100);
    c.inc("queue_dropped");
    assert.deepEqual(c.byLabel("queue_dropped", "reason"), { full: 5, closed: 1 });
    assert.deepEqual(c.byLabel("queue_dropped", "queue"), { tetragon: 3, hubble: 3 });
    assert.deepEqual(c.byLabel("queue_dropped", "missing"), {});
  });

  it("byLabel counts a label value that names an Object.prototype member from zero", () => {
    const c = new Counters<string>();
    c.inc("alerts", { provider: "constructor" }, 2);
    c.inc("alerts", { provider: "toString" });
    c.inc("alerts", { provider: "__proto__" }, 4);
    const by = c.byLabel("alerts", "provider");
    // A number assigned to "__proto__" is ignored by its setter: that one value is not counted.
    assert.deepEqual(by, { constructor: 2, toString: 1 });
    assert.equal(Object.getPrototypeOf(by), Object.prototype, "the result's prototype is untouched");
  });

  it("byLabel decodes values with quotes and does not match a label name inside a value", () => {
    const c = new Counters<string>();
    c.inc("x", { a: 'reason="evil"', reason: "real" });
    assert.deepEqual(c.byLabel("x", "reason"), { real: 1 });
    assert.deepEqual(c.byLabel("x", "a"), { 'reason="evil"': 1 });
  });

  it("snapshot lists every key in sorted order, whatever the insertion order", () => {
    const c = new Counters<string>();
    c.inc("zeta");
    c.inc("alpha", { b: "2" });
    c.inc("alpha", { a: "1" });
    c.inc("alpha");
    const snap = c.snapshot();
    assert.deepEqual(Object.keys(snap), ["alpha", 'alpha{a="1"}', 'alpha{b="2"}', "zeta"]);
    assert.deepEqual(snap, { alpha: 1, 'alpha{a="1"}': 1, 'alpha{b="2"}': 1, zeta: 1 });
  });
});

describe("Counters: resolved label sets and handles", () => {
  it("counts labels written in any order, in fresh objects or the same one, as one counter", () => {
    const c = new Counters<string>();
    const fixed = { reason: "full", queue: "q" };
    c.inc("dropped", fixed);
    c.inc("dropped", fixed, 2);
    c.inc("dropped", { queue: "q", reason: "full" });
    c.inc("dropped", { reason: "full", queue: "q" }, 4);
    assert.equal(c.get("dropped", { queue: "q", reason: "full" }), 8);
    assert.deepEqual(c.snapshot(), { 'dropped{queue="q",reason="full"}': 8 });
  });

  it("keeps a label set apart from its prefix and from the same values under other names", () => {
    const c = new Counters<string>();
    c.inc("x", { a: "1" });
    c.inc("x", { a: "1", b: "2" }, 2);
    c.inc("x", { b: "1" }, 3);
    c.inc("x", {}, 4);
    c.inc("x", undefined, 5);
    c.inc("y", { a: "1" }, 6);
    assert.deepEqual(c.snapshot(), {
      x: 9,
      'x{a="1",b="2"}': 2,
      'x{a="1"}': 1,
      'x{b="1"}': 3,
      'y{a="1"}': 6,
    });
  });

  it("a handle adds to the same value inc and get see, and set overwrites it", () => {
    const c = new Counters<string>();
    c.inc("alerts", { rule: "r", severity: "high" }, 2);
    const h = c.handle("alerts", { severity: "high", rule: "r" });
    h.inc();
    h.inc(3);
    assert.equal(c.get("alerts", { rule: "r", severity: "high" }), 6);
    c.inc("alerts", { rule: "r", severity: "high" });
    assert.equal(c.get("alerts", { rule: "r", severity: "high" }), 7);
    h.set(1);
    assert.equal(c.get("alerts", { rule: "r", severity: "high" }), 1);
    const plain = c.handle("kept");
    c.handle("never", { reason: "counted" });
    assert.deepEqual(
      Object.keys(c.snapshot()),
      ['alerts{rule="r",severity="high"}'],
      "a handle lists nothing before it counts",
    );
    plain.inc();
    assert.deepEqual(c.snapshot(), { 'alerts{rule="r",severity="high"}': 1, kept: 1 });
  });

  it("byLabel and get read counters incremented through the index", () => {
    const c = new Counters<string>();
    const h = c.handle("queue_dropped", { queue: "a", reason: "full" });
    for (let i = 0; i < 5; i++) h.inc();
    c.inc("queue_dropped", { reason: "full", queue: "b" });
    assert.deepEqual(c.byLabel("queue_dropped", "reason"), { full: 6 });
    assert.equal(c.get("queue_dropped", { reason: "full", queue: "a" }), 5);
  });
});
