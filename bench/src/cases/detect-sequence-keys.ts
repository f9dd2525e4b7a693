/**
 * detect/sequence-keys — memory per active partial match: a two-step sequence
 * keyed by exec id receives one first-step event per key for 100 000 distinct
 * keys (the second step never comes), then the heap is measured after a full
 * GC. Reports bytes of engine state per partial match (Map entry, key string,
 * partial record, evidence array, timer) and, apart, the bytes of the event each
 * partial keeps alive as evidence. Goal: ≤ 256 bytes per partial match.
 */
import { collectGarbage, runSync } from "../harness.js";
import type { BenchCase } from "./case.js";
import { compiled, loadSemantic, semanticUnavailable, stamps } from "./detect-events.js";

const STRIDE = 7;
/** Keyed by the exec id alone (cluster-unique), and by pod and exec id (a composite key). */
const RULE = (
  by: string,
  step: string,
): string => `rule bench.seq { description "bench" severity low mitre T1059 maturity sandbox
  sequence ${by} maxspan 1h {
    spawn: exec where process.binary startswith "/usr/" ${step}
    gone: exit ${step}
  }
}`;

interface Figures {
  bytesPerPartial: number;
  partials: number;
}

export const detectSequenceKeys: BenchCase = {
  name: "detect/sequence-keys",
  description:
    "a keyed two-step sequence taking one new key per event (100 000 keys by default); reports heap bytes per active partial match",
  latency: `every ${STRIDE}th event timed alone with process.hrtime.bigint; nearest-rank percentiles`,
  defaultEvents: 100_000,
  unavailable: semanticUnavailable,
  async run(ctx) {
    const mod = await loadSemantic();
    const n = ctx.warmup + ctx.events;
    const ts = stamps(n);
    // Every event is its own object with its own key, made before measuring.
    collectGarbage();
    const h0 = process.memoryUsage().heapUsed;
    const events = Array.from({ length: n }, (_v, i) =>
      mod.testEvent(
        "exec",
        i,
        i,
        new Map<string, string | number>([
          ["process.exec_id", `k8s-node-1:${1_000_000_000 + i}:${4000 + i}`],
          ["process.binary", "/usr/bin/convert"],
          ["pod.name", "pod-1"],
        ]),
      ),
    );
    for (let i = 0; i < n; i++) (events[i] as (typeof events)[number]).time = ts[i];
    collectGarbage();
    const eventBytes = (process.memoryUsage().heapUsed - h0) / n;

    /** Feeds every event to a fresh detector; heap growth per partial match after a full GC. */
    const fill = (
      by: string,
      step: string,
      measure: boolean,
    ): { m: ReturnType<typeof runSync> | undefined } & Figures => {
      const rules = compiled(mod, mod.compileSources(new Map([["bench.rules", RULE(by, step)]])));
      const det = new mod.HangarDetector({ rules, latenessMs: 0, maxKeysPerRule: 10_000_000 });
      collectGarbage();
      const before = process.memoryUsage().heapUsed;
      let m: ReturnType<typeof runSync> | undefined;
      if (measure)
        m = runSync({
          events: ctx.events,
          warmup: ctx.warmup,
          stride: STRIDE,
          step: (i) => {
            det.process(events[i] as (typeof events)[number]);
          },
        });
      else for (const e of events) det.process(e);
      collectGarbage();
      const partials = det.stats().partials;
      if (partials !== n) throw new Error(`expected ${n} partial matches, got ${partials}`);
      const bytesPerPartial = Math.round((process.memoryUsage().heapUsed - before) / partials);
      // Keep the detector alive until measured.
      if (det.stats().partials !== partials) throw new Error("unreachable");
      return { m, bytesPerPartial, partials };
    };
    const single = fill("", "by process.exec_id", true);
    const composite = fill("by pod.name", "by process.exec_id", false);
    const m = single.m as NonNullable<typeof single.m>;
    const gcExposed = typeof (globalThis as { gc?: unknown }).gc === "function";
    m.detail = {
      keys: single.partials,
      bytesPerPartial: single.bytesPerPartial,
      bytesPerPartialCompositeKey: composite.bytesPerPartial,
      evidenceEventBytes: Math.round(eventBytes),
      gc: gcExposed,
    };
    ctx.log(
      `${single.partials} partial matches: ${single.bytesPerPartial} B each (key: exec id), ${composite.bytesPerPartial} B (key: pod + exec id); each keeps a ${Math.round(eventBytes)} B event as evidence`,
    );
    return m;
  },
};
