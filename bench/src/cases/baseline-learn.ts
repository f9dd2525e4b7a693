/**
 * baseline/learn — events/s into a baseline that is learning and writing to
 * DuckDB: `observe()` over a realistic mix for 64 providers (tool calls, a
 * database, an API pool of 40 addresses, DNS, 500 note files, a helper binary;
 * about 40 000 distinct items in all), with the periodic sync (every 250 ms:
 * appender → stage tables → one upsert per table) running between batches and
 * the final sync (checkpoint) inside the measured window.
 */
import { statSync } from "node:fs";
import { setImmediate } from "node:timers/promises";
import { LatencyRecorder, MemoryPeak, collectGarbage, now, type Measurement } from "../harness.js";
import type { BenchCase } from "./case.js";
import { behavioralUnavailable, loadBehavioral, providerEvent, tempDb } from "./baseline-events.js";

const PROVIDERS = 64;
const POOL = 1 << 16;
const STRIDE = 97;
const BATCH = 16_384;

export const baselineLearn: BenchCase = {
  name: "baseline/learn",
  description: `BaselineStore.observe while learning, ${PROVIDERS} providers, with periodic DuckDB syncs (250 ms) and the final sync in the window`,
  latency: `every ${STRIDE}th observe() timed alone; syncs run between batches of ${BATCH} and are not in the percentiles`,
  defaultEvents: 2_000_000,
  unavailable: behavioralUnavailable,
  async run(ctx): Promise<Measurement> {
    const mod = await loadBehavioral();
    const { db, cleanup } = tempDb();
    try {
      const pool = Array.from({ length: POOL }, (_, i) =>
        providerEvent(`provider-${i % PROVIDERS}`, Math.floor(i / PROVIDERS)),
      );
      const store = await mod.createBaselineStore({ db, learn: true, syncIntervalMs: 250 });
      for (let i = 0; i < ctx.warmup; i++) store.observe(pool[i & (POOL - 1)]!);
      collectGarbage();
      const latency = new LatencyRecorder(Math.ceil(ctx.events / STRIDE) + 1);
      const memory = new MemoryPeak();
      memory.sample();
      const start = now();
      let next = 0;
      for (let i = 0; i < ctx.events;) {
        const end = Math.min(ctx.events, i + BATCH);
        for (; i < end; i++) {
          const ev = pool[(ctx.warmup + i) & (POOL - 1)]!;
          if (i === next) {
            next += STRIDE;
            const t = now();
            store.observe(ev);
            latency.record(Number(now() - t));
          } else store.observe(ev);
        }
        memory.sample();
        await setImmediate(); // lets a due sync start; its DuckDB work overlaps the next batch
      }
      await store.close();
      const elapsedNs = Number(now() - start);
      memory.sample();
      return {
        events: ctx.events,
        elapsedNs,
        latency,
        memory,
        detail: {
          providers: PROVIDERS,
          syncs: store.syncs,
          dbMiB: Math.round((statSync(db).size / 2 ** 20) * 10) / 10,
        },
      };
    } finally {
      cleanup();
    }
  },
};
