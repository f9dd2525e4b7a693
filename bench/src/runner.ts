/**
 * Picks cases and runs them: each case in a fresh Node process of its own
 * (clean heap, JIT and RSS per case; flags such as --cpu-prof are passed on),
 * ceilings first so that every ratio is computed within the same run.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CASES, type BenchCase } from "./cases/index.js";
import { toResult, withRatio, type BenchResult } from "./harness.js";

export interface RunOptions {
  /** Overrides every case's default size. */
  events?: number;
  warmup?: number;
  simulator: "child" | "inline";
  /** Run cases in this process instead of one process per case. */
  inProcess: boolean;
  /** Runs per case (each in a fresh process); the run with the median events/s is reported. */
  repeat?: number;
  /** Steady-state cases: seconds to run (each case has its own default). */
  durationSec?: number;
  log: (message: string) => void;
}

/**
 * The cases whose name matches any of `patterns` (all when empty), plus the
 * ceilings they compare to, in registry order (ceilings come first there).
 */
export function selectCases(patterns: readonly string[], cases: readonly BenchCase[] = CASES): BenchCase[] {
  const regexes = patterns.map((p) => {
    try {
      return new RegExp(p);
    } catch (err) {
      throw new Error(
        `invalid filter ${JSON.stringify(p)}: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
        },
      );
    }
  });
  const picked = new Set(cases.filter((c) => regexes.length === 0 || regexes.some((r) => r.test(c.name))));
  for (const c of [...picked]) {
    if (c.ceiling === undefined) continue;
    const ceiling = cases.find((x) => x.name === c.ceiling);
    if (ceiling === undefined) throw new Error(`case ${c.name}: unknown ceiling ${c.ceiling}`);
    picked.add(ceiling);
  }
  return cases.filter((c) => picked.has(c));
}

export function defaultWarmup(events: number): number {
  return Math.min(200_000, Math.max(20_000, Math.round(events / 10)));
}

/** Runs one case in this process; the result has no ratio yet. */
export async function runHere(c: BenchCase, opts: RunOptions): Promise<BenchResult> {
  const events = opts.events ?? c.defaultEvents;
  const warmup = opts.warmup ?? defaultWarmup(events);
  const log = (message: string): void => opts.log(`[${c.name}] ${message}`);
  log(`warm-up ${warmup.toLocaleString("en-US")}, then ${events.toLocaleString("en-US")} events`);
  const m = await c.run({
    events,
    warmup,
    log,
    simulator: opts.simulator,
    ...(opts.durationSec === undefined ? {} : { durationSec: opts.durationSec }),
  });
  log(`done in ${(m.elapsedNs / 1e9).toFixed(2)} s`);
  return toResult(c.name, m, undefined);
}

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

/** Runs one case in a fresh Node process (`main.js --worker NAME`). */
export function runInWorker(c: BenchCase, opts: RunOptions): Promise<BenchResult> {
  const args = [...process.execArgv, "--expose-gc", MAIN, "--worker", c.name, "--sim", opts.simulator];
  if (opts.events !== undefined) args.push("--events", String(opts.events));
  if (opts.warmup !== undefined) args.push("--warmup", String(opts.warmup));
  if (opts.durationSec !== undefined) args.push("--duration", String(opts.durationSec));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code !== 0) {
        reject(new Error(`case ${c.name} failed (exit ${code ?? signal ?? "?"})`));
        return;
      }
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line) as BenchResult);
      } catch (err) {
        reject(new Error(`case ${c.name}: unreadable result ${JSON.stringify(line)}`, { cause: err }));
      }
    });
  });
}

/** The run with the median events/s; with several runs, `detail.runs` lists every run's events/s. */
export function median(runs: readonly BenchResult[]): BenchResult {
  const sorted = [...runs].sort((a, b) => a.eventsPerSec - b.eventsPerSec);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  if (mid === undefined) throw new Error("no runs");
  if (runs.length === 1) return mid;
  return { ...mid, detail: { ...mid.detail, runs: runs.map((x) => x.eventsPerSec).join(" ") } };
}

/**
 * Runs `cases` in order, calling `onResult` as each finishes. Returns the
 * results and whether any case failed (a failed ceiling leaves its dependents'
 * ratio null).
 */
export async function runCases(
  cases: readonly BenchCase[],
  opts: RunOptions,
  onResult: (r: BenchResult) => void,
): Promise<{ results: BenchResult[]; failed: number }> {
  const results: BenchResult[] = [];
  let failed = 0;
  for (const c of cases) {
    let r: BenchResult;
    const skip = await c.unavailable?.();
    if (skip !== undefined) {
      opts.log(`[${c.name}] skipped: ${skip}`);
      continue;
    }
    try {
      const runs: BenchResult[] = [];
      const repeat = opts.repeat ?? 1;
      for (let k = 0; k < repeat; k++) {
        if (repeat > 1) opts.log(`[${c.name}] run ${k + 1} of ${repeat}`);
        runs.push(opts.inProcess ? await runHere(c, opts) : await runInWorker(c, opts));
      }
      r = median(runs);
    } catch (err) {
      failed++;
      opts.log(`[${c.name}] FAILED: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    if (c.ceiling !== undefined) {
      const ceiling = results.find((x) => x.case === c.ceiling);
      r = withRatio(r, ceiling);
      if (ceiling === undefined) r.ceiling = c.ceiling;
    }
    results.push(r);
    onResult(r);
  }
  return { results, failed };
}
