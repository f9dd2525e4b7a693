/**
 * Per-minute rates (tool calls, connects, execs) with robust statistics: the
 * median and the median absolute deviation (MAD) of the per-minute counts seen
 * while learning. A minute is unusual when its count exceeds
 * `median + max(k · 1.4826 · MAD, floor)`, with `floor = max(minExcess, median)`
 * so that a quiet provider (median 0, MAD 0) needs a real burst, not one call.
 * Minutes with no events count as 0.
 */
import { RATE_METRICS, type RateMetric } from "./facets.js";

export interface RateStats {
  median: number;
  mad: number;
  /** Minutes the statistics were computed from. */
  minutes: number;
}

export interface RateOptions {
  /** Multiplier of the scaled MAD (default 6). */
  k: number;
  /** Smallest excess over the median that counts (default 10 per minute). */
  minExcess: number;
  /** Fewest learned minutes before rate deviations are raised (default 10). */
  minMinutes: number;
}

export const DEFAULT_RATE_OPTIONS: RateOptions = { k: 6, minExcess: 10, minMinutes: 10 };

/** Minutes of history kept while learning (6 h). */
const HISTORY = 360;

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function robustStats(values: readonly number[]): RateStats {
  const m = median(values);
  return { median: m, mad: median(values.map((v) => Math.abs(v - m))), minutes: values.length };
}

/** The count above which a minute is unusual. */
export function rateThreshold(s: RateStats, o: RateOptions): number {
  return s.median + Math.max(o.k * 1.4826 * s.mad, o.minExcess, s.median);
}

export interface RateExcess {
  metric: RateMetric;
  count: number;
  threshold: number;
  stats: RateStats;
  /** Epoch ms of the minute's start. */
  minute: number;
}

export class RateTracker {
  #minute = -1;
  readonly #current = new Int32Array(RATE_METRICS.length);
  /** Ring of past minute counts per metric, while learning. */
  #history: Uint16Array | undefined;
  #filled = 0;
  #next = 0;
  /** Learned statistics (frozen at the end of learning); undefined while unknown. */
  learned: Partial<Record<RateMetric, RateStats>> = {};
  /** Per metric, the minute whose excess was already reported. */
  readonly #reported = new Float64Array(RATE_METRICS.length).fill(-1);

  /** Counts one event at `timeMs`. Returns an excess once per minute and metric, when enforcing stats exist. */
  count(metric: RateMetric, timeMs: number, learning: boolean, o: RateOptions): RateExcess | undefined {
    const minute = Math.floor(timeMs / 60_000);
    if (minute !== this.#minute) this.#roll(minute, learning);
    const i = RATE_METRICS.indexOf(metric);
    const n = ++this.#current[i]!;
    const stats = learning ? this.#runningStats(metric) : this.learned[metric];
    if (stats === undefined || stats.minutes < o.minMinutes) return undefined;
    if (this.#reported[i] === minute) return undefined;
    const threshold = rateThreshold(stats, o);
    if (n <= threshold) return undefined;
    this.#reported[i] = minute;
    return { metric, count: n, threshold, stats, minute: minute * 60_000 };
  }

  #roll(minute: number, learning: boolean): void {
    if (this.#minute >= 0 && learning && minute > this.#minute) {
      this.#history ??= new Uint16Array(HISTORY * RATE_METRICS.length);
      const gap = Math.min(minute - this.#minute, HISTORY);
      for (let g = 0; g < gap; g++) {
        for (let m = 0; m < RATE_METRICS.length; m++) {
          const v = g === 0 ? (this.#current[m] as number) : 0;
          this.#history[this.#next * RATE_METRICS.length + m] = Math.min(v, 65535);
        }
        this.#next = (this.#next + 1) % HISTORY;
        this.#filled = Math.min(this.#filled + 1, HISTORY);
      }
      this.#running = undefined;
    }
    this.#minute = minute;
    this.#current.fill(0);
  }

  #running: Partial<Record<RateMetric, RateStats>> | undefined;

  #runningStats(metric: RateMetric): RateStats | undefined {
    if (this.#filled === 0) return undefined;
    this.#running ??= this.computeStats();
    return this.#running[metric];
  }

  /** Statistics of the minutes seen so far (learning). */
  computeStats(): Partial<Record<RateMetric, RateStats>> {
    const out: Partial<Record<RateMetric, RateStats>> = {};
    if (this.#history === undefined || this.#filled === 0) return out;
    RATE_METRICS.forEach((metric, m) => {
      const values: number[] = [];
      for (let i = 0; i < this.#filled; i++)
        values.push(this.#history![i * RATE_METRICS.length + m] as number);
      out[metric] = robustStats(values);
    });
    return out;
  }

  /** Ends learning: the statistics so far become the reference. */
  freeze(): void {
    // The minute in progress counts too when it is the only one.
    if (this.#filled === 0 && this.#minute >= 0) this.#roll(this.#minute + 1, true);
    // Nothing counted this time (a provider absent from a replay --learn): keep what was learned before.
    const computed = this.computeStats();
    if (Object.keys(computed).length > 0) this.learned = computed;
    this.#history = undefined;
    this.#filled = 0;
    this.#next = 0;
    this.#running = undefined;
  }

  /** Drops history and learned statistics (reset). */
  reset(): void {
    this.learned = {};
    this.#history = undefined;
    this.#filled = 0;
    this.#next = 0;
    this.#running = undefined;
    this.#minute = -1;
    this.#current.fill(0);
  }
}
