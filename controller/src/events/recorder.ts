/**
 * Kubernetes Events (events.k8s.io/v1) written the way the kubelet's recorder writes them:
 * repeats of the same reason on the same object within a window become one Event whose
 * `series.count` grows (a PATCH, not a new object), and a token bucket per object and source
 * (burst 25, one token back every 5 minutes, as client-go's spam filter) keeps a noisy rule
 * from flooding the API server. Writes happen off the caller's path, one at a time, from a
 * bounded queue; what is dropped (rate limit, full queue) or fails is counted, never thrown.
 * The API server keeps an Event's note as first written: a repeat changes its series and its
 * annotations only.
 */
import { randomBytes } from "node:crypto";
import { errorMessage, type Counters } from "@hangar/core";
import type { KubeApi } from "../kube/kube.js";

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
}

export interface EventInput {
  readonly regarding: ObjectRef;
  readonly related?: ObjectRef;
  readonly type: "Normal" | "Warning";
  /** CamelCase, from a documented set (docs/reference/k8s-events.md). */
  readonly reason: string;
  readonly action: string;
  /** Up to 1 kB (longer notes are cut). */
  readonly note: string;
  /** Separates series that share reason and action (e.g. the rule id of an alert). */
  readonly key?: string;
  /**
   * Annotations of the Event, set again on each repeat (the note is immutable, so the note
   * names the first occurrence and these the latest, e.g. `mcp-hangar.io/alert-id`).
   */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface EventRecorderOptions {
  readonly kube: KubeApi;
  /** Families `k8s_events{outcome}` and `k8s_events_dropped{reason}`. */
  readonly counters: Counters;
  /** `reportingInstance`: this replica (its pod name). */
  readonly instance: string;
  /** `reportingController`. Default `mcp-hangar.io/hangar-controller`. */
  readonly controller?: string;
  /** Repeats within this long of the last one join its series. Default 10 minutes. */
  readonly seriesWindowMs?: number;
  /** Token bucket per object and source. Default 25. */
  readonly burst?: number;
  /** One token comes back every this long. Default 5 minutes. */
  readonly refillMs?: number;
  /** Events waiting to be written; more are dropped (`queue_full`). Default 1000. */
  readonly maxQueue?: number;
  readonly now?: () => number;
  /** A write the API server refused or could not take (logged by the caller). */
  readonly onError?: (err: unknown, e: EventInput) => void;
}

export const REPORTING_CONTROLLER = "mcp-hangar.io/hangar-controller";
const NOTE_MAX = 1024;

interface Series {
  name: string;
  namespace: string;
  count: number;
  lastMs: number;
}

/** RFC 3339 with microseconds, as `MicroTime` wants. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function cut(note: string): string {
  if (Buffer.byteLength(note) <= NOTE_MAX) return note;
  let s = note.slice(0, NOTE_MAX - 1);
  while (Buffer.byteLength(s) > NOTE_MAX - 3) s = s.slice(0, -1);
  return `${s}…`;
}

export class EventRecorder {
  readonly #o: Required<Omit<EventRecorderOptions, "onError">> & Pick<EventRecorderOptions, "onError">;
  readonly #series = new Map<string, Series>();
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();
  readonly #queue: EventInput[] = [];
  #draining: Promise<void> | undefined;

  constructor(o: EventRecorderOptions) {
    this.#o = {
      controller: REPORTING_CONTROLLER,
      seriesWindowMs: 10 * 60_000,
      burst: 25,
      refillMs: 5 * 60_000,
      maxQueue: 1000,
      now: Date.now,
      ...o,
    };
  }

  /** Queues one event; returns at once. */
  record(e: EventInput): void {
    if (this.#queue.length >= this.#o.maxQueue) {
      this.#o.counters.inc("k8s_events_dropped", { reason: "queue_full" });
      return;
    }
    this.#queue.push(e);
    this.#draining ??= this.#drain().finally(() => (this.#draining = undefined));
  }

  /** Resolves when every queued event has been written or dropped. */
  async flush(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  async #drain(): Promise<void> {
    for (let e = this.#queue.shift(); e !== undefined; e = this.#queue.shift()) {
      try {
        await this.#write(e);
      } catch (err) {
        this.#o.counters.inc("k8s_events", { outcome: "failed" });
        this.#o.onError?.(err, e);
      }
    }
  }

