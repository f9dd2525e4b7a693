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
      // The store hands out the same for every provider at once.
      b.observe(connectEv(T0 + 34 * MIN, "10.96.0.20", 5432, { tool: "search" }));
      const fromStore = b.deltas(T0 + 35 * MIN);
      assert.deepEqual(
        fromStore.deltas.map((d) => [d.provider, d.node, d.items.length]),
        [["notes", "node-b", 2]],
      );
      assert.deepEqual(
        fromStore.summaries.map((x) => [x.provider, x.state]),
        [["notes", hangar.BaselineState.ENFORCING]],
      );
      // The controller's merged baseline goes back to an agent: what node-a learned becomes known on node-b.
      assert.equal(b.lookup("notes", "egress", "198.51.100.3:443/tcp"), "new", "node-b saw only .10–.14");
      assert.equal(b.lookup("notes", "file", "/app/config.yaml"), "new");
      const versionBefore = b.version("notes");
      const FACET = { egress: hangar.BaselineFacet.EGRESS, file: hangar.BaselineFacet.FILE } as const;
      const merged = create(hangar.BaselineDeltaSchema, {
        provider: "notes",
        node: "controller",
        items: (["egress", "file"] as const).flatMap((facet) =>
          report.facets[facet].map((f) =>
            create(hangar.BaselineItemSchema, {
              facet: FACET[facet],
              value: f.value,
              qualifier: f.qualifier,
              firstSeen: { seconds: BigInt(Math.floor(Date.parse(f.firstSeen) / 1000)) },
              lastSeen: { seconds: BigInt(Math.floor(Date.parse(f.lastSeen) / 1000)) },
            }),
          ),
        ),
      });
      assert.equal(b.adoptMerged(merged), 2, "the /24 and the config file");
      assert.equal(b.lookup("notes", "egress", "198.51.100.3:443/tcp"), "known");
      assert.equal(b.lookup("notes", "file", "/app/config.yaml"), "known");
      assert.notEqual(b.version("notes"), versionBefore, "a new view, a new version");
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
});
