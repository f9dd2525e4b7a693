/**
 * CPU and memory of another process over time, from /proc (Linux): the steady-state cases
 * (`agent/steady`, `hub/agents`) watch a real agent or controller process from outside, as
 * `top` would, so that nothing in the measured process changes for the measurement.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ). */
function clockTicks(): number {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

const HZ = clockTicks();

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(rest[11]) + Number(rest[12])) / HZ;
}

/** Resident set size in MiB (VmRSS). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? 0 : Number(m[1]) / 1024;
}

/** The 1-minute load average, as /proc/loadavg says. */
export function loadAverage1m(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}

export interface ProcSample {
  /** Seconds since the sampler started. */
  t: number;
  cpu: number;
  rss: number;
  load: number;
}

/** Samples a process every `intervalMs` until stopped. */
export class ProcSampler {
  readonly samples: ProcSample[] = [];
  readonly #pid: number;
  readonly #t0 = performance.now();
  readonly #timer: NodeJS.Timeout;

  constructor(pid: number, intervalMs = 1000) {
    this.#pid = pid;
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): ProcSample | undefined {
    try {
      const s = {
        t: (performance.now() - this.#t0) / 1000,
        cpu: cpuSeconds(this.#pid),
        rss: rssMiB(this.#pid),
        load: loadAverage1m(),
      };
      this.samples.push(s);
      return s;
    } catch {
      return undefined; // the process is gone
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The samples from `fromSec` on. */
  window(fromSec: number): ProcSample[] {
    return this.samples.filter((s) => s.t >= fromSec);
  }
}

/** What a window of samples says: cores used, RSS at its start and end, peak, the trend. */
export interface WindowSummary {
  seconds: number;
  cores: number;
  rssStartMiB: number;
  rssEndMiB: number;
  rssPeakMiB: number;
  /** Least-squares slope of RSS over the window, MiB per minute. */
  rssSlopeMiBPerMin: number;
  loadAvgStart: number;
  loadAvgEnd: number;
}

export function summarize(samples: readonly ProcSample[]): WindowSummary {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first === undefined || last === undefined || last.t <= first.t)
    throw new Error("the window has fewer than two samples");
  const n = samples.length;
  let st = 0;
  let sr = 0;
  for (const s of samples) {
    st += s.t;
    sr += s.rss;
  }
  const mt = st / n;
  const mr = sr / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mt) * (s.rss - mr);
    den += (s.t - mt) ** 2;
  }
  return {
    seconds: last.t - first.t,
    cores: (last.cpu - first.cpu) / (last.t - first.t),
    rssStartMiB: first.rss,
    rssEndMiB: last.rss,
    rssPeakMiB: Math.max(...samples.map((s) => s.rss)),
    rssSlopeMiBPerMin: den === 0 ? 0 : (num / den) * 60,
    loadAvgStart: first.load,
    loadAvgEnd: last.load,
  };
}

/** The sample nearest to `sec` seconds. */
export function at(samples: readonly ProcSample[], sec: number): ProcSample | undefined {
  let best: ProcSample | undefined;
  for (const s of samples) if (best === undefined || Math.abs(s.t - sec) < Math.abs(best.t - sec)) best = s;
  return best;
}

/** SIGTERM, then SIGKILL after 10 s; resolves when the process has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** `v` rounded to `digits` decimal places. */
export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
