import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryBaselineStore } from "@hangar/core";
import { Engine, type Match } from "./engine.js";
import { compileSources } from "./load.js";
import type { CompiledRule } from "./program.js";
import { testEvent, type TestValue } from "./testevents.js";

const META = `description "d" severity high mitre T1059 maturity stable`;

function compile(body: string): CompiledRule[] {
  const r = compileSources(new Map([["e.rules", `rule r { ${META} ${body} }`]]));
  assert.equal(r.ok, true, JSON.stringify(r.diagnostics));
  return r.rules;
}

let n = 0;
function ev(kind: string, atMs: number, fields: Record<string, TestValue> = {}) {
  return testEvent(kind, atMs, n++, new Map(Object.entries(fields)));
}

function run(engine: Engine, events: ReturnType<typeof ev>[], flush = true): Match[] {
  const out: Match[] = [];
  for (const e of events) out.push(...engine.process(e));
  if (flush) out.push(...engine.flush());
  return out;
}

const ids = (ms: Match[]): string[][] => ms.map((m) => m.events.map((e) => e.process?.binary ?? e.id));

describe("engine: sequences with EQL semantics", () => {
  const seq = compile(`sequence by pod.name maxspan 10s {
      a: exec where process.binary startswith "/a"
      b: exec where process.binary startswith "/b"
    }`);

  it("a newer partial match replaces the older one in the same state", () => {
    const m = run(new Engine({ rules: seq }), [
      ev("exec", 0, { "process.binary": "/a1" }),
      ev("exec", 1000, { "process.binary": "/a2" }),
      ev("exec", 2000, { "process.binary": "/b1" }),
      ev("exec", 3000, { "process.binary": "/b2" }),
    ]);
    assert.deepEqual(ids(m), [["/a2", "/b1"]], "one match, with the newest a; b2 finds nothing pending");
  });

  it("expires by event time: maxspan is measured from the first step, inclusive", () => {
    const e = new Engine({ rules: seq });
    assert.deepEqual(
      ids(
        run(e, [ev("exec", 0, { "process.binary": "/a" }), ev("exec", 10_000, { "process.binary": "/b" })]),
      ),
      [["/a", "/b"]],
    );
    const late = new Engine({ rules: seq });
    assert.deepEqual(
      run(late, [ev("exec", 0, { "process.binary": "/a" }), ev("exec", 10_001, { "process.binary": "/b" })]),
      [],
    );
    assert.equal(late.stats().expired, 1);
    assert.equal(late.stats().partials, 0, "expired state is gone");
  });

  it("keys: events of another pod do not join", () => {
    const m = run(new Engine({ rules: seq }), [
      ev("exec", 0, { "process.binary": "/a", "pod.name": "p1" }),
      ev("exec", 1, { "process.binary": "/b", "pod.name": "p2" }),
    ]);
    assert.deepEqual(m, []);
  });

  it("one event never advances two steps (steps are tried last to first)", () => {
    const same = compile(`sequence maxspan 10s { a: exec b: exec }`);
    const m = run(new Engine({ rules: same }), [
      ev("exec", 0, { "process.binary": "/x" }),
      ev("exec", 1, { "process.binary": "/y" }),
    ]);
    assert.deepEqual(ids(m), [["/x", "/y"]]);
  });

  it("per-step keys and references to earlier steps", () => {
    const r = compile(`sequence by pod.name maxspan 1m {
        w: file where file.operation = "write" by process.exec_id
        x: exec where process.binary = w.file.path by process.parent_exec_id
      }`);
    const m = run(new Engine({ rules: r }), [
      ev("file", 0, { "file.path": "/tmp/a", "file.operation": "write", "process.exec_id": "e1" }),
      ev("exec", 1, { "process.binary": "/tmp/b", "process.parent_exec_id": "e1" }),
      ev("exec", 2, { "process.binary": "/tmp/a", "process.parent_exec_id": "e2" }),
      ev("exec", 3, { "process.binary": "/tmp/a", "process.parent_exec_id": "e1" }),
    ]);
    assert.deepEqual(ids(m), [["/usr/local/bin/node", "/tmp/a"]]);
    assert.equal(m[0]?.events[1]?.id, "test-" + String(n - 1));
  });

  it("until drops a pending match", () => {
    const r = compile(
      `sequence by pod.name maxspan 1m { a: exec b: connect } until exit where process.exec_id = a.process.exec_id`,
    );
    const e = new Engine({ rules: r });
    const m = run(e, [
      ev("exec", 0, { "process.exec_id": "e1" }),
      ev("exit", 1, { "process.exec_id": "e2" }),
      ev("exit", 2, { "process.exec_id": "e1" }),
      ev("connect", 3, {}),
    ]);
    assert.deepEqual(m, []);
    assert.equal(e.stats().untilDropped, 1);
  });

  it("repetition (runs) needs every occurrence", () => {
    const r = compile(`sequence maxspan 1m { a: exec runs 3 }`);
    assert.equal(run(new Engine({ rules: r }), [ev("exec", 0), ev("exec", 1)]).length, 0);
    const m = run(new Engine({ rules: r }), [ev("exec", 0), ev("exec", 1), ev("exec", 2)]);
    assert.equal(m.length, 1);
    assert.equal(m[0]?.events.length, 3);
  });
});

