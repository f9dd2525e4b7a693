/**
 * Names on connections: every pod's own recent DNS answers (Hubble's DNS visibility), by
 * address, so that a connect or a flow carries the names the pod resolved to the address it
 * talks to (`destination.names`) — "connects to the API server by name" or "to a C2 domain"
 * is then one condition, as Falco's fd.sip.name is. Answers are remembered per pod for their
 * TTL, at least 5 minutes (connections outlive short TTLs), by event time; the table is
 * bounded, the oldest answers go first.
 */
import type { hangar } from "@hangar/proto";
import { timeMs, type Counters, type RuntimeEvent } from "@hangar/core";

/** Answers are kept at least this long (ms), whatever their TTL. */
export const MIN_KEEP_MS = 5 * 60_000;

interface Entry {
  names: string[];
  until: number;
}

export class DnsNames {
  readonly #counters: Counters;
  readonly #max: number;
  /** "namespace/pod ip" → names. */
  readonly #entries = new Map<string, Entry>();

  constructor(counters: Counters, max = 65_536) {
    this.#counters = counters;
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Learns from DNS answers; gives connects and flows the names for their remote address. */
  process(ev: RuntimeEvent): void {
    const d = ev.detail;
    switch (d.case) {
      case "dns":
        if (d.value.response && d.value.ips.length > 0) this.#learn(ev, d.value);
        return;
      case "connect": {
        const c = d.value;
        if (c.destinationNames.length > 0 || c.destinationIp === "") return;
        const names = this.#names(ev, c.destinationIp);
        if (names !== undefined) {
          c.destinationNames = names;
          this.#counters.inc("dns_names_attached", { kind: "connect" });
        }
        return;
      }
      case "flow": {
        const f = d.value;
        const remote = f.podIsSource ? f.destinationIp : f.sourceIp;
        const have = f.podIsSource ? f.destinationNames : f.sourceNames;
        if (have.length > 0 || remote === "") return;
        const names = this.#names(ev, remote);
        if (names === undefined) return;
        if (f.podIsSource) f.destinationNames = names;
        else f.sourceNames = names;
        this.#counters.inc("dns_names_attached", { kind: "flow" });
        return;
      }
      default:
        return;
    }
  }

  #key(ev: RuntimeEvent, ip: string): string | undefined {
    const p = ev.pod;
    if (p === undefined || p.name === "") return undefined;
    return `${p.namespace}/${p.name} ${ip}`;
  }

  #learn(ev: RuntimeEvent, d: hangar.DnsDetail): void {
    const now = timeMs(ev.time);
    const until = now + Math.max(d.ttl * 1000, MIN_KEEP_MS);
    const names = d.cnames.length === 0 ? [d.query] : [d.query, ...d.cnames];
    for (const ip of d.ips) {
      const key = this.#key(ev, ip);
      if (key === undefined) return;
      const had = this.#entries.get(key);
      if (had !== undefined) {
        this.#entries.delete(key);
        for (const n of had.names) if (!names.includes(n) && had.until > now) names.push(n);
      } else if (this.#entries.size >= this.#max) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
      this.#entries.set(key, { names, until });
    }
  }

  #names(ev: RuntimeEvent, ip: string): string[] | undefined {
    const key = this.#key(ev, ip);
    if (key === undefined) return undefined;
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (e.until < timeMs(ev.time)) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.names;
  }
}
