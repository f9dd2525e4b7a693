#!/usr/bin/env node
/**
 * `npm run fuzz [-- options]`: runs the fuzz targets (bench/src/fuzz/targets.ts), one at a
 * time, each in a worker thread that a watchdog ends when it stops making progress (a hang a
 * time bound inside the worker cannot see: an input that never returns). Prints one JSON line
 * per target; exits 1 when any target crashed or hung.
 */
import { parseArgs } from "node:util";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import fc from "fast-check";
import { runTarget, type FuzzReport } from "./runner.js";
import { fuzzTargets } from "./targets.js";

const HELP = `Usage: npm run fuzz -- [options]

Runs every fuzz target (or those named with --target) for --runs inputs each, one target
at a time, each in a worker thread. Prints one JSON line per target:
  {"target","inputs","seconds","inputsPerSec","crashes","hangs","slowestMs","seed","failure"?}
and exits 1 if any target crashed or hung.

Options:
  --runs N           inputs per target (default 10000; HANGAR_FUZZ_RUNS)
  --target NAME      a target (repeatable); --list names them
  --seed N           fast-check seed (default: random, printed)
  --path P           replay one failure: the path printed with it (with --seed and --target)
  --time-bound MS    an input slower than this is a hang (default 2000)
  --stall MS         the watchdog ends a worker with no progress for this long (default 60000)
  --list             list the targets and exit
  -h, --help         this help
`;

interface Job {
  target: string;
  runs: number;
  seed: number | undefined;
  path: string | undefined;
  timeBoundMs: number;
}

async function workerMain(job: Job, progress: Int32Array): Promise<void> {
  const target = (await fuzzTargets()).find((t) => t.name === job.target);
  if (target === undefined) throw new Error(`no target ${job.target}`);
  if (job.path !== undefined && job.seed !== undefined) {
    // Replay: the one input at the path, with the failure's message and stack.
    const prop = fc.property(target.arbitrary, (x) => (target.run as (i: unknown) => void)(x));
    const d = fc.check(prop, { seed: job.seed, path: job.path, numRuns: 1 });
    parentPort?.postMessage({
      replay: true,
      failed: d.failed,
      input: JSON.stringify(d.counterexample?.[0])?.slice(0, 4000),
      error:
        d.errorInstance instanceof Error
          ? (d.errorInstance.stack ?? d.errorInstance.message)
          : String(d.errorInstance),
    });
    return;
  }
  const report = runTarget(target, {
    runs: job.runs,
    timeBoundMs: job.timeBoundMs,
    ...(job.seed === undefined ? {} : { seed: job.seed }),
    progress: (n) => Atomics.store(progress, 0, n),
  });
  parentPort?.postMessage(report);
}

function runInWorker(job: Job, stallMs: number): Promise<FuzzReport | Record<string, unknown>> {
  const progress = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL(import.meta.url), { workerData: { job, progress } });
  return new Promise((resolve) => {
    let last = -1;
    let lastChange = Date.now();
    let result: FuzzReport | Record<string, unknown> | undefined;
    const started = Date.now();
    let lastReport = started;
    const timer = setInterval(() => {
      const n = Atomics.load(progress, 0);
      if (n !== last) {
        last = n;
        lastChange = Date.now();
        if (Date.now() - lastReport >= 60_000) {
          lastReport = Date.now();
          const secs = (Date.now() - started) / 1000;
          process.stderr.write(
            `[fuzz] ${job.target}: ${n} inputs in ${secs.toFixed(0)} s (${Math.round(n / secs)}/s)\n`,
          );
        }
      } else if (Date.now() - lastChange > stallMs) {
        clearInterval(timer);
        result = {
          target: job.target,
          inputs: n,
          seconds: Math.round((Date.now() - started) / 100) / 10,
          crashes: 0,
          hangs: 1,
          seed: job.seed,
          failure: `no progress for ${stallMs} ms after ${n} inputs: an input that never returns (rerun with this seed to find it)`,
        };
        void worker.terminate();
      }
    }, 1000);
    worker.on("message", (m: FuzzReport | Record<string, unknown>) => {
      result = m;
    });
    worker.on("error", (err: Error) => {
      result = {
        target: job.target,
        crashes: 1,
        hangs: 0,
        failure: `worker failed: ${err.stack ?? err.message}`,
      };
    });
    worker.on("exit", () => {
      clearInterval(timer);
      resolve(
        result ?? { target: job.target, crashes: 1, hangs: 0, failure: "the worker exited without a report" },
      );
    });
  });
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string" },
      target: { type: "string", multiple: true },
      seed: { type: "string" },
      path: { type: "string" },
      "time-bound": { type: "string" },
      stall: { type: "string" },
      list: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const targets = await fuzzTargets();
  if (values.list === true) {
    for (const t of targets) process.stdout.write(`${t.name.padEnd(18)}${t.description}\n`);
    return 0;
  }
  const num = (name: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v.replace(/_/g, ""));
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
    return n;
  };
  const runs = num("runs", values.runs ?? process.env["HANGAR_FUZZ_RUNS"], 10_000);
  const timeBoundMs = num("time-bound", values["time-bound"], 2000);
  const stallMs = num("stall", values.stall, 60_000);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  const names = values.target ?? targets.map((t) => t.name);
  for (const n of names)
    if (!targets.some((t) => t.name === n))
      throw new Error(
        `unknown target ${JSON.stringify(n)}; targets: ${targets.map((t) => t.name).join(", ")}`,
      );
  let failed = false;
  for (const target of names) {
    process.stderr.write(`[fuzz] ${target}: ${runs.toLocaleString("en-US")} inputs…\n`);
    const r = (await runInWorker({ target, runs, seed, path: values.path, timeBoundMs }, stallMs)) as Record<
      string,
      unknown
    >;
    process.stdout.write(`${JSON.stringify(r)}\n`);
    if (r["crashes"] !== 0 || r["hangs"] !== 0 || r["failed"] === true) failed = true;
  }
  return failed ? 1 : 0;
}

if (isMainThread) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`fuzz: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
} else {
  const { job, progress } = workerData as { job: Job; progress: Int32Array };
  void workerMain(job, progress);
}
