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

export class AlertStore {
  readonly #capacity: number;
  readonly #ring: AlertJson[] = [];
  readonly #subscribers = new Set<(a: AlertJson) => void>();
  dropped = 0;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  add(alert: hangar.Alert): AlertJson {
    const json = toJson(hangar.AlertSchema, alert) as AlertJson;
    this.#ring.push(json);
    if (this.#ring.length > this.#capacity) {
      this.#ring.shift();
      this.dropped++;
    }
    for (const fn of this.#subscribers) fn(json);
    return json;
  }

  /** Newest last; at most `limit` of the newest that match. */
  list(filter: AlertFilter = {}, limit = 100): AlertJson[] {
    const out: AlertJson[] = [];
    for (let i = this.#ring.length - 1; i >= 0 && out.length < limit; i--) {
      const a = this.#ring[i] as AlertJson;
      if (matches(a, filter)) out.push(a);
    }
    return out.reverse();
  }

  subscribe(fn: (a: AlertJson) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }
}