describe("engine: negative steps", () => {
  const trailing = compile(
    `sequence by pod.name maxspan 1m { a: exec by process.exec_id  n: not exit by process.exec_id within 10s }`,
  );

  it("fires when the window passes without the negative event (on a later event's time)", () => {
    const e = new Engine({ rules: trailing });
    assert.deepEqual(e.process(ev("exec", 0, { "process.exec_id": "e1" })), []);
    assert.deepEqual(e.process(ev("connect", 10_000)), [], "window still open at 10s (inclusive)");
    const m = e.process(ev("connect", 10_001));
    assert.equal(m.length, 1);
    assert.equal(
      m[0]?.time,
      10_000 + Date.parse("2026-03-02T09:00:00Z"),
      "the match is stamped at the end of the window",
    );
  });

  it("the negative event within the window cancels it; at the end of the stream an open window does not fire", () => {
    const e = new Engine({ rules: trailing });
    const m = run(e, [
      ev("exec", 0, { "process.exec_id": "e1" }),
      ev("exec", 1, { "process.exec_id": "e2" }),
      ev("exit", 9_000, { "process.exec_id": "e1" }),
    ]);
    assert.deepEqual(m, [], "e1 exited in time; e2's window was still open when the stream ended");
    assert.equal(e.stats().cancelled, 1);
    assert.equal(e.stats().unresolved, 1);
  });

  it("flush fires a window the stream passed (held back by the allowed lateness)", () => {
    const e = new Engine({ rules: trailing, latenessMs: 5000 });
    const m = run(e, [ev("exec", 0, { "process.exec_id": "e1" }), ev("connect", 12_000)]);
    assert.deepEqual(
      m.map((x) => x.events[0]?.process?.execId),
      ["e1"],
    );
    assert.equal(e.stats().unresolved, 0);
  });

  it("a middle negative step: no dns between the two steps", () => {
    const r = compile(`sequence by pod.name maxspan 1m { a: file  n: not dns  b: connect }`);
    assert.equal(run(new Engine({ rules: r }), [ev("file", 0), ev("dns", 1), ev("connect", 2)]).length, 0);
    assert.equal(run(new Engine({ rules: r }), [ev("file", 0), ev("connect", 2), ev("dns", 3)]).length, 1);
    assert.equal(run(new Engine({ rules: r }), [ev("dns", 0), ev("file", 1), ev("connect", 2)]).length, 1);
  });
});

describe("engine: time", () => {
  const r = compile(
    `sequence by pod.name maxspan 10s { a: exec where process.binary = "/a" b: exec where process.binary = "/b" }`,
  );

  it("reorders events within the allowed lateness", () => {
    const e = new Engine({ rules: r, latenessMs: 2000 });
    const m = run(e, [
      ev("exec", 1000, { "process.binary": "/b" }),
      ev("exec", 500, { "process.binary": "/a" }),
      ev("exec", 1500, { "process.binary": "/b" }),
    ]);
    assert.deepEqual(ids(m), [["/a", "/b"]]);
    assert.equal(e.stats().late, 0);
  });

  it("counts events older than the watermark as late and keeps them out of sequences", () => {
    const e = new Engine({ rules: r, latenessMs: 1000 });
    const m = run(e, [
      ev("exec", 5000, { "process.binary": "/b" }),
      ev("exec", 3000, { "process.binary": "/a" }),
      ev("exec", 6000, { "process.binary": "/b" }),
    ]);
    assert.deepEqual(m, []);
    assert.equal(e.stats().late, 1);
  });

  it("single-event rules still see late events", () => {
    const single = compile(`event exec where process.binary = "/a"`);
    const e = new Engine({ rules: single, latenessMs: 0 });
    const m = run(e, [
      ev("exec", 5000, { "process.binary": "/b" }),
      ev("exec", 3000, { "process.binary": "/a" }),
    ]);
    assert.equal(m.length, 1);
    assert.equal(e.stats().late, 1);
  });
});

