import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { pino } from "pino";
import { RuleUpdates, SwappableDetector } from "../detect/rule-updates.js";
import {
  Counters,
  MemoryBaselineStore,
  NoDetector,
  type BaselineStore,
  type BaselineSync,
} from "@hangar/core";
import { HubInbox } from "./inbox.js";

const logger = pino({ level: "silent" });
const merged = (provider: string, version: bigint): hangar.MergedBaseline =>
  create(hangar.MergedBaselineSchema, { provider, version });

/** A store whose controller exchange records what it adopts (or refuses everything). */
function store(adopted: string[], fail = false): BaselineStore {
  const sync: BaselineSync = {
    deltas: () => ({ deltas: [], summaries: [] }),
    fullDeltas: () => ({ deltas: [], summaries: [] }),
    summaries: () => [],
    adoptMerged: (m: hangar.MergedBaseline): number => {
      if (fail) throw new Error("merged.items[0].value: empty");
      adopted.push(`${m.provider} v${m.version}`);
      return 1;
    },
  };
  return Object.assign(new MemoryBaselineStore(), { sync });
}

describe("HubInbox", () => {
  it("keeps what arrives before the engines are loaded (the newest per provider) and hands it on at attach", async () => {
    const counters = new Counters();
    const inbox = new HubInbox({ counters, logger });
    const h = inbox.handlers();
    h.onMergedBaseline?.(merged("notes", 1n));
    h.onMergedBaseline?.(merged("notes", 2n));
    h.onMergedBaseline?.(merged("files", 1n));
    h.onRuleUpdate?.(create(hangar.RuleUpdateSchema, { version: "r1", files: { "a.rules": "x" } }));
    assert.equal(h.rulesVersion?.(), "r1", "received, though not applied yet");
    const adopted: string[] = [];
    const compiled: string[] = [];
    const rules = new RuleUpdates({
      detector: new SwappableDetector(),
      compile: (s) => {
        compiled.push([...s.keys()].join(","));
        return Promise.resolve(new NoDetector());
      },
      counters,
      logger,
    });
    inbox.attach({ rules, baseline: store(adopted) });
    assert.deepEqual(adopted, ["notes v2", "files v1"]);
    await rules.handle(create(hangar.RuleUpdateSchema, { version: "r1" })); // waits for the queued one
    assert.deepEqual(compiled, ["a.rules"]);
    assert.equal(counters.get("merged_baselines", { outcome: "adopted" }), 2);
  });

  it("counts merged baselines it cannot use: no store, or an invalid message", () => {
    const counters = new Counters();
    const inbox = new HubInbox({ counters, logger });
    inbox.attach({});
    inbox.mergedBaseline(merged("notes", 1n));
    assert.equal(counters.get("merged_baselines", { outcome: "no_store" }), 1);
    inbox.ruleUpdate(create(hangar.RuleUpdateSchema, { version: "r1" }));
    assert.equal(counters.get("rule_updates", { outcome: "no_engine" }), 1);
    const bad = new HubInbox({ counters, logger });
    bad.attach({ baseline: store([], true) });
    bad.mergedBaseline(merged("notes", 1n));
    assert.equal(counters.get("merged_baselines", { outcome: "rejected" }), 1);
  });
});
