/**
 * The baseline ports against the real baseline engine (@hangar/behavioral,
 * loaded by package name through bootstrap/plugins.ts, DuckDB on disk): an
 * agent's delta merged, then read back through the view the REST API and
 * tighten_egress use. Skips, saying why, when this build has no engine.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { loadBehavioral } from "../src/bootstrap/plugins.js";
import {
  baselineEgress,
  behavioralBaselineMerge,
  behavioralBaselineView,
} from "../src/baselines/baselines.js";

const available = await loadBehavioral(["mergeDeltas", "listProviders", "showBaseline"]).then(
  () => undefined,
  (err: unknown) =>
    `the baseline engine is not in this build: ${err instanceof Error ? err.message : String(err)}`,
);

describe("baseline ports over @hangar/behavioral", { skip: available ?? false }, () => {
  it("a merged delta shows in /v1/providers' view and feeds tighten_egress", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hangar-baseline-port-"));
    try {
      const db = join(dir, "controller.duckdb");
      const merge = await behavioralBaselineMerge(db);
      const now = timestampFromDate(new Date());
      await merge.merge(
        create(hangar.BaselineDeltaSchema, {
          provider: "weather",
          node: "node-a",
          version: 1n,
          time: now,
          items: [
            {
              facet: hangar.BaselineFacet.EGRESS,
              value: "203.0.113.10:443/tcp",
              count: 3n,
              firstSeen: now,
              lastSeen: now,
            },
            {
              facet: hangar.BaselineFacet.DNS,
              value: "api.weather.gov",
              count: 3n,
              firstSeen: now,
              lastSeen: now,
            },
          ],
        }),
      );
      const view = await behavioralBaselineView(db);
      const providers = await view.providers();
      assert.deepEqual(
        providers.map((p) => p.provider),
        ["weather"],
      );
      const b = await view.baseline("weather");
      assert.ok(b);
      assert.deepEqual(await baselineEgress(view, "weather"), {
        egress: ["203.0.113.10:443/tcp"],
        dns: ["api.weather.gov"],
      });
      assert.equal(await view.baseline("nobody"), undefined);
      // Before any agent has sent a delta there is no file: no providers, not an error.
      const empty = await behavioralBaselineView(join(dir, "not-yet.duckdb"));
      assert.deepEqual(await empty.providers(), []);
      assert.equal(await empty.baseline("weather"), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
