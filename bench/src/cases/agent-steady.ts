/**
 * agent/steady — what the agent costs a node in steady state: the real `hangar-agent run
 * --default-rules --db FILE` process (rules and baselines on), fed by `hangar-agent simulate
 * --rate N --loop` in another process over a 16,384-event mixed recording (the
 * `normalize/tetragon-mixed` mix, looped: times and exec ids repeat every ~15 s at 1,100 ev/s),
 * watched from outside through /proc: the cores it uses and its resident memory over time.
 *
 * Rate: HANGAR_BENCH_STEADY_RATE (default 1100 events/s). Duration: `--duration SEC` (600 for
 * the 10-minute figure); without it, `--events` at the rate (default 66,000: a minute,
 * after a warm-up of `--warmup` events, default 20,000). Node flags of the agent process:
 * HANGAR_BENCH_STEADY_NODE_FLAGS (default: the chart's `agent.nodeOptions`; "" for none).
 * The agent's stdout (its alert lines, and what `--trace-gc` prints) is discarded unless
 * HANGAR_BENCH_STEADY_AGENT_STDOUT names a file to append it to.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { toJsonString } from "@bufbuild/protobuf";
import { tetragon } from "@hangar/proto";
import { mixedMessages } from "../fixtures.js";
import { LatencyRecorder, MemoryPeak, type Measurement } from "../harness.js";
import { at, ProcSampler, round, stopChild as stop, summarize } from "../procstat.js";
import type { BenchCase, CaseContext } from "./case.js";

/** The agent CLI; HANGAR_BENCH_AGENT_MAIN measures another build (e.g. the one before a change). */
const AGENT_MAIN =
  process.env.HANGAR_BENCH_AGENT_MAIN ??
  fileURLToPath(new URL("../../../../agent/dist/src/cli/main.js", import.meta.url));
const RECORDING_EVENTS = 16_384;
/** The chart's NODE_OPTIONS for the agent (helm/hangar-agent values: agent.nodeOptions). */
export const AGENT_NODE_FLAGS = "--max-semi-space-size=4 --max-old-space-size=256";

function rate(): number {
  const v = Number(process.env.HANGAR_BENCH_STEADY_RATE ?? 1100);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(
      `HANGAR_BENCH_STEADY_RATE must be a positive integer, got ${process.env.HANGAR_BENCH_STEADY_RATE}`,
    );
  return v;
}

/** Resolves with the first line of `stream` that `test` accepts; rejects when the process exits first. */
function waitForLine(
  child: ChildProcess,
  stream: "stdout" | "stderr",
  test: (line: string) => boolean,
  what: string,
): Promise<string> {
  const input = child[stream];
  if (input === null) return Promise.reject(new Error(`${what}: no ${stream}`));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input });
    const seen: string[] = [];
    const onExit = (code: number | null): void => {
      lines.close();
      reject(
        new Error(
          `${what} exited (code ${code ?? "signal"}) before it was ready:\n${seen.slice(-10).join("\n")}`,
        ),
      );
    };
    child.once("exit", onExit);
    lines.on("line", (line) => {
      seen.push(line);
      if (!test(line)) return;
      child.off("exit", onExit);
      // Keep draining so the pipe never fills.
      lines.removeAllListeners("line");
      lines.on("line", () => undefined);
      resolve(line);
    });
  });
}

/** The rule engine's statistics as the agent's Prometheus endpoint shows them. */
async function detectorStats(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^hangar_detector_stats\{hangar_detector_stat="([^"]+)"[^}]*\} (\S+)$/gm))
    out[m[1] as string] = Number(m[2]);
  return out;
}

