/**
 * Measurement primitives shared by the cases: a latency recorder (nanoseconds,
 * percentiles by sorting), a peak-memory sampler, a synchronous runner with a
 * warm-up and strided latency sampling, and the result line every case prints.
 */
import { cpus } from "node:os";

/** What a case measured, before the ratio to its ceiling is known. */
export interface Measurement {
  /** Events in the measured window (warm-up excluded). */
  events: number;
  /** Wall time of the measured window. */
  elapsedNs: number;
  /** Latency samples, ns. */
  latency: LatencyRecorder;
  memory: MemoryPeak;
  /** Case-specific diagnostics, printed as `detail`. */
  detail?: Record<string, string | number | boolean>;
}

/** One JSON line per case. */
export interface BenchResult {
  case: string;
  events: number;
  eventsPerSec: number;
  p50Us: number;
  p99Us: number;
  rssMiB: number;
  heapMiB: number;
  ratioToCeiling: number | null;
  ceiling: string | null;
  node: string;
  cpu: string;
  detail?: Record<string, string | number | boolean>;
}

/** Fixed-capacity store of latency samples in nanoseconds. */
export class LatencyRecorder {
  #samples: Float64Array;
  #n = 0;

  constructor(capacity: number) {
    this.#samples = new Float64Array(Math.max(1, capacity));
  }

  get count(): number {
    return this.#n;
  }

  record(ns: number): void {
    if (this.#n === this.#samples.length) {
      const grown = new Float64Array(this.#samples.length * 2);
      grown.set(this.#samples);
      this.#samples = grown;
    }
    this.#samples[this.#n++] = ns;
  }

  /** Nearest-rank percentile (0 < p ≤ 100) in ns; 0 when empty. */
  percentile(p: number): number {
    return percentile(this.#samples.subarray(0, this.#n), p);
  }
}

/** Nearest-rank percentile of `values` (sorts a copy). */
export function percentile(values: Float64Array | readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0;
}

/** Peak RSS and heap seen by `sample()`. */
export class MemoryPeak {
  rss = 0;
  heapUsed = 0;

  sample(): void {
    const m = process.memoryUsage();
    if (m.rss > this.rss) this.rss = m.rss;
    if (m.heapUsed > this.heapUsed) this.heapUsed = m.heapUsed;
  }
}

export function now(): bigint {
  return process.hrtime.bigint();
}

/** Collects garbage when the process runs with --expose-gc (workers do), so each window starts clean. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
}

export interface SyncRunOptions {
  events: number;
  warmup: number;
  /** Time every `stride`-th event (odd, so that it cycles through a power-of-two pool). */
  stride: number;
  /** Events between memory samples. */
  batch?: number;
  /** Processes event number `i` (any non-negative integer; the case maps it onto its pool). */
  step: (i: number) => void;
}

/**
 * Runs `step` for the warm-up, then for `events` events in timed batches. Wall
 * time covers the whole measured window (sampling included); every
 * `stride`-th event is also timed alone with hrtime for the percentiles.
 */
export function runSync(opts: SyncRunOptions): Measurement {
  const { events, warmup, stride, step } = opts;
  const batch = opts.batch ?? 4096;
  for (let i = 0; i < warmup; i++) step(i);
  collectGarbage();
  const latency = new LatencyRecorder(Math.ceil(events / stride) + 1);
  const memory = new MemoryPeak();
  memory.sample();
  const start = now();
  let i = 0;
  let next = 0;
  while (i < events) {
    const end = Math.min(events, i + batch);
    for (; i < end; i++) {
      if (i === next) {
        next += stride;
        const t = now();
        step(warmup + i);
        latency.record(Number(now() - t));
      } else {
        step(warmup + i);
      }
    }
    memory.sample();
  }
  const elapsedNs = Number(now() - start);
  return { events, elapsedNs, latency, memory };
}

export function cpuModel(): string {
  const list = cpus();
  const model = (list[0]?.model ?? "unknown").trim().replace(/\s+/g, " ");
  return `${model} ×${list.length}`;
}

const round = (v: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

const MiB = 1024 * 1024;

/** The result line of a measurement; `ceilingEventsPerSec` when the case has a ceiling. */
export function toResult(
  name: string,
  m: Measurement,
  ceiling: { name: string; eventsPerSec: number } | undefined,
): BenchResult {
  const eventsPerSec = m.elapsedNs > 0 ? (m.events * 1e9) / m.elapsedNs : 0;
  const result: BenchResult = {
    case: name,
    events: m.events,
    eventsPerSec: Math.round(eventsPerSec),
    p50Us: round(m.latency.percentile(50) / 1000, 2),
    p99Us: round(m.latency.percentile(99) / 1000, 2),
    rssMiB: round(m.memory.rss / MiB, 1),
    heapMiB: round(m.memory.heapUsed / MiB, 1),
    ratioToCeiling:
      ceiling === undefined || ceiling.eventsPerSec <= 0
        ? null
        : round(eventsPerSec / ceiling.eventsPerSec, 3),
    ceiling: ceiling?.name ?? null,
    node: process.version,
    cpu: cpuModel(),
  };
  if (m.detail !== undefined) result.detail = m.detail;
  return result;
}

/** Recomputes the ratio of a finished result against its ceiling's result (used across processes). */
export function withRatio(result: BenchResult, ceiling: BenchResult | undefined): BenchResult {
  if (ceiling === undefined || ceiling.eventsPerSec <= 0) return { ...result, ratioToCeiling: null };
  return {
    ...result,
    ceiling: ceiling.case,
    ratioToCeiling: round(result.eventsPerSec / ceiling.eventsPerSec, 3),
  };
}

/** A fixed-width table of results, for --pretty. */
export function table(results: readonly BenchResult[]): string {
  const header = ["case", "events", "events/s", "p50 µs", "p99 µs", "RSS MiB", "heap MiB", "× ceiling"];
  const rows = results.map((r) => [
    r.case,
    String(r.events),
    r.eventsPerSec.toLocaleString("en-US"),
    r.p50Us.toFixed(2),
    r.p99Us.toFixed(2),
    r.rssMiB.toFixed(1),
    r.heapMiB.toFixed(1),
    r.ratioToCeiling === null ? "—" : r.ratioToCeiling.toFixed(3),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
      .join("  ");
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
  const first = results[0];
  if (first !== undefined) out.push("", `node ${first.node} on ${first.cpu}`);
  for (const r of results) {
    if (r.detail !== undefined) out.push(`${r.case}: ${JSON.stringify(r.detail)}`);
  }
  return out.join("\n");
}

/** A whole number from the environment within [min, max], or the default; anything else is an error naming it. */
export function envInt(name: string, def: number, min: number, max: number, env = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new Error(`${name}=${raw}: a whole number from ${min} to ${max} was expected`);
  return v;
}
