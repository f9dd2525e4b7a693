#!/usr/bin/env node
/**
 * `npm run bench [-- options]`: runs the benchmark cases and prints one JSON
 * line per case on stdout (or a table with --pretty); progress goes to stderr.
 */
import { cpus } from "node:os";
import { setTimeout } from "node:timers/promises";
import { parseArgs } from "node:util";
import { CASES } from "./cases/index.js";
import { table, type BenchResult } from "./harness.js";
import { runCases, runHere, selectCases, type RunOptions } from "./runner.js";

const HELP = `Usage: npm run bench -- [CASE-REGEX ...] [options]
       node bench/dist/src/main.js [CASE-REGEX ...] [options]

Runs the benchmark cases matching any CASE-REGEX (all when none), each in a
fresh Node process, ceilings first. Prints one JSON line per case on stdout:
  {"case","events","eventsPerSec","p50Us","p99Us","rssMiB","heapMiB",
   "ratioToCeiling","ceiling","node","cpu","detail"}
Progress goes to stderr.

Options:
  --filter REGEX   pick cases (repeatable; same as a positional CASE-REGEX)
  --events N       events per case in the measured window (default: per case)
  --warmup N       events before measuring (default: events/10, 20 000..200 000)
  --repeat K       run each case K times (fresh processes) and report the median
                   run by events/s, with every run's events/s in detail.runs
  --duration SEC   steady-state cases (agent/steady, hub/agents): seconds to run
                   (default per case, about a minute; 600 for the 10-minute figures)
  --pretty         print a table instead of JSON lines
  --sim MODE       pipeline/intake simulator: child (default, own process) | inline
  --in-process     run all cases in this process (for debugging)
  --list           list the cases and exit
  -h, --help       this help

Cases:
${CASES.map((c) => `  ${c.name.padEnd(26)}${c.ceiling === undefined ? "(ceiling)" : `vs ${c.ceiling}`}, default ${c.defaultEvents.toLocaleString("en-US")} events`).join("\n")}

Profile a case: node --cpu-prof --cpu-prof-dir=/tmp/prof bench/dist/src/main.js pipeline/intake
`;

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Share of all CPUs busy over `ms`, before any case starts: the load of other processes. */
async function busyShare(ms: number): Promise<number> {
  const total = (): { busy: number; all: number } => {
    let busy = 0;
    let all = 0;
    for (const c of cpus()) {
      const t = c.times;
      const sum = t.user + t.nice + t.sys + t.idle + t.irq;
      all += sum;
      busy += sum - t.idle;
    }
    return { busy, all };
  };
  const a = total();
  await setTimeout(ms);
  const b = total();
  return b.all > a.all ? (b.busy - a.busy) / (b.all - a.all) : 0;
}

const log = (message: string): void => {
  process.stderr.write(`${message}\n`);
};

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        filter: { type: "string", multiple: true },
        events: { type: "string" },
        warmup: { type: "string" },
        repeat: { type: "string" },
        duration: { type: "string" },
        pretty: { type: "boolean" },
        sim: { type: "string", default: "child" },
        "in-process": { type: "boolean" },
        list: { type: "boolean" },
        worker: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.list === true) {
    for (const c of CASES) process.stdout.write(`${c.name}\t${c.description}\n`);
    return 0;
  }
  let opts: RunOptions;
  try {
    if (values.sim !== "child" && values.sim !== "inline") {
      throw new Error(`--sim must be child or inline, got ${JSON.stringify(values.sim)}`);
    }
    const events = positiveInt("events", values.events);
    const warmup = positiveInt("warmup", values.warmup);
    const repeat = positiveInt("repeat", values.repeat);
    const durationSec = positiveInt("duration", values.duration);
    opts = {
      simulator: values.sim,
      inProcess: values["in-process"] === true,
      log,
      ...(events === undefined ? {} : { events }),
      ...(warmup === undefined ? {} : { warmup }),
      ...(repeat === undefined ? {} : { repeat }),
      ...(durationSec === undefined ? {} : { durationSec }),
    };
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }

  if (values.worker !== undefined) {
    // Internal: run one case in this (fresh) process and print its result line.
    const c = CASES.find((x) => x.name === values.worker);
    if (c === undefined) {
      process.stderr.write(`unknown case ${values.worker}\n`);
      return 2;
    }
    const r = await runHere(c, opts);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }

  let cases;
  try {
    cases = selectCases([...positionals, ...(values.filter ?? [])]);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  if (cases.length === 0) {
    process.stderr.write(`no case matches; cases: ${CASES.map((c) => c.name).join(", ")}\n`);
    return 2;
  }
  const busy = await busyShare(500);
  if (busy > 0.2) {
    log(
      `WARNING: other processes keep ${Math.round(busy * 100)} % of the CPUs busy: figures will be low and noisy`,
    );
  }
  const pretty = values.pretty === true;
  const { results, failed } = await runCases(cases, opts, (r: BenchResult) => {
    if (!pretty) process.stdout.write(`${JSON.stringify(r)}\n`);
  });
  if (pretty) process.stdout.write(`${table(results)}\n`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
