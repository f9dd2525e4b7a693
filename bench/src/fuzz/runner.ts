/**
 * Runs one fuzz target for a number of inputs with fast-check: every input under a time
 * bound (slower = a hang), every exception a target throws = a crash. Reports counts, the
 * slowest input and the first failure (shrunk, with the seed and path to replay it).
 */
import fc from "fast-check";
import type { FuzzTarget } from "./targets.js";

export interface FuzzOptions {
  runs: number;
  /** An input that takes longer than this (ms) is a hang. */
  timeBoundMs: number;
  seed?: number;
  /** Called every `every` inputs with the count so far (a watchdog's heartbeat). */
  progress?: (inputs: number) => void;
}

export interface FuzzReport {
  target: string;
  inputs: number;
  seconds: number;
  inputsPerSec: number;
  crashes: number;
  hangs: number;
  slowestMs: number;
  seed: number;
  /** The first failure, shrunk: what happened and how to replay it. */
  failure?: string;
}

/** A hang: one input ran longer than the bound. */
export class FuzzHang extends Error {
  override readonly name = "FuzzHang";
}

export function runTarget(target: FuzzTarget<never>, opts: FuzzOptions): FuzzReport {
  const seed = opts.seed ?? Date.now() ^ (Math.random() * 0x7fffffff);
  let inputs = 0;
  let slowest = 0;
  const prop = fc.property(target.arbitrary, (input) => {
    const t = performance.now();
    (target.run as (x: unknown) => void)(input);
    const ms = performance.now() - t;
    if (ms > slowest) slowest = ms;
    inputs++;
    if (opts.progress !== undefined && (inputs & 1023) === 0) opts.progress(inputs);
    if (ms > opts.timeBoundMs)
      throw new FuzzHang(`one input took ${ms.toFixed(0)} ms (bound ${opts.timeBoundMs} ms)`);
  });
  const t0 = performance.now();
  const details = fc.check(prop, { numRuns: opts.runs, seed, endOnFailure: false, maxSkipsPerRun: 0 });
  const seconds = (performance.now() - t0) / 1000;
  const report: FuzzReport = {
    target: target.name,
    inputs: details.numRuns,
    seconds: Math.round(seconds * 10) / 10,
    inputsPerSec: Math.round(details.numRuns / Math.max(seconds, 1e-6)),
    crashes: 0,
    hangs: 0,
    slowestMs: Math.round(slowest * 10) / 10,
    seed,
  };
  if (details.failed) {
    const err = details.errorInstance;
    if (err instanceof FuzzHang) report.hangs = 1;
    else report.crashes = 1;
    let shown: string;
    try {
      shown = JSON.stringify(details.counterexample?.[0])?.slice(0, 2000) ?? "?";
    } catch {
      shown = fc.stringify(details.counterexample?.[0]).slice(0, 2000);
    }
    report.failure =
      `${err instanceof Error ? err.message : String(err)}\n` +
      `input: ${shown}\n` +
      `replay: npm run fuzz -- --target ${target.name} --seed ${seed} --path ${details.counterexamplePath ?? ""}`;
  }
  return report;
}
