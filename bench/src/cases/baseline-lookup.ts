/**
 * baseline/lookup-40k — `BaselineStore.lookup(provider, facet, value)` (what the
 * rule engine asks on the hot path) against a learned baseline with 40 000
 * items in each of egress, dns and file, none collapsed: 60 % of the checks
 * hit an item, 40 % miss (the miss walks the CIDR trie / suffix set / prefix
 * trie too). The value string is built per check, as it is per event.
 */
import { runSync } from "../harness.js";
import type { BenchCase } from "./case.js";
import { behavioralUnavailable, connect, dns, file, loadBehavioral, tempDb, T0 } from "./baseline-events.js";

const ITEMS = 40_000;
const STRIDE = 97;

const ip = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** Check `i`: which facet, and the value (built here, as it is per event). 60 % exist, 40 % do not. */
function query(i: number): { facet: 0 | 1 | 2; value: string } {
  const k = (i * 7919) % 100_000;
  const hit = k < 60_000;
  const n = hit ? k % ITEMS : ITEMS + k;
  switch (i % 3) {
    case 0:
      return { facet: 0, value: `${ip(n * 3 + (hit ? 1 : 2))}:443/tcp` };
    case 1:
      return { facet: 1, value: `svc-${n}.ns-${n % 97}.example.com` };
    default:
      return { facet: 2, value: `/srv/data/d${n % 211}/f${n}.json` };
  }
}

function itemValue(facet: 0 | 1 | 2, n: number): string {
  return facet === 0
    ? `${ip(n * 3 + 1)}:443/tcp`
    : facet === 1
      ? `svc-${n}.ns-${n % 97}.example.com`
      : `/srv/data/d${n % 211}/f${n}.json`;
}

/**
 * The ceiling: the same checks as plain `Set.has` on three sets of 40 000
 * strings. No engine can answer a membership question about a fresh string
 * faster than hashing it into a table of that size.
 */
export const baselineSet40k: BenchCase = {
  name: "baseline/set-40k",
  description:
    "ceiling for baseline/lookup-40k: Set.has on 3 × 40 000 strings, same checks and value strings",
  latency: `every ${STRIDE}th check timed alone with process.hrtime.bigint; nearest-rank percentiles`,
  defaultEvents: 3_000_000,
  run(ctx) {
    const sets = [new Set<string>(), new Set<string>(), new Set<string>()];
    for (let n = 0; n < ITEMS; n++) for (const f of [0, 1, 2] as const) sets[f]!.add(itemValue(f, n));
    let known = 0;
    const m = runSync({
      events: ctx.events,
      warmup: ctx.warmup,
      stride: STRIDE,
      step: (i) => {
        const q = query(i);
        if (sets[q.facet]!.has(q.value)) known++;
      },
    });
    m.detail = {
      itemsPerFacet: ITEMS,
      knownShare: Math.round((known / (ctx.events + ctx.warmup)) * 1000) / 1000,
    };
    return Promise.resolve(m);
  },
};

const FACET_NAMES = ["egress", "dns", "file"] as const;

export const baselineLookup40k: BenchCase = {
  name: "baseline/lookup-40k",
  description:
    "BaselineStore.lookup over egress, dns and file facets of 40 000 items each (60 % known, 40 % new), value string built per check",
  latency: `every ${STRIDE}th check timed alone with process.hrtime.bigint (includes ~40 ns of timer overhead); nearest-rank percentiles`,
  ceiling: "baseline/set-40k",
  defaultEvents: 3_000_000,
  unavailable: behavioralUnavailable,
  async run(ctx) {
    const mod = await loadBehavioral();
    const { db, cleanup } = tempDb();
    try {
      const store = await mod.createBaselineStore({
        db,
        learn: true,
        syncIntervalMs: 0,
        maxItemsPerFacet: 200_000,
        // No collapse: the point is a facet of 40 000 distinct items.
        thresholds: { egress: 1e9, dns: 1e9, file: 1e9 },
      });
      for (let n = 0; n < ITEMS; n++) {
        store.observe(connect("bench", T0 + n, ip(n * 3 + 1), 443));
        store.observe(dns("bench", T0 + n, itemValue(1, n)));
        store.observe(file("bench", T0 + n, itemValue(2, n)));
      }
      store.finishLearning();
      ctx.log(`learned 3 × ${ITEMS} items`);
      let known = 0;
      const m = runSync({
        events: ctx.events,
        warmup: ctx.warmup,
        stride: STRIDE,
        step: (i) => {
          const q = query(i);
          if (store.lookup("bench", FACET_NAMES[q.facet], q.value) === "known") known++;
        },
      });
      const total = ctx.events + ctx.warmup;
      m.detail = { itemsPerFacet: ITEMS, knownShare: Math.round((known / total) * 1000) / 1000 };
      await store.close();
      return m;
    } finally {
      cleanup();
    }
  },
};
