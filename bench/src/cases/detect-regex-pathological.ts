/**
 * detect/regex-pathological — rule regexes on inputs that make a backtracking engine blow up,
 * at 4 KB, 64 KB and 1 MB, through `Detector.process` (one rule per pattern): the time per
 * input character must stay flat as the input grows (RE2JS is linear-time). V8's RegExp took
 * 34 s on 4 KB for `a*a*a*b`; for contrast the case also times V8 on 32–128 characters.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { RuntimeEvent } from "@hangar/core";
import { LatencyRecorder, MemoryPeak, collectGarbage, now, type Measurement } from "../harness.js";
import type { BenchCase } from "./case.js";
import { compiled, loadSemantic, semanticUnavailable, type BenchDetector } from "./detect-events.js";

const META = `description "bench" severity low mitre T1059 maturity sandbox`;
const SIZES = [4096, 65_536, 1_048_576] as const;

interface Input {
  /** Short label for detail keys. */
  key: string;
  pattern: string;
  /** What makes it pathological for a backtracking engine. */
  make: (size: number) => string;
}

/** Each input is built to the exact size; none matches, so every engine must read all of it. */
export const INPUTS: readonly Input[] = [
  // Three stacked stars over a run of a's with no b: O(n³) for a backtracking engine.
  { key: "aStarB", pattern: "a*a*a*b", make: (n) => "a".repeat(n) },
  // `curl` then whitespace with no pipe: each `.*` retries every split, O(n²) or worse.
  { key: "curlSpaces", pattern: "curl.*\\s+.*\\|\\s*sh", make: (n) => `curl${" ".repeat(n - 4)}` },
  // Pipes and s's but never `| sh`: defeats a literal prefilter, so the automaton runs on every byte.
  {
    key: "curlPipes",
    pattern: "curl.*\\s+.*\\|\\s*sh",
    make: (n) => `curl${" | s".repeat(Math.ceil((n - 4) / 4))}`.slice(0, n),
  },
];

function detectorFor(mod: Awaited<ReturnType<typeof loadSemantic>>, pattern: string): BenchDetector {
  const src = `rule bench.re { ${META} event exec where process.arguments regex '${pattern}' }`;
  const rules = compiled(mod, mod.compileSources(new Map([["bench.rules", src]])));
  return new mod.HangarDetector({ rules, latenessMs: 0 });
}

/** V8's backtracking RegExp on small inputs, ns per character (to show the growth RE2JS avoids). */
function backtrackingNsPerChar(pattern: string, size: number): number {
  const re = new RegExp(pattern);
  const text = "a".repeat(size);
  const t = now();
  re.test(text);
  return Number(now() - t) / size;
}

export const detectRegexPathological: BenchCase = {
  name: "detect/regex-pathological",
  description: `rule regexes (RE2JS) on backtracking-pathological exec arguments of ${SIZES.map((s) => `${s / 1024} KB`).join(", ")}: a*a*a*b over a's, curl.*\\s+.*\\|\\s*sh over spaces and over " | s"; detail.<input><size>NsPerChar must be ~flat`,
  latency: "every event (one input through Detector.process) timed alone with process.hrtime.bigint",
  defaultEvents: 180,
  unavailable: semanticUnavailable,
  async run(ctx) {
    const mod = await loadSemantic();
    const configs = INPUTS.flatMap((input) => SIZES.map((size) => ({ input, size })));
    const per = Math.max(1, Math.floor(ctx.events / configs.length));
    const latency = new LatencyRecorder(ctx.events);
    const memory = new MemoryPeak();
    const detail: Record<string, number> = {};
    let elapsedNs = 0;
    let done = 0;
    let seq = 0;
    for (const [ci, { input, size }] of configs.entries()) {
      const det = detectorFor(mod, input.pattern);
      const text = input.make(size);
      if (text.length !== size) throw new Error(`${input.key}: built ${text.length} characters, not ${size}`);
      const ev: RuntimeEvent = mod.testEvent("exec", 0, 0, new Map([["process.arguments", text]]));
      const step = (): number => {
        ev.time = timestampFromMs(Date.parse("2026-03-02T09:00:00Z") + seq);
        seq++;
        const t = now();
        const d = det.process(ev);
        const ns = Number(now() - t);
        if (d !== undefined && d.alerts.length > 0) throw new Error(`${input.key}: the input matched`);
        return ns;
      };
      for (let w = 0; w < Math.min(5, ctx.warmup); w++) step();
      collectGarbage();
      // The last configuration takes what is left, so the window has exactly ctx.events events.
      const count = ci === configs.length - 1 ? ctx.events - done : per;
      const times: number[] = [];
      for (let k = 0; k < count; k++) {
        const ns = step();
        times.push(ns);
        latency.record(ns);
        elapsedNs += ns;
      }
      done += count;
      memory.sample();
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)] ?? 0;
      detail[`${input.key}${size / 1024}KNsPerChar`] = Math.round((median / size) * 1000) / 1000;
    }
    for (const input of INPUTS) {
      const small = detail[`${input.key}4KNsPerChar`] ?? 0;
      const large = detail[`${input.key}1024KNsPerChar`] ?? 0;
      detail[`${input.key}Ratio1MTo4K`] = small > 0 ? Math.round((large / small) * 100) / 100 : 0;
    }
    for (const size of [32, 64, 128])
      detail[`v8Backtracking_aStarB${size}NsPerChar`] = Math.round(backtrackingNsPerChar("a*a*a*b", size));
    ctx.log(
      INPUTS.map(
        (i) =>
          `${i.key}: ${SIZES.map((s) => `${s / 1024}K ${detail[`${i.key}${s / 1024}KNsPerChar`]}`).join(", ")} ns/char`,
      ).join("; "),
    );
    const m: Measurement = { events: ctx.events, elapsedNs, latency, memory };
    m.detail = detail;
    return m;
  },
};
