/**
 * The proxy's counters (requests, refusals, errors, calls by status), kept in
 * memory and readable as a snapshot. The OTLP metrics exporter (the SIEM/metrics
 * issue) reads them from here; nothing here does I/O.
 */
import { hangar } from "@hangar/proto";

export class ProxyStats {
  readonly #counts = new Map<string, number>();

  static key(name: string, labels?: Readonly<Record<string, string>>): string {
    if (labels === undefined) return name;
    const parts = Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`);
    return `${name}{${parts.join(",")}}`;
  }

  inc(name: string, labels?: Readonly<Record<string, string>>, by = 1): void {
    const k = ProxyStats.key(name, labels);
    this.#counts.set(k, (this.#counts.get(k) ?? 0) + by);
  }

  get(name: string, labels?: Readonly<Record<string, string>>): number {
    return this.#counts.get(ProxyStats.key(name, labels)) ?? 0;
  }

  /** Counter keys of finished calls, by provider, method and status (built once each). */
  readonly #callKeys = new Map<string, string>();

  /** One finished request: counted by provider, method and status. */
  observeCall(provider: string, method: string, status: hangar.CallStatus, _ms: number): void {
    const id = `${provider}\0${method}\0${status}`;
    let k = this.#callKeys.get(id);
    if (k === undefined) {
      k = ProxyStats.key("calls", {
        provider,
        method,
        status: (hangar.CallStatus[status] ?? "UNSPECIFIED").toLowerCase(),
      });
      if (this.#callKeys.size < 10_000) this.#callKeys.set(id, k);
    }
    this.#counts.set(k, (this.#counts.get(k) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}
