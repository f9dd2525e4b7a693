/**
 * baseline/memory-1000-providers — heap held per provider: 1 000 providers
 * learn a realistic mix (tool calls, a database, an API pool, DNS, note files,
 * a helper binary, with per-tool items), then learning ends (collapse, published
 * views). Reports heap growth per provider after a full GC; events/s is
 * observe() while 1 000 baselines learn.
 */
import { LatencyRecorder, MemoryPeak, collectGarbage, now, type Measurement } from "../harness.js";
import type { BenchCase } from "./case.js";
import { behavioralUnavailable, loadBehavioral, providerEvent, tempDb } from "./baseline-events.js";

const PROVIDERS = 1000;
const STRIDE = 97;

export const baselineMemory: BenchCase = {
  name: "baseline/memory-1000-providers",
  description: `${PROVIDERS} providers learning a realistic mix; heap per provider after learning ends (detail.heapKiBPerProvider)`,
  latency: `every ${STRIDE}th observe() timed alone; nearest-rank percentiles`,
  defaultEvents: 400_000,
  unavailable: behavioralUnavailable,
  async run(ctx): Promise<Measurement> {
    const mod = await loadBehavioral();
    const { db, cleanup } = tempDb();
    try {
      const store = await mod.createBaselineStore({ db, learn: true, syncIntervalMs: 0 });
      collectGarbage();
      const before = process.memoryUsage().heapUsed;
      const latency = new LatencyRecorder(Math.ceil(ctx.events / STRIDE) + 1);
      const memory = new MemoryPeak();
      const start = now();
      for (let i = 0; i < ctx.events; i++) {
        const ev = providerEvent(`provider-${i % PROVIDERS}`, Math.floor(i / PROVIDERS));
        if (i % STRIDE === 0) {
          const t = now();
          store.observe(ev);
          latency.record(Number(now() - t));
        } else store.observe(ev);
        if ((i & 16_383) === 0) memory.sample();
      }
      const elapsedNs = Number(now() - start);
      store.finishLearning();
      collectGarbage();
      const after = process.memoryUsage().heapUsed;
      memory.sample();
      const gc = (globalThis as { gc?: unknown }).gc !== undefined;
      const detail = {
        providers: PROVIDERS,
        eventsPerProvider: Math.round(ctx.events / PROVIDERS),
        heapKiBPerProvider: Math.round((after - before) / PROVIDERS / 102.4) / 10,
        exactGc: gc,
      };
      await store.close();
      return { events: ctx.events, elapsedNs, latency, memory, detail };
    } finally {
      cleanup();
    }
  },
};