  /** Takes a token of the object's bucket (per object and source, as client-go's spam filter). */
  #take(r: ObjectRef, nowMs: number): boolean {
    const key = `${r.kind}/${r.namespace}/${r.name}/${r.uid ?? ""}`;
    const b = this.#buckets.get(key) ?? { tokens: this.#o.burst, atMs: nowMs };
    b.tokens = Math.min(this.#o.burst, b.tokens + (nowMs - b.atMs) / this.#o.refillMs);
    b.atMs = nowMs;
    this.#buckets.set(key, b);
    if (this.#buckets.size > 10_000) this.#forget(nowMs);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets series past their window and buckets that are full again. */
  #forget(nowMs: number): void {
    for (const [k, s] of this.#series) if (nowMs - s.lastMs > this.#o.seriesWindowMs) this.#series.delete(k);
    const full = this.#o.burst * this.#o.refillMs;
    for (const [k, b] of this.#buckets) if (nowMs - b.atMs > full) this.#buckets.delete(k);
  }

  async #write(e: EventInput): Promise<void> {
    const nowMs = this.#o.now();
    const r = e.regarding;
    const key = [r.namespace, r.name, r.uid ?? "", e.type, e.reason, e.action, e.key ?? ""].join("\u0000");
    const s = this.#series.get(key);
    const note = cut(e.note);
    if (s !== undefined && nowMs - s.lastMs <= this.#o.seriesWindowMs) {
      // A repeat: counted even when the write is dropped, so the next write has the true count.
      s.count++;
      s.lastMs = nowMs;
      if (!this.#take(r, nowMs)) {
        this.#o.counters.inc("k8s_events_dropped", { reason: "rate_limited" });
        return;
      }
      const res = await this.#o.kube.send({
        method: "PATCH",
        path: `/apis/events.k8s.io/v1/namespaces/${s.namespace}/events/${s.name}`,
        contentType: "application/merge-patch+json",
        body: {
          series: { count: s.count, lastObservedTime: microTime(nowMs) },
          ...(e.annotations !== undefined ? { metadata: { annotations: e.annotations } } : {}),
        },
      });
      if (res.status === 200) {
        this.#o.counters.inc("k8s_events", { outcome: "updated" });
        return;
      }
      if (res.status !== 404) throw httpError("PATCH", s.name, res);
      // The Event is gone (its TTL in the API server passed): start a new one.
      this.#series.delete(key);
      await this.#create(e, note, key, nowMs);
      return;
    }
    if (!this.#take(r, nowMs)) {
      this.#o.counters.inc("k8s_events_dropped", { reason: "rate_limited" });
      return;
    }
    await this.#create(e, note, key, nowMs);
  }

  async #create(e: EventInput, note: string, key: string, nowMs: number): Promise<void> {
    const r = e.regarding;
    const name = `${r.name}.${nowMs.toString(16)}${randomBytes(3).toString("hex")}`;
    const ref = (o: ObjectRef): Record<string, string> => ({
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      ...(o.uid !== undefined && o.uid !== "" ? { uid: o.uid } : {}),
    });
    const res = await this.#o.kube.send({
      method: "POST",
      path: `/apis/events.k8s.io/v1/namespaces/${r.namespace}/events`,
      body: {
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        metadata: {
          name,
          namespace: r.namespace,
          ...(e.annotations !== undefined ? { annotations: e.annotations } : {}),
        },
        eventTime: microTime(nowMs),
        reportingController: this.#o.controller,
        reportingInstance: this.#o.instance.slice(0, 128),
        action: e.action.slice(0, 128),
        reason: e.reason.slice(0, 128),
        type: e.type,
        note,
        regarding: ref(r),
        ...(e.related !== undefined ? { related: ref(e.related) } : {}),
      },
    });
    if (res.status !== 201) throw httpError("POST", name, res);
    this.#series.set(key, { name, namespace: r.namespace, count: 1, lastMs: nowMs });
    this.#o.counters.inc("k8s_events", { outcome: "created" });
  }
}

function httpError(method: string, name: string, res: { status: number; body: unknown }): Error {
  const msg = (res.body as { message?: string } | undefined)?.message ?? errorMessage(res.body);
  return new Error(`${method} events.k8s.io Event ${name}: HTTP ${res.status}: ${msg}`);
}
