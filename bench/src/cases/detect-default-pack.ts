/**
 * detect/default-pack — every shipped rule pack (rules/*.rules: single-event,
 * sequence and threshold rules, baseline predicates against an enforcing
 * in-memory baseline) over a mix of ordinary MCP-server events. Goal: ≥ 250 000
 * events/s on one core, p99 < 50 µs per event.
 */
import { runSync } from "../harness.js";
import type { BenchCase } from "./case.js";
import {
  RULES_DIR,
  compiled,
  enforcingBaseline,
  eventPool,
  loadSemantic,
  semanticUnavailable,
  stamps,
} from "./detect-events.js";

const POOL = 4096;
const STRIDE = 7;

export const detectDefaultPack: BenchCase = {
  name: "detect/default-pack",
  description: `the rule engine with all packs in rules/ over ${POOL} distinct events (tool calls, dns, connect, file, exec, exit over 64 pods), one at a time through Detector.process`,
  latency: `every ${STRIDE}th event timed alone with process.hrtime.bigint; nearest-rank percentiles`,
  defaultEvents: 500_000,
  unavailable: semanticUnavailable,
  async run(ctx) {
    const mod = await loadSemantic();
    const rules = compiled(mod, mod.loadRules([RULES_DIR]));
    const det = new mod.HangarDetector({ rules, baseline: enforcingBaseline(), latenessMs: 2000 });
    const pool = eventPool(mod, POOL);
    const ts = stamps(ctx.warmup + ctx.events);
    const mask = POOL - 1;
    let alerts = 0;
    const m = runSync({
      events: ctx.events,
      warmup: ctx.warmup,
      stride: STRIDE,
      step: (i) => {
        const ev = pool[i & mask] as (typeof pool)[number];
        ev.time = ts[i];
        const d = det.process(ev);
        if (d !== undefined) alerts += d.alerts.length;
      },
    });
    const s = det.stats();
    m.detail = { rules: rules.length, alerts, matches: s.matches, partials: s.partials, late: s.late };
    ctx.log(`rules: ${rules.length}, alerts: ${alerts}, partial matches held: ${s.partials}`);
    return m;
  },
};