describe("engine: advance (a quiet live stream)", () => {
  it("releases held events once the quiet time passes the allowed lateness", () => {
    const single = compile(`event exec where process.binary = "/a"`);
    const e = new Engine({ rules: single, latenessMs: 2000 });
    assert.deepEqual(e.process(ev("exec", 10_000, { "process.binary": "/a" })), [], "held for reordering");
    const held = e.watermark;
    assert.deepEqual(e.advance(1000), [], "1 s of quiet is within the lateness");
    assert.equal(e.advance(1000).length, 1, "2 s of quiet releases it");
    assert.equal(e.watermark, held + 2000);
  });

  it("fires a trailing negative step when nothing follows within its window", () => {
    const neg = compile(`sequence by pod.name maxspan 1m { a: file  n: not dns within 5s }`);
    const e = new Engine({ rules: neg, latenessMs: 0 });
    assert.deepEqual(e.process(ev("file", 0)), []);
    assert.deepEqual(e.advance(4000), [], "still inside the window");
    assert.equal(e.advance(2000).length, 1, "the window closed with no dns");
  });

  it("does nothing before the first event, and later events older than the new watermark are late", () => {
    const single = compile(`event exec where process.binary = "/a"`);
    const e = new Engine({ rules: single, latenessMs: 0 });
    assert.deepEqual(e.advance(5000), []);
    assert.equal(e.watermark, -Infinity);
    e.process(ev("exec", 1000, { "process.binary": "/b" }));
    const seen = e.watermark;
    e.advance(5000);
    assert.equal(e.watermark, seen + 5000);
    e.process(ev("exec", 3000, { "process.binary": "/a" }));
    assert.equal(e.stats().late, 1);
  });
});

describe("engine: bounds", () => {
  it("caps partial matches per rule, evicting the stalest first, and counts it", () => {
    const r = compile(`sequence by process.exec_id maxspan 1h { a: exec b: exit }`);
    const e = new Engine({ rules: r, maxKeysPerRule: 2 });
    run(
      e,
      [
        ev("exec", 0, { "process.exec_id": "e1" }),
        ev("exec", 1, { "process.exec_id": "e2" }),
        ev("exec", 2, { "process.exec_id": "e3" }),
      ],
      false,
    );
    assert.deepEqual(e.stats().evicted, { r: 1 });
    assert.equal(e.stats().partials, 2);
    const m = run(e, [
      ev("exit", 3, { "process.exec_id": "e1" }),
      ev("exit", 4, { "process.exec_id": "e3" }),
    ]);
    assert.deepEqual(
      m.map((x) => x.events[0]?.process?.execId),
      ["e3"],
      "e1 was the stalest and is gone",
    );
  });

  it("keeps its state under its bounds while a looped stream repeats times and exec ids", () => {
    // Two sequence rules and a threshold, like the packs: an exec then an exit or a connect
    // of the same process, and connects counted per pod. The stream is a 2,000-event
    // recording played 40 times: the same exec ids and the same times every loop.
    const rules = compileSources(
      new Map([
        [
          "e.rules",
          [
            `rule s1 { ${META} sequence by process.exec_id maxspan 10m { a: exec b: exit } }`,
            `rule s2 { ${META} sequence by process.exec_id maxspan 10m { a: exec b: connect c: connect } }`,
            `rule t1 { ${META} count connect by process.exec_id over 10m >= 1000 }`,
          ].join("\n"),
        ],
      ]),
    );
    assert.equal(rules.ok, true, JSON.stringify(rules.diagnostics));
    const limits = { maxPartials: 600, maxBuffered: 500, rewindEvents: 100, rewindMs: 10_000 };
    const e = new Engine({ rules: rules.rules, latenessMs: 2000, ...limits });
    const recording: ReturnType<typeof ev>[] = [];
    for (let i = 0; i < 2000; i++) {
      // 400 processes of 5 events (exec, 3 connects, exit), over 300 exec ids.
      const id = `exec-${Math.floor(i / 5) % 300}`;
      const kind = i % 5 === 0 ? "exec" : i % 5 === 4 ? "exit" : "connect";
      recording.push(ev(kind, i * 60, { "process.exec_id": id }));
    }
    let matches = 0;
    let maxTimers = 0;
    for (let loop = 0; loop < 40; loop++) {
      for (const x of recording) {
        matches += e.process(x).length;
        const st = e.stats();
        assert.ok(st.buffered <= limits.maxBuffered, `buffered ${st.buffered}`);
        assert.ok(st.partials <= limits.maxPartials, `partials ${st.partials}`);
        maxTimers = Math.max(maxTimers, st.timers);
      }
    }
    const st = e.stats();
    assert.ok(maxTimers <= 2 * limits.maxPartials + 4096 + 1, `timers peaked at ${maxTimers}`);
    assert.ok(st.clockResets >= 39, `the clock started over at each loop (${st.clockResets})`);
    assert.ok(st.late <= 40 * 100, `only the events before each reset were late (${st.late})`);
    // Stateful rules keep matching in every loop, not only the first.
    assert.ok(matches > 39 * 100, `matches over 40 loops: ${matches}`);
  });

  it("sheds the timers of replaced partial matches instead of keeping them to their deadline", () => {
    const r = compile(`sequence by process.exec_id maxspan 1h { a: exec b: exit }`);
    const e = new Engine({ rules: r });
    // The same process execs 20,000 times in an hour: each new first step replaces the last.
    for (let i = 0; i < 20_000; i++) e.process(ev("exec", i, { "process.exec_id": "same" }));
    const st = e.stats();
    assert.equal(st.partials, 1);
    assert.ok(st.timers <= 4096 + 3, `timers ${st.timers}`);
    assert.ok(st.timersShed >= 15_000, `shed ${st.timersShed}`);
    // The live one still completes.
    assert.equal(run(e, [ev("exit", 20_001, { "process.exec_id": "same" })]).length, 1);
  });

  it("caps partial matches over all rules together, taking from the fullest rule, and counts it", () => {
    const rules = compileSources(
      new Map([
        [
          "e.rules",
          [
            `rule a { ${META} sequence by process.exec_id maxspan 1h { a: exec b: exit } }`,
            `rule b { ${META} sequence by process.binary maxspan 1h { a: exec b: exit } }`,
          ].join("\n"),
        ],
      ]),
    );
    assert.equal(rules.ok, true);
    const e = new Engine({ rules: rules.rules, maxPartials: 100 });
    for (let i = 0; i < 1000; i++)
      e.process(ev("exec", i, { "process.exec_id": `x${i}`, "process.binary": `/b${i % 10}` }));
    const st = e.stats();
    assert.equal(st.partials, 100);
    assert.equal((st.evicted.a ?? 0) + (st.evicted.b ?? 0), 1000 + 10 - 100);
    assert.equal(st.evicted.b, undefined, "rule b holds 10 keys; the fullest (a) gave them up");
  });

  it("lets the earliest event out of a full reorder buffer and counts it", () => {
    const r = compile(`sequence by process.exec_id maxspan 1h { a: exec b: exit }`);
    const e = new Engine({ rules: r, latenessMs: 3_600_000, maxBuffered: 100 });
    let m = 0;
    for (let i = 0; i < 1000; i++) {
      m += e.process(ev(i % 2 === 0 ? "exec" : "exit", i, { "process.exec_id": `p${i >> 1}` })).length;
      assert.ok(e.stats().buffered <= 100);
    }
    assert.equal(e.stats().reorderForced, 900);
    assert.equal(m, 450, "the events let through still match in order");
  });

  it("events without a join key value are counted, not joined on an empty key", () => {
    const r = compile(`sequence by session.id maxspan 1h { a: exec b: exit }`);
    const e = new Engine({ rules: r });
    assert.deepEqual(run(e, [ev("exec", 0), ev("exit", 1)]), []);
    assert.equal(e.stats().missingKey, 2);
  });
});

