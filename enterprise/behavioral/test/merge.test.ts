/**
 * Across nodes: two agents learn one provider into their own files; their
 * deltas (through the wire format) merge into one controller DuckDB file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import {
  createBaselineStore,
  mergeDeltas,
  mergedBaselines,
  showBaseline,
  summaryOf,
  takeDelta,
  validateDelta,
  type DuckDbBaselineStore,
} from "../src/index.js";
import { T0, connectEv, execEv, fileEv, tempDir, toolEv } from "./events.js";

const MIN = 60_000;

function wire(d: hangar.BaselineDelta | undefined): hangar.BaselineDelta {
  assert.ok(d !== undefined, "a delta");
  return fromBinary(hangar.BaselineDeltaSchema, toBinary(hangar.BaselineDeltaSchema, d));
}

async function agent(dir: string, node: string): Promise<DuckDbBaselineStore> {
  return createBaselineStore({
    db: join(dir, `${node}.duckdb`),
    learn: false,
    syncIntervalMs: 0,
    node,
    learningWindowMs: 30 * MIN,
  });
}

describe("controller merge", () => {
  it("merges two agents' deltas for one provider: union of items, summed counts, widened times, collapse", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const a = await agent(dir, "node-a");
      const b = await agent(dir, "node-b");
      for (let i = 0; i < 5; i++) {
        a.observe(toolEv(T0 + i * MIN, "search"));
        a.observe(connectEv(T0 + i * MIN + 1, "10.96.0.20", 5432, { tool: "search" }));
        a.observe(connectEv(T0 + i * MIN + 2, `198.51.100.${i + 1}`, 443));
        b.observe(toolEv(T0 + 2 * MIN + i * MIN, "search"));
        b.observe(connectEv(T0 + 2 * MIN + i * MIN + 1, "10.96.0.20", 5432, { tool: "search" }));
        b.observe(connectEv(T0 + 2 * MIN + i * MIN + 2, `198.51.100.${i + 10}`, 443));
      }
      b.observe(execEv(T0 + 9 * MIN, "/usr/bin/git", "pull --ff-only"));
      a.observe(fileEv(T0 + 9 * MIN, "/app/config.yaml"));
      const controller = join(dir, "controller.duckdb");
      const deltas = [
        wire(takeDelta(a.profile("notes")!, "node-a", T0 + 10 * MIN)),
        wire(takeDelta(b.profile("notes")!, "node-b", T0 + 10 * MIN)),
      ];
      assert.equal(deltas[0]?.node, "node-a");
      const r = await mergeDeltas(controller, deltas, { now: T0 + 10 * MIN });
      assert.deepEqual(r.providers, ["notes"]);
      let report = await showBaseline(controller, "notes");
      assert.deepEqual(report.nodes, ["node-a", "node-b"]);
      const pg = report.facets.egress.find((e) => e.value === "10.96.0.20:5432/tcp");
      assert.equal(pg?.count, 10, "counts add up across agents");
      assert.equal(pg?.firstSeen, new Date(T0 + 1).toISOString());
      assert.equal(pg?.lastSeen, new Date(T0 + 6 * MIN + 1).toISOString());
      assert.deepEqual(pg?.tools, ["search"]);
      // 10 addresses of one /24 from two nodes: collapsed at the controller, though neither agent had 8.
      assert.ok(
        report.facets.egress.some(
          (e) => e.value === "198.51.100.0/24:443/tcp" && e.collapsed && e.count === 10,
        ),
      );
      assert.ok(report.facets.binary.some((e) => e.value === "/usr/bin/git"));
      assert.ok(report.facets.file.some((e) => e.value === "/app/config.yaml"));
      assert.equal(report.state, "learning");

      // Second round: only what changed since, and the agents' summaries say they finished learning.
      a.observe(toolEv(T0 + 31 * MIN, "search"));
      b.observe(toolEv(T0 + 33 * MIN, "search"));
      a.observe(connectEv(T0 + 32 * MIN, "10.96.0.20", 5432, { tool: "search" }));
      const second = [
        wire(takeDelta(a.profile("notes")!, "node-a")),
        wire(takeDelta(b.profile("notes")!, "node-b")),
      ];
      assert.ok(
        second.every((d) => d.items.length <= 3),
        "deltas carry only what changed",
      );
      const summaries = [summaryOf(a.profile("notes")!), summaryOf(b.profile("notes")!)].map((s) =>
        fromBinary(hangar.BaselineSummarySchema, toBinary(hangar.BaselineSummarySchema, s)),
      );
      assert.deepEqual(
        summaries.map((s) => s.state),
        [hangar.BaselineState.ENFORCING, hangar.BaselineState.ENFORCING],
      );
      await mergeDeltas(controller, second, { states: summaries });
      report = await showBaseline(controller, "notes");
      assert.equal(report.state, "enforcing");
      assert.equal(report.endReason, "merged");
      assert.equal(report.facets.egress.find((e) => e.value === "10.96.0.20:5432/tcp")?.count, 11);
      assert.equal(report.facets.tool.find((e) => e.value === "search")?.count, 12);
      assert.equal(takeDelta(a.profile("notes")!, "node-a"), undefined, "nothing new, no delta");
      // The store hands out the same for every provider at once; its first delta in a process
      // is full (every item, cumulative counts), later ones only what changed.
      b.observe(connectEv(T0 + 34 * MIN, "10.96.0.20", 5432, { tool: "search" }));
      const fromStore = b.deltas(T0 + 35 * MIN);
      assert.deepEqual(
        fromStore.deltas.map((d) => [d.provider, d.node, d.items.length, d.full]),
        [["notes", "node-b", b.profile("notes")!.items.size, true]],
      );
      b.observe(connectEv(T0 + 35 * MIN, "10.96.0.20", 5432, { tool: "search" }));
      assert.deepEqual(
        b.deltas(T0 + 36 * MIN).deltas.map((d) => [d.items.length, d.full]),
        [[2, false]],
      );
      assert.deepEqual(
        fromStore.summaries.map((x) => [x.provider, x.state]),
        [["notes", hangar.BaselineState.ENFORCING]],
      );
      // The controller's merged baseline goes back to an agent: what node-a learned becomes known on node-b.
      assert.equal(b.lookup("notes", "egress", "198.51.100.3:443/tcp"), "new", "node-b saw only .10–.14");
      assert.equal(b.lookup("notes", "file", "/app/config.yaml"), "new");
      const versionBefore = b.version("notes");
      const [merged] = (await mergedBaselines(controller, "notes")).map((m) =>
        fromBinary(hangar.MergedBaselineSchema, toBinary(hangar.MergedBaselineSchema, m)),
      );
      assert.ok(merged !== undefined);
      assert.deepEqual(merged.nodes, ["node-a", "node-b"]);
      assert.equal(merged.state, hangar.BaselineState.ENFORCING);
      assert.ok(merged.version > 0n);
      assert.ok(b.adoptMerged(merged) >= 2, "at least the /24 and the config file");
      assert.equal(b.lookup("notes", "egress", "198.51.100.3:443/tcp"), "known");
      assert.equal(b.lookup("notes", "file", "/app/config.yaml"), "known");
      assert.notEqual(b.version("notes"), versionBefore, "a new view, a new version");
      assert.match(
        b.version("notes"),
        new RegExp(`\\+m${merged.version}$`),
        "the merged version is in the stamp",
      );
      // Adopted items are not echoed back to the controller.
      assert.equal(takeDelta(b.profile("notes")!, "node-b"), undefined);
      assert.equal(b.adoptMerged(merged), 0, "adopting twice changes nothing");
      await a.close();
      await b.close();
    } finally {
      cleanup();
    }
  });

  it("rejects an invalid delta naming the field", () => {
    const d = create(hangar.BaselineDeltaSchema, {
      provider: "notes",
      node: "node-a",
      items: [
        {
          facet: hangar.BaselineFacet.EGRESS,
          value: "10.0.0.1:443/tcp",
          firstSeen: { seconds: 1n },
          lastSeen: { seconds: 2n },
        },
        {
          facet: hangar.BaselineFacet.EGRESS,
          value: "not-an-ip:443",
          firstSeen: { seconds: 1n },
          lastSeen: { seconds: 2n },
        },
      ],
    });
    assert.throws(() => validateDelta(d), /delta\.items\[1\]\.value: "not-an-ip:443" is not an egress value/);
    d.items.pop();
    d.items[0]!.facet = hangar.BaselineFacet.UNSPECIFIED;
    assert.throws(() => validateDelta(d), /delta\.items\[0\]\.facet: unknown facet 0/);
    assert.throws(() => validateDelta(create(hangar.BaselineDeltaSchema, {})), /delta\.provider: empty/);
  });

  it("deltas carry the agent's summary; a state change goes out even without new items", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const a = await agent(dir, "node-a");
      a.observe(toolEv(T0, "search"));
      const [first] = a.deltas(T0 + MIN).deltas;
      assert.equal(first?.summary?.state, hangar.BaselineState.LEARNING);
      assert.deepEqual(a.deltas(T0 + 2 * MIN).deltas, [], "nothing new, same state: no delta");
      a.observe(toolEv(T0 + 31 * MIN, "search")); // the window ends; a known item, counted
      const after = a.deltas(T0 + 32 * MIN).deltas;
      assert.equal(after.length, 1);
      assert.equal(after[0]?.summary?.state, hangar.BaselineState.ENFORCING);
      // Merged at the controller from the deltas alone (no states given): it enforces.
      const controller = join(dir, "controller.duckdb");
      await mergeDeltas(controller, [wire(first), wire(after[0])]);
      const [m] = await mergedBaselines(controller, "notes");
      assert.equal(m?.state, hangar.BaselineState.ENFORCING);
      assert.deepEqual(await mergedBaselines(join(dir, "none.duckdb")), [], "no file yet: none");
      await a.close();
    } finally {
      cleanup();
    }
  });

  it("full deltas (a new agent process, a resync the controller asked for) never count twice", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const a = await agent(dir, "node-a");
      for (let i = 0; i < 3; i++) a.observe(toolEv(T0 + i * MIN, "search"));
      const [first] = a.deltas(T0 + 5 * MIN).deltas;
      assert.equal(first?.full, true, "the first delta of a process is full");
      a.observe(toolEv(T0 + 6 * MIN, "search"));
      const [inc] = a.deltas(T0 + 7 * MIN).deltas;
      assert.equal(inc?.full, false, "then increments");
      const controller = join(dir, "controller.duckdb");
      const count = async (): Promise<number> => {
        const [m] = await mergedBaselines(controller, "notes");
        return Number(m?.items.find((it) => it.value === "search")?.count ?? -1n);
      };
      await mergeDeltas(controller, [wire(first), wire(inc)]);
      assert.equal(await count(), 4, "3 + 1");
      // The controller restarted (or another replica took over) and asks for everything again:
      // the same counts, cumulative, merged without adding them twice.
      const again = a.fullDeltas(T0 + 8 * MIN).deltas;
      assert.equal(again.length, 1);
      assert.equal(again[0]?.full, true);
      assert.equal(again[0]?.items.find((it) => it.value === "search")?.count, 4n);
      await mergeDeltas(controller, [wire(again[0])]);
      assert.equal(await count(), 4, "not 8");
      // Into an empty controller file (a fresh replica), the full delta is the whole baseline.
      const fresh = join(dir, "fresh.duckdb");
      await mergeDeltas(fresh, [wire(again[0])]);
      const [m] = await mergedBaselines(fresh, "notes");
      assert.equal(Number(m?.items.find((it) => it.value === "search")?.count), 4);
      // Increments after a full delta add up again.
      a.observe(toolEv(T0 + 9 * MIN, "search"));
      const [next] = a.deltas(T0 + 10 * MIN).deltas;
      assert.equal(next?.full, false);
      await mergeDeltas(controller, [wire(next)]);
      assert.equal(await count(), 5);
      await a.close();
    } finally {
      cleanup();
    }
  });

  it("adoptMerged on a node that has not seen the provider: enforces at once when the merge does", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const c = await agent(dir, "node-c");
      const item = (facet: hangar.BaselineFacet, value: string) =>
        create(hangar.BaselineItemSchema, {
          facet,
          value,
          count: 4n,
          firstSeen: { seconds: BigInt(T0 / 1000) },
          lastSeen: { seconds: BigInt(T0 / 1000) },
        });
      const merged = (provider: string, state: hangar.BaselineState) =>
        create(hangar.MergedBaselineSchema, {
          provider,
          version: 4n,
          state,
          nodes: ["node-a"],
          items: [
            item(hangar.BaselineFacet.TOOL, "search"),
            item(hangar.BaselineFacet.EGRESS, "198.51.100.0/24:443/tcp"),
          ],
        });
      assert.equal(c.adoptMerged(merged("notes", hangar.BaselineState.ENFORCING)), 2);
      assert.equal(
        c.lookup("notes", "egress", "198.51.100.77:443/tcp"),
        "known",
        "the collapsed /24 covers it",
      );
      assert.equal(c.lookup("notes", "egress", "192.0.2.1:443/tcp"), "new");
      assert.match(c.version("notes"), /\+m4$/);
      const alerts = c.observe(connectEv(T0 + MIN, "192.0.2.1", 443))?.alerts ?? [];
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]?.baselineVersion, c.version("notes"));
      assert.deepEqual(c.observe(connectEv(T0 + MIN, "198.51.100.8", 443))?.alerts ?? [], []);
      // Still learning cluster-wide: this node learns too, with the merged items in hand.
      assert.equal(c.adoptMerged(merged("files", hangar.BaselineState.LEARNING)), 2);
      assert.equal(c.lookup("files", "tool", "search"), "learning");
      // Invalid: refused naming the field, nothing changes.
      const bad = merged("notes", hangar.BaselineState.ENFORCING);
      bad.items[1]!.value = "nowhere";
      assert.throws(() => c.adoptMerged(bad), /merged\.items\[1\]\.value: "nowhere" is not an egress value/);
      await c.close();
    } finally {
      cleanup();
    }
  });
});
