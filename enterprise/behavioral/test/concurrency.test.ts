/**
 * Readers in other processes while the agent writes: DuckDB lets one process
 * write or several read, so the agent holds the file only during a sync and
 * readers wait for it; nothing observed is lost when a sync has to be skipped.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { createBaselineStore, listProviders } from "../src/index.js";
import { T0, connectEv, tempDir } from "./events.js";

const CHILD = fileURLToPath(new URL("./reader-child.js", import.meta.url));

describe("concurrent readers", () => {
  it("two reader processes read consistent, growing snapshots while the agent learns and syncs", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, "b.duckdb");
      const store = await createBaselineStore({
        db,
        learn: false,
        syncIntervalMs: 20,
        learningWindowMs: 3_600_000,
      });
      store.observe(connectEv(T0, "10.0.0.1", 443));
      await store.persist();
      const readers = [0, 1].map(
        () =>
          new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
            const c = spawn(process.execPath, [CHILD, db, "12"], { stdio: ["ignore", "pipe", "pipe"] });
            let out = "";
            let err = "";
            c.stdout.on("data", (d: Buffer) => (out += d.toString()));
            c.stderr.on("data", (d: Buffer) => (err += d.toString()));
            c.on("close", (code) => resolve({ code, out, err }));
          }),
      );
      let observed = 1;
      let running = true;
      void Promise.all(readers).then(() => {
        running = false;
      });
      // The agent keeps observing (in small slices, as a pipeline does) while the readers read.
      while (running) {
        for (let i = 0; i < 100; i++) {
          store.observe(connectEv(T0 + observed, `10.0.${observed % 7}.${observed % 50}`, 443));
          observed++;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      const results = await Promise.all(readers);
      for (const r of results) {
        assert.equal(r.code, 0, r.err);
        const reads = r.out
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { events: number; egress: number });
        assert.equal(reads.length, 12);
        for (let i = 1; i < reads.length; i++)
          assert.ok(reads[i]!.events >= reads[i - 1]!.events, "each read sees a snapshot at least as new");
        assert.ok(reads[0]!.events >= 1);
      }
      assert.ok(store.syncs > 1, `the agent synced ${store.syncs} times between reads`);
      await store.close();
      const [p] = await listProviders(db);
      assert.equal(p?.events, observed, `skipped syncs (${store.skippedSyncs}) lose nothing`);
    } finally {
      cleanup();
    }
  });
});
