/**
 * The controller's recent alerts: a bounded in-memory ring (newest kept), with
 * filters and live subscribers for `GET /v1/alerts?follow`. Alerts arrive from
 * the agent hub; the SIEM exporters keep the durable copy.
 */
import { fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";

export type AlertJson = Record<string, unknown> & {
  id?: string;
  provider?: string;
  ruleId?: string;
  severity?: string;
  time?: string;
};

export interface AlertFilter {
  provider?: string;
  rule?: string;
  /** Minimum severity, e.g. `high` (inclusive). */
  severity?: string;
  /** ISO time: only alerts at or after it. */
  since?: string;
}

const SEVERITY_ORDER = [
  "SEVERITY_UNSPECIFIED",
  "SEVERITY_INFO",
  "SEVERITY_LOW",
  "SEVERITY_MEDIUM",
  "SEVERITY_HIGH",
  "SEVERITY_CRITICAL",
];

export function severityRank(s: string | undefined): number {
  if (s === undefined) return 0;
  const up = s.toUpperCase();
  const i = SEVERITY_ORDER.indexOf(up.startsWith("SEVERITY_") ? up : `SEVERITY_${up}`);
  return i < 0 ? -1 : i;
}

export function matches(a: AlertJson, f: AlertFilter): boolean {
  if (f.provider !== undefined && a.provider !== f.provider) return false;
  if (f.rule !== undefined && a.ruleId !== f.rule) return false;
  if (f.severity !== undefined && severityRank(a.severity) < severityRank(f.severity)) return false;
  if (f.since !== undefined && (a.time === undefined || Date.parse(a.time) < Date.parse(f.since)))
    return false;
  return true;
}

export interface AlertStoreLimits {
  /** Alerts kept (default 10 000). */
  maxAlerts?: number;
  /** Bytes kept, counted as the alerts' protobuf encoding (default 16 MiB). */
  maxBytes?: number;
}

/** What the ring holds of an alert: its protobuf bytes, and the fields the filters read. */
interface Held {
  readonly bytes: Uint8Array;
  readonly provider: string;
  readonly ruleId: string;
  readonly severity: number;
  /** Epoch ms, NaN without a time. */
  readonly timeMs: number;
}

const SEVERITY_NAMES = new Map<number, string>(
  Object.entries(hangar.Severity)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [v as number, `SEVERITY_${k}`]),
);

/**
 * The newest alerts, bounded by count and by size: a ring whose oldest alerts are evicted
 * (counted in `dropped`) when either bound is passed. An alert is held as its protobuf
 * encoding (the bytes it arrived as over the hub, a few hundred bytes) and turned into JSON
 * only when it is read (`list`) or followed (`subscribe`), so holding the default 10 000 takes
 * a few MiB and adding one costs no JSON. The controller's memory for alerts does not grow
 * with time or with the number of agents; the SIEM export (`--siem`, e.g. a `file://`
 * JSON-lines destination) is the durable, complete record.
 */
export class AlertStore {
  readonly maxAlerts: number;
  readonly maxBytes: number;
  #ring: (Held | undefined)[];
  /** Index of the oldest alert, and how many are held. */
  #head = 0;
  #count = 0;
  #bytes = 0;
  readonly #subscribers = new Set<(a: AlertJson) => void>();
  /** Alerts evicted over either bound. */
  dropped = 0;

  constructor(limits: number | AlertStoreLimits = {}) {
    const l = typeof limits === "number" ? { maxAlerts: limits } : limits;
    this.maxAlerts = Math.max(1, Math.floor(l.maxAlerts ?? 10_000));
    this.maxBytes = Math.max(1, Math.floor(l.maxBytes ?? 16 * 1024 * 1024));
    // Grown as alerts come (a quiet cluster holds a small array), up to maxAlerts.
    this.#ring = new Array<Held | undefined>(Math.min(this.maxAlerts, 1024));
  }

  /** Alerts held now. */
  get size(): number {
    return this.#count;
  }