describe("engine: thresholds", () => {
  it("count over a sliding window, restarting after it fires", () => {
    const r = compile(`count connect by pod.name over 10s >= 3`);
    const e = new Engine({ rules: r });
    const m = run(e, [
      ev("connect", 0),
      ev("connect", 5000),
      ev("connect", 11_000),
      ev("connect", 12_000),
      ev("connect", 13_000),
      ev("connect", 14_000),
    ]);
    assert.deepEqual(
      m.map((x) => x.time - Date.parse("2026-03-02T09:00:00Z")),
      [12_000],
    );
  });

  it("distinct values over a window", () => {
    const r = compile(`distinct destination.port of connect by pod.name over 10s > 2`);
    const m = run(new Engine({ rules: r }), [
      ev("connect", 0, { "destination.port": 1 }),
      ev("connect", 1, { "destination.port": 1 }),
      ev("connect", 2, { "destination.port": 2 }),
      ev("connect", 20_000, { "destination.port": 3 }),
      ev("connect", 20_001, { "destination.port": 4 }),
      ev("connect", 20_002, { "destination.port": 5 }),
    ]);
    assert.equal(m.length, 1);
    assert.equal(m[0]?.count, 3);
  });
});

describe("engine: baseline predicates", () => {
  it("mark matches made while the provider is learning", () => {
    const r = compile(`event connect where destination.ip not in baseline(egress)`);
    const store = new MemoryBaselineStore();
    store.allow("test-provider", "egress", "198.51.100.7");
    const e = new Engine({ rules: r, baseline: store });
    assert.deepEqual(run(e, [ev("connect", 0, { "destination.ip": "198.51.100.7" })]), []);
    const m = run(e, [ev("connect", 1, { "destination.ip": "203.0.113.9" })]);
    assert.equal(m[0]?.learning, false);
    store.setLearning("test-provider", true);
    assert.equal(run(e, [ev("connect", 2, { "destination.ip": "203.0.113.9" })])[0]?.learning, true);
  });
});
