/**
 * The controller's recent alerts: a bounded in-memory ring (newest kept), with
 * filters and live subscribers for `GET /v1/alerts?follow`. Alerts arrive from
 * the agent hub; the SIEM exporters keep the durable copy.
 */
import { toJson } from "@bufbuild/protobuf";
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
  /** Bytes kept, counted as the alerts' JSON text (default 16 MiB). */
  maxBytes?: number;
}

/**
 * The newest alerts, bounded by count and by size: a ring whose oldest alerts are evicted
 * (counted in `dropped`) when either bound is passed. The controller's memory for alerts does
 * not grow with time or with the number of agents; the SIEM export (`--siem`, e.g. a
 * `file://` JSON-lines destination) is the durable, complete record.
 */
export class AlertStore {
  readonly maxAlerts: number;
  readonly maxBytes: number;
  #ring: (AlertJson | undefined)[];
  #size: Uint32Array;
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
    this.#ring = new Array<AlertJson | undefined>(Math.min(this.maxAlerts, 1024));
    this.#size = new Uint32Array(this.#ring.length);
  }

  /** Alerts held now. */
  get size(): number {
    return this.#count;
  }

  /** Their size as JSON text, bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  add(alert: hangar.Alert): AlertJson {
    const json = toJson(hangar.AlertSchema, alert) as AlertJson;
    // JSON text length: ASCII is nearly all of an alert, so characters ≈ bytes.
    const bytes = JSON.stringify(json).length;
    while (this.#count > 0 && (this.#count >= this.maxAlerts || this.#bytes + bytes > this.maxBytes))
      this.#evict();
    if (this.#count === this.#ring.length) this.#grow();
    const at = (this.#head + this.#count) % this.#ring.length;
    this.#ring[at] = json;
    this.#size[at] = bytes;
    this.#count++;
    this.#bytes += bytes;
    for (const fn of this.#subscribers) fn(json);
    return json;
  }

  #evict(): void {
    this.#bytes -= this.#size[this.#head] as number;
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#ring.length;
    this.#count--;
    this.dropped++;
  }

  #grow(): void {
    const n = Math.min(this.maxAlerts, this.#ring.length * 2);
    const ring = new Array<AlertJson | undefined>(n);
    const size = new Uint32Array(n);
    for (let i = 0; i < this.#count; i++) {
      const from = (this.#head + i) % this.#ring.length;
      ring[i] = this.#ring[from];
      size[i] = this.#size[from] as number;
    }
    this.#ring = ring;
    this.#size = size;
    this.#head = 0;
  }

  /** Newest last; at most `limit` of the newest that match. */
  list(filter: AlertFilter = {}, limit = 100): AlertJson[] {
    const out: AlertJson[] = [];
    for (let i = this.#count - 1; i >= 0 && out.length < limit; i--) {
      const a = this.#ring[(this.#head + i) % this.#ring.length] as AlertJson;
      if (matches(a, filter)) out.push(a);
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
  /** id → when it was first seen (ms), in insertion order: the oldest first. */
  readonly #seen = new Map<string, number>();
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
    this.#seen.set(id, now);
    if (this.#seen.size > this.maxIds) {
      const oldest = this.#seen.keys().next();
      if (oldest.done !== true) {
        this.#seen.delete(oldest.value);
        this.forgotten++;
      }
    }
    return false;
  }

  #expire(now: number): void {
    for (const [id, at] of this.#seen) {
      if (now - at <= this.windowMs) break;
      this.#seen.delete(id);
      this.forgotten++;
    }
  }
}