  /** Their size as protobuf bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Holds an alert. `encoded`: its protobuf bytes when they are at hand (the hub keeps the
   * bytes an alert arrived as), else it is encoded here.
   */
  add(alert: hangar.Alert, encoded?: Uint8Array): void {
    const bytes = encoded ?? toBinary(hangar.AlertSchema, alert);
    const time = alert.time;
    const held: Held = {
      bytes,
      provider: alert.provider,
      ruleId: alert.ruleId,
      severity: alert.severity,
      timeMs: time === undefined ? NaN : Number(time.seconds) * 1000 + Math.floor(time.nanos / 1e6),
    };
    const size = bytes.byteLength;
    while (this.#count > 0 && (this.#count >= this.maxAlerts || this.#bytes + size > this.maxBytes))
      this.#evict();
    if (this.#count === this.#ring.length) this.#grow();
    this.#ring[(this.#head + this.#count) % this.#ring.length] = held;
    this.#count++;
    this.#bytes += size;
    if (this.#subscribers.size === 0) return;
    const json = toJson(hangar.AlertSchema, alert) as AlertJson;
    for (const fn of this.#subscribers) fn(json);
  }

  #evict(): void {
    this.#bytes -= (this.#ring[this.#head] as Held).bytes.byteLength;
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#ring.length;
    this.#count--;
    this.dropped++;
  }

  #grow(): void {
    const n = Math.min(this.maxAlerts, this.#ring.length * 2);
    const ring = new Array<Held | undefined>(n);
    for (let i = 0; i < this.#count; i++) ring[i] = this.#ring[(this.#head + i) % this.#ring.length];
    this.#ring = ring;
    this.#head = 0;
  }

  /** Newest last; at most `limit` of the newest that match. */
  list(filter: AlertFilter = {}, limit = 100): AlertJson[] {
    const minRank = filter.severity === undefined ? undefined : severityRank(filter.severity);
    const sinceMs = filter.since === undefined ? undefined : Date.parse(filter.since);
    const out: AlertJson[] = [];
    for (let i = this.#count - 1; i >= 0 && out.length < limit; i--) {
      const a = this.#ring[(this.#head + i) % this.#ring.length] as Held;
      if (filter.provider !== undefined && a.provider !== filter.provider) continue;
      if (filter.rule !== undefined && a.ruleId !== filter.rule) continue;
      if (minRank !== undefined && severityRank(SEVERITY_NAMES.get(a.severity)) < minRank) continue;
      if (sinceMs !== undefined && (Number.isNaN(a.timeMs) || a.timeMs < sinceMs)) continue;
      out.push(toJson(hangar.AlertSchema, fromBinary(hangar.AlertSchema, a.bytes)) as AlertJson);
    }
    return out.reverse();
  }

  subscribe(fn: (a: AlertJson) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }
}

/**
 * Alert ids seen recently, to keep an alert delivered twice (its ack lost, sent again on a
 * new stream) once. Bounded in time and count: an id is remembered for `windowMs` (default
 * 10 min, well past an agent's redelivery after a reconnect) and at most `maxIds` of the
 * newest are kept (default 50 000); what falls out is counted in `forgotten`. Within a
 * stream the hub's per-node sequence numbers already drop duplicates; this catches the
 * redeliveries that cross streams.
 */
export class RecentIds {
  readonly windowMs: number;
  readonly maxIds: number;
  readonly #seen = new Set<string>();
  /**
   * The ids in the order they were first seen, and when (ms): a ring, the oldest at `#head`.
   * (Expiring from a Map's front leaves deleted entries its iteration walks over again on
   * every call until the table is rebuilt; a ring does not.)
   */
  #ids: string[] = [];
  #at: Float64Array = new Float64Array(0);
  #head = 0;
  forgotten = 0;

  constructor(opts: { windowMs?: number; maxIds?: number } = {}) {
    this.windowMs = Math.max(0, opts.windowMs ?? 600_000);
    this.maxIds = Math.max(1, Math.floor(opts.maxIds ?? 50_000));
  }

  get size(): number {
    return this.#seen.size;
  }

  /** True when `id` was seen within the window; otherwise remembers it and returns false. */
  seen(id: string, now = Date.now()): boolean {
    this.#expire(now);
    if (this.#seen.has(id)) return true;
    if (this.#seen.size >= this.maxIds) this.#forgetOldest();
    const n = this.#seen.size;
    if (n === this.#ids.length) this.#grow();
    const at = (this.#head + n) % this.#ids.length;
    this.#ids[at] = id;
    this.#at[at] = now;
    this.#seen.add(id);
    return false;
  }

  #expire(now: number): void {
    while (this.#seen.size > 0 && now - (this.#at[this.#head] as number) > this.windowMs)
      this.#forgetOldest();
  }

  #forgetOldest(): void {
    this.#seen.delete(this.#ids[this.#head] as string);
    this.#ids[this.#head] = "";
    this.#head = (this.#head + 1) % this.#ids.length;
    this.forgotten++;
  }

  #grow(): void {
    const n = this.#seen.size;
    const cap = Math.min(this.maxIds, Math.max(1024, this.#ids.length * 2));
    const ids = new Array<string>(cap).fill("");
    const at = new Float64Array(cap);
    for (let i = 0; i < n; i++) {
      const from = (this.#head + i) % this.#ids.length;
      ids[i] = this.#ids[from] as string;
      at[i] = this.#at[from] as number;
    }
    this.#ids = ids;
    this.#at = at;
    this.#head = 0;
  }
}