async function run(ctx: CaseContext): Promise<Measurement> {
  const perSec = rate();
  // --duration sets the window; otherwise the events asked for at the target rate.
  const duration = ctx.durationSec ?? Math.max(3, Math.round(ctx.events / perSec));
  const warmupSec =
    ctx.durationSec === undefined
      ? Math.max(3, Math.round(ctx.warmup / perSec))
      : Math.min(60, Math.max(10, Math.round(duration / 6)));
  const dir = mkdtempSync(join(tmpdir(), "hangar-bench-steady-"));
  const recording = join(dir, "mixed.jsonl");
  writeFileSync(
    recording,
    `${mixedMessages(RECORDING_EVENTS)
      .map((m) => toJsonString(tetragon.GetEventsResponseSchema, m))
      .join("\n")}\n`,
  );
  const socket = `unix://${join(dir, "tetragon.sock")}`;
  const flags = (process.env.HANGAR_BENCH_STEADY_NODE_FLAGS ?? AGENT_NODE_FLAGS)
    .split(" ")
    .filter((f) => f !== "");
  // Same extra flags as us (--cpu-prof profiles them too), minus the bench's own.
  const passOn = process.execArgv.filter((a) => a !== "--expose-gc");
  const sim = spawn(
    process.execPath,
    [
      ...passOn,
      AGENT_MAIN,
      "simulate",
      "--tetragon-address",
      socket,
      "--tetragon-recording",
      recording,
      "--rate",
      String(perSec),
      "--loop",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let agent: ChildProcess | undefined;
  const stdoutFile = process.env.HANGAR_BENCH_STEADY_AGENT_STDOUT;
  const stdoutFd = stdoutFile === undefined || stdoutFile === "" ? undefined : openSync(stdoutFile, "a");
  try {
    await waitForLine(sim, "stderr", (l) => l.startsWith("serving Tetragon"), "the simulator");
    agent = spawn(
      process.execPath,
      [
        ...flags,
        ...passOn,
        AGENT_MAIN,
        "run",
        "--tetragon",
        socket,
        "--hubble",
        "none",
        "--default-rules",
        "--db",
        join(dir, "baselines.db"),
        "--no-kube",
        "--health-port",
        "0",
        "--prometheus-port",
        "0",
        "--spool-dir",
        join(dir, "spool"),
      ],
      // Alerts go to stdout as JSON lines (a DaemonSet's log): written, then discarded here.
      { stdio: ["ignore", stdoutFd ?? "ignore", "pipe"] },
    );
    const pid = agent.pid;
    if (pid === undefined) throw new Error("the agent did not start");
    const running = await waitForLine(
      agent,
      "stderr",
      (l) => l.includes('"hangar-agent running"'),
      "the agent",
    );
    const promPort = (JSON.parse(running) as { prometheusPort?: number }).prometheusPort;
    if (promPort === undefined) throw new Error("the agent did not say its Prometheus port");
    const agentSampler = new ProcSampler(pid);
    const simSampler = new ProcSampler(sim.pid as number);
    ctx.log(
      `agent pid ${pid} at ${perSec} ev/s: warm-up ${warmupSec} s, then ${duration} s (flags: ${flags.join(" ") || "none"})`,
    );
    await sleep(warmupSec * 1000);
    const before = await detectorStats(promPort);
    const t0 = process.hrtime.bigint();
    const windowFrom = agentSampler.samples.at(-1)?.t ?? warmupSec;
    const progress = setInterval(() => {
      const s = agentSampler.samples.at(-1);
      if (s !== undefined)
        ctx.log(`${Math.round(s.t - windowFrom)} s: RSS ${s.rss.toFixed(0)} MiB, load ${s.load}`);
    }, 30_000);
    await sleep(duration * 1000);
    clearInterval(progress);
    agentSampler.sample();
    simSampler.sample();
    const elapsedNs = Number(process.hrtime.bigint() - t0);
    const after = await detectorStats(promPort);
    agentSampler.stop();
    simSampler.stop();
    if (agent.exitCode !== null) throw new Error(`the agent exited (code ${agent.exitCode}) during the run`);
    const w = agentSampler.window(windowFrom);
    const s = summarize(w);
    const simS = summarize(simSampler.window(windowFrom));
    const events = (after.events ?? 0) - (before.events ?? 0);
    // Per-second CPU per event over the window: the case's "latency" distribution.
    const latency = new LatencyRecorder(w.length);
    const cpuPerEvent = events > 0 ? (s.cores * s.seconds) / events : 0;
    for (let i = 1; i < w.length; i++) {
      const a = w[i - 1];
      const b = w[i];
      if (a === undefined || b === undefined || b.t <= a.t) continue;
      latency.record((((b.cpu - a.cpu) / (b.t - a.t)) * 1e9) / perSec);
    }
    const memory = new MemoryPeak();
    memory.rss = s.rssPeakMiB * 1024 * 1024;
    const tenMin = at(w, windowFrom + 600);
    return {
      events,
      elapsedNs,
      latency,
      memory,
      detail: {
        rateTarget: perSec,
        agentCores: round(s.cores, 3),
        cpuUsPerEvent: round(cpuPerEvent * 1e6, 1),
        rssStartMiB: round(s.rssStartMiB, 1),
        rssEndMiB: round(s.rssEndMiB, 1),
        ...(tenMin !== undefined && s.seconds >= 590 ? { rssAt10MinMiB: round(tenMin.rss, 1) } : {}),
        rssPeakMiB: round(s.rssPeakMiB, 1),
        rssSlopeMiBPerMin: round(s.rssSlopeMiBPerMin, 2),
        simulatorCores: round(simS.cores, 3),
        loadAvgStart: s.loadAvgStart,
        loadAvgEnd: s.loadAvgEnd,
        warmupSec,
        nodeFlags: flags.join(" "),
        alerts: (after.alerts ?? 0) - (before.alerts ?? 0),
        enginePartials: after.partials ?? 0,
        engineTimers: after.timers ?? 0,
        engineBuffered: after.buffered ?? 0,
        engineClockResets: after.clockResets ?? 0,
        late: (after.late ?? 0) - (before.late ?? 0),
      },
    };
  } finally {
    if (agent !== undefined) await stop(agent);
    await stop(sim);
    if (stdoutFd !== undefined) closeSync(stdoutFd);
    rmSync(dir, { recursive: true, force: true });
  }
}

export const agentSteady: BenchCase = {
  name: "agent/steady",
  description:
    "the real `hangar-agent run --default-rules --db` process fed by `simulate --rate N --loop` (mixed recording) in another process: cores and RSS over time, from /proc",
  latency:
    "none per event: p50/p99 are the agent's CPU per event (ns of CPU per second ÷ target rate) over one-second samples",
  defaultEvents: 66_000,
  timeBased: true,
  unavailable() {
    return Promise.resolve(process.platform === "linux" ? undefined : "reads /proc (Linux only)");
  },
  run,
};
