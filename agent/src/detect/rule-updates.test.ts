import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { pino } from "pino";
import { AgentError } from "../errors.js";
import { Counters, FunctionDetector, type Detection, type Detector, type RuntimeEvent } from "@hangar/core";
import { RuleUpdates, SwappableDetector } from "./rule-updates.js";

const ev = (id: string): RuntimeEvent => create(hangar.RuntimeEventSchema, { id, provider: "weather" });
const alertOn = (name: string): FunctionDetector =>
  new FunctionDetector(name, (e) => [create(hangar.AlertSchema, { id: `${name}:${e.id}`, ruleId: name })]);
const ids = (d: Detection | undefined): string[] => d?.alerts.map((a) => a.id) ?? [];

/** A detector holding one alert until flushed (a sequence waiting for its next step). */
class Holding implements Detector {
  readonly name = "holding";
  closed = false;
  process(): Detection | undefined {
    return undefined;
  }
  flush(): Detection | undefined {
    return { alerts: [create(hangar.AlertSchema, { id: "held" })] };
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function updates(compile: (s: ReadonlyMap<string, string>) => Promise<Detector>) {
  const lines: string[] = [];
  const counters = new Counters();
  const detector = new SwappableDetector(alertOn("old"));
  const u = new RuleUpdates({
    detector,
    compile,
    counters,
    logger: pino({ level: "debug" }, { write: (l: string) => void lines.push(l) }),
  });
  return { u, detector, counters, lines };
}

const update = (version: string, files: Record<string, string>): hangar.RuleUpdate =>
  create(hangar.RuleUpdateSchema, { version, files });

describe("SwappableDetector", () => {
  it("runs the new detector from the next event; what the old one held comes out once", async () => {
    const old = new Holding();
    const d = new SwappableDetector(old);
    assert.deepEqual(ids(d.process(ev("1"))), []);
    const replaced = d.swap(alertOn("new"));
    assert.equal(replaced, old);
    assert.deepEqual(ids(d.process(ev("2"))), ["held", "new:2"]);
    assert.deepEqual(ids(d.process(ev("3"))), ["new:3"]);
    await replaced.close?.();
    assert.equal(old.closed, true);
  });
});

describe("RuleUpdates", () => {
  it("swaps in a set that compiles, counts it, and skips a version it already runs", async () => {
    const seen: string[][] = [];
    const { u, detector, counters } = updates((s) => {
      seen.push([...s.keys()]);
      return Promise.resolve(alertOn(`rules-${s.size}`));
    });
    assert.equal(await u.handle(update("v1", { "b.rules": "x", "a.rules": "y" })), "applied");
    assert.deepEqual(seen, [["a.rules", "b.rules"]], "files in name order");
    assert.deepEqual(ids(detector.process(ev("1"))), ["rules-2:1"]);
    assert.equal(u.running, "v1");
    assert.equal(u.received, "v1");
    assert.equal(await u.handle(update("v1", { "a.rules": "y" })), "unchanged");
    assert.equal(counters.get("rule_updates", { outcome: "applied" }), 1);
  });

  it("keeps the running rules when an update does not compile, logs the diagnostics, counts it", async () => {
    const { u, detector, counters, lines } = updates(() =>
      Promise.reject(
        new Error("rule files stable.rules do not compile\nstable.rules:3:7: HANGAR_ERR_RULE_SYNTAX: x"),
      ),
    );
    assert.equal(await u.handle(update("v2", { "stable.rules": "rule broken (" })), "rejected");
    assert.deepEqual(ids(detector.process(ev("1"))), ["old:1"], "the old rules still run");
    assert.equal(u.received, "v2", "received (acknowledged, not asked for again)");
    assert.equal(u.running, "");
    assert.equal(counters.get("rule_updates", { outcome: "rejected" }), 1);
    const err = lines.find((l) => l.includes('"level":50'));
    assert.ok(err !== undefined);
    assert.match(
      err,
      /rule update v2 from the controller does not compile; the detector keeps its current rules/,
    );
    assert.match(err, /stable\.rules:3:7: HANGAR_ERR_RULE_SYNTAX/);
  });

  it("applies updates in arrival order", async () => {
    const order: string[] = [];
    const { u } = updates(async (s) => {
      const v = s.get("v.rules") as string;
      if (v === "slow") await new Promise((r) => setTimeout(r, 20));
      order.push(v);
      return alertOn(v);
    });
    const a = u.handle(update("1", { "v.rules": "slow" }));
    const b = u.handle(update("2", { "v.rules": "fast" }));
    await Promise.all([a, b]);
    assert.deepEqual(order, ["slow", "fast"]);
    assert.equal(u.running, "2");
  });

  it("without a rule engine in the build, an update is counted as no_engine and the detector is left alone", async () => {
    const { u, detector, counters } = updates(() =>
      Promise.reject(
        new AgentError("HANGAR_ERR_PLUGIN_LOAD", "the rule engine could not be loaded: Cannot find package"),
      ),
    );
    assert.equal(await u.handle(update("v1", { "a.rules": "x" })), "rejected");
    assert.equal(counters.get("rule_updates", { outcome: "no_engine" }), 1);
    assert.equal(counters.get("rule_updates", { outcome: "rejected" }), 0);
    assert.deepEqual(ids(detector.process(ev("1"))), ["old:1"]);
  });
});
