/**
 * Named counters with a small, closed label set. Every stage takes a Counters
 * instance explicitly (no process-wide registry), so tests and benchmarks can
 * read exactly what one run counted.
 */
export class Counters {
  readonly #values = new Map<string, number>();
  /** Gauges read only when someone looks (snapshot, get): nothing on the hot path. */
  readonly #gauges = new Map<string, () => number>();

  static key(name: string, labels?: Readonly<Record<string, string>>): string {
    if (labels === undefined) return name;
    const parts = Object.keys(labels)
      .sort()
      .map((k) => `${k}=${JSON.stringify(labels[k])}`);
    return parts.length === 0 ? name : `${name}{${parts.join(",")}}`;
  }

  inc(name: string, labels?: Readonly<Record<string, string>>, by = 1): void {
    const key = Counters.key(name, labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }

  /** Sets a gauge-like value (e.g. a queue depth). */
  set(name: string, value: number, labels?: Readonly<Record<string, string>>): void {
    this.#values.set(Counters.key(name, labels), value);
  }

  /**
   * Registers a gauge read at snapshot time (e.g. a queue's depth); a later registration
   * under the same name and labels replaces it. Returns the function that removes it.
   */
  gauge(name: string, labels: Readonly<Record<string, string>> | undefined, read: () => number): () => void {
    const key = Counters.key(name, labels);
    this.#gauges.set(key, read);
    return () => {
      if (this.#gauges.get(key) === read) this.#gauges.delete(key);
    };
  }

  get(name: string, labels?: Readonly<Record<string, string>>): number {
    const key = Counters.key(name, labels);
    const g = this.#gauges.get(key);
    return g !== undefined ? g() : (this.#values.get(key) ?? 0);
  }

  /** All values of a counter family by one label, e.g. byLabel("dropped", "reason"). */
  byLabel(name: string, label: string): Record<string, number> {
    const out: Record<string, number> = {};
    const prefix = `${name}{`;
    for (const [key, value] of this.#values) {
      if (!key.startsWith(prefix)) continue;
      const m = new RegExp(`(?:\\{|,)${label}=("(?:[^"\\\\]|\\\\.)*")`).exec(key);
      if (m?.[1] === undefined) continue;
      const labelValue = JSON.parse(m[1]) as string;
      out[labelValue] = (out[labelValue] ?? 0) + value;
    }
    return out;
  }

  snapshot(): Record<string, number> {
    const all = [...this.#values];
    for (const [key, read] of this.#gauges) if (!this.#values.has(key)) all.push([key, read()]);
    return Object.fromEntries(all.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
