/**
 * The streaming engine: rules indexed by event kind; per (rule, key)
 * partial matches with EQL semantics (one pending match per step and key, a
 * newer one replaces the older); expiry by event time through a timer heap;
 * a watermark with allowed lateness and a reorder buffer; per-rule caps on
 * partial matches with stalest-first eviction. It produces raw matches;
 * exceptions, learning, cooldown and alerts are the detector's business.
 */
import type { BaselineLookup } from "@hangar/core";
import type { hangar } from "@hangar/proto";
import { TimerHeap } from "./heap.js";
import type { CompiledRule, Env, EventRule, Fn, SequenceRule, SeqStep, ThresholdRule } from "./program.js";
import { text } from "./text.js";

type RuntimeEvent = hangar.RuntimeEvent;

export interface EngineOptions {
  rules: readonly CompiledRule[];
  baseline?: BaselineLookup | undefined;
  /** How far behind the newest event time an event may arrive and still be used by stateful rules (ms, default 0). */
  latenessMs?: number;
  /** Partial matches (sequences) or keys (thresholds) kept per rule; the stalest go first (default 100 000). */
  maxKeysPerRule?: number;
  /**
   * Partial matches and threshold keys kept over all rules together; past it the fullest
   * rule's stalest go first, counted in `evicted` (default 100 000, at least maxKeysPerRule
   * when that is given).
   */
  maxPartials?: number;
  /**
   * Events held in the reorder buffer; past it the earliest is let through at once and the
   * watermark moves to it, counted in `reorderForced` (default 32 768).
   */
  maxBuffered?: number;
  /**
   * Event time went back: after this many consecutive events each more than `rewindMs`
   * behind the watermark (a looped recording, a node clock set back, a sensor replaying
   * old events), the engine starts a new clock at the new time instead of treating every
   * later event as late: the old clock's state is flushed (due matches fire) and dropped,
   * counted in `clockResets` and `resetDropped` (default 1 024 events, 30 000 ms).
   */
  rewindEvents?: number;
  rewindMs?: number;
}

export interface Match {
  rule: CompiledRule;
  /** Evidence by slot: one event per positive step (the trigger event for single-event and threshold rules). */
  events: RuntimeEvent[];
  key: string;
  /** Event time of the match (ms): the last step, or the end of a negative step's window. */
  time: number;
  /** A baseline predicate was answered "learning" or "none" on the way. */
  learning: boolean;
  /** Thresholds: the count that crossed the limit. */
  count: number;
}

export interface EngineStats {
  events: number;
  late: number;
  buffered: number;
  partials: number;
  timers: number;
  expired: number;
  cancelled: number;
  untilDropped: number;
  missingKey: number;
  /** Complete matches still waiting on a trailing negative step when the stream ended (not fired). */
  unresolved: number;
  /** Events let out of a full reorder buffer before the watermark reached them. */
  reorderForced: number;
  /** Timers of replaced or removed partial matches shed before their deadline (heap compaction). */
  timersShed: number;
  /** Times the event clock started over after it went back (see `rewindEvents`). */
  clockResets: number;
  /** Partial matches and threshold keys dropped at those resets. */
  resetDropped: number;
  /** Partial matches and threshold keys dropped over a cap, by rule id. */
  evicted: Record<string, number>;
}

/** A pending sequence match: kept small, it is the unit of memory (≈ one per active key and step). */
interface Partial {
  /** The join key (shared with the events it came from when there is one key field). */
  key: string;
  /** The positive step this partial waits for (== positives.length: waiting out a trailing negative step). */
  slot: number;
  deadline: number;
  last: number;
  /** The evidence so far: one event (the common case, no array) or one per matched step. */
  ev: RuntimeEvent | RuntimeEvent[];
  learning: boolean;
  rt: SeqRuntime;
}

/** A reusable one-element view for conditions that read the first step of a one-event partial. */
const ONE: RuntimeEvent[] = [];

function bound(p: Partial): readonly RuntimeEvent[] {
  if (Array.isArray(p.ev)) return p.ev;
  ONE[0] = p.ev;
  return ONE;
}

function evidence(p: Partial): RuntimeEvent[] {
  return Array.isArray(p.ev) ? p.ev : [p.ev];
}

interface SeqRuntime {
  rule: SequenceRule;
  /** Pending partial matches by slot, then join key; each map in least-recently-updated order. */
  maps: Map<string, Partial>[];
  size: number;
  trailing: SeqStep[];
}

interface ThresholdState {
  key: string;
  last: number;
  ring: number[];
  head: number;
  values: Map<string, number> | undefined;
  alive: boolean;
  rt: ThresholdRuntime;
}

interface ThresholdRuntime {
  rule: ThresholdRule;
  map: Map<string, ThresholdState>;
}

type Timer = Partial | ThresholdState;
type Handler = (ev: RuntimeEvent, t: number) => void;

const SEP = "\u0001";

function joinKey(ev: RuntimeEvent, fns: readonly Fn[], env: Env): string | undefined {
  if (fns.length === 0) return "";
  if (fns.length === 1) {
    const v = (fns[0] as Fn)(ev, env);
    return v === "" || v === undefined || v === 0 ? undefined : typeof v === "string" ? v : text(v);
  }
  const parts = new Array<string>(fns.length);
  for (let i = 0; i < fns.length; i++) {
    const v = (fns[i] as Fn)(ev, env);
    if (v === "" || v === undefined || v === 0) return undefined;
    parts[i] = typeof v === "string" ? v : text(v);
  }
  // join() makes one flat string; `a + SEP + b` would keep cons-string wrappers alive in the map.
  return parts.join(SEP);
}

export function timeOf(ev: RuntimeEvent): number {
  const t = ev.time;
  return t === undefined ? 0 : Number(t.seconds) * 1000 + t.nanos / 1e6;
}

export class Engine {
  readonly #byKind = new Map<number, Handler[]>();
  /** Single-event rules only, for events that arrive too late for stateful rules. */
  readonly #lateByKind = new Map<number, Handler[]>();
  readonly #timers = new TimerHeap<Timer>();
  readonly #env: Env;
  readonly #lateness: number;
  readonly #maxKeys: number;
  readonly #maxPartials: number;
  readonly #maxBuffered: number;
  readonly #rewindEvents: number;
  readonly #rewindMs: number;
  /** Partial matches and threshold keys over all rules. */
  #live = 0;
  /** Consecutive events more than `rewindMs` behind the watermark. */
  #rewound = 0;
  readonly #seqs: SeqRuntime[] = [];
  readonly #thresholds: ThresholdRuntime[] = [];
  #out: Match[] = [];
  #maxSeen = -Infinity;
  #watermark = -Infinity;
  /** Reorder buffer: events waiting for the watermark, as a heap on (time, arrival). */
  readonly #buffer = new TimerHeap<{ ev: RuntimeEvent; t: number }>();
  readonly #stats: Omit<EngineStats, "buffered" | "partials" | "timers"> = {
    events: 0,
    late: 0,
    expired: 0,
    cancelled: 0,
    untilDropped: 0,
    missingKey: 0,
    unresolved: 0,
    reorderForced: 0,
    timersShed: 0,
    clockResets: 0,
    resetDropped: 0,
    evicted: {},
  };

  constructor(options: EngineOptions) {
    this.#env = { steps: [], learning: false, baseline: options.baseline };
    this.#lateness = Math.max(0, options.latenessMs ?? 0);
    this.#maxKeys = Math.max(1, options.maxKeysPerRule ?? 100_000);
    this.#maxPartials = Math.max(1, options.maxPartials ?? Math.max(100_000, options.maxKeysPerRule ?? 0));
    this.#maxBuffered = Math.max(1, options.maxBuffered ?? 32_768);
    this.#rewindEvents = Math.max(1, options.rewindEvents ?? 1024);
    this.#rewindMs = Math.max(0, options.rewindMs ?? 30_000);
    for (const r of options.rules) {
      if (!r.enabled) continue;
      if (r.t === "event") {
        const h = this.#eventHandler(r);
        this.#add(this.#byKind, r.kind, h);
        this.#add(this.#lateByKind, r.kind, h);
      } else if (r.t === "threshold") this.#thresholdHandlers(r);
      else this.#sequenceHandlers(r);
    }
  }

  #add(map: Map<number, Handler[]>, kind: number, h: Handler): void {
    const list = map.get(kind);
    if (list === undefined) map.set(kind, [h]);
    else list.push(h);
  }

  /** The newest event time seen minus the allowed lateness. */
  get watermark(): number {
    return this.#watermark;
  }

  stats(): EngineStats {
    let partials = 0;
    for (const s of this.#seqs) partials += s.size;
    for (const s of this.#thresholds) partials += s.map.size;
    return {
      ...this.#stats,
      evicted: { ...this.#stats.evicted },
      buffered: this.#buffer.size,
      partials,
      timers: this.#timers.size,
    };
  }

  /** Feeds one event (in arrival order); returns the matches it (or the time it moved) produced. */
  process(ev: RuntimeEvent): Match[] {
    this.#stats.events++;
    const t = timeOf(ev);
    if (t < this.#watermark - this.#rewindMs) {
      if (++this.#rewound >= this.#rewindEvents) this.#reset();
    } else this.#rewound = 0;
    if (t < this.#watermark) {
      this.#stats.late++;
      const hs = this.#lateByKind.get(ev.kind);
      if (hs !== undefined) for (const h of hs) h(ev, t);
      return this.#take();
    }
    if (this.#lateness === 0 && this.#buffer.size === 0) {
      if (t > this.#maxSeen) this.#maxSeen = this.#watermark = t;
      this.#ordered(ev, t);
    } else {
      this.#buffer.push(t, { ev, t });
      if (t > this.#maxSeen) {
        this.#maxSeen = t;
        this.#watermark = t - this.#lateness;
      }
      while (this.#buffer.size > 0 && this.#buffer.peek() <= this.#watermark) {
        const x = this.#buffer.pop();
        this.#ordered(x.ev, x.t);
      }
      while (this.#buffer.size > this.#maxBuffered) {
        // Full: the earliest goes now, and what is older than it from now on is late.
        const x = this.#buffer.pop();
        if (x.t > this.#watermark) this.#watermark = x.t;
        this.#stats.reorderForced++;
        this.#ordered(x.ev, x.t);
      }
      this.#expire(this.#watermark);
    }
    return this.#take();
  }

  /**
   * The event clock went back for good: what the old clock held is flushed (matches due
   * by its newest time fire) and dropped, and the next event starts a new clock.
   */
  #reset(): void {
    while (this.#buffer.size > 0) {
      const x = this.#buffer.pop();
      this.#ordered(x.ev, x.t);
    }
    this.#expire(this.#maxSeen);
    this.#stats.resetDropped += this.#live;
    for (const rt of this.#seqs) {
      for (const m of rt.maps) m.clear();
      rt.size = 0;
    }
    for (const rt of this.#thresholds) {
      for (const st of rt.map.values()) st.alive = false;
      rt.map.clear();
    }
    this.#live = 0;
    this.#timers.retain(() => false);
    this.#maxSeen = -Infinity;
    this.#watermark = -Infinity;
    this.#rewound = 0;
    this.#stats.clockResets++;
  }

  /** Every partial match and threshold key over all rules counts; past the cap the fullest rule gives one up. */
  #capLive(): void {
    if (this.#timers.size > 2 * this.#live + 4096) {
      // Timers of replaced partial matches hold their evidence until the deadline: shed them.
      this.#stats.timersShed += this.#timers.retain((at, x) => {
        if ("slot" in x)
          return x.deadline === at && (x.rt.maps[x.slot] as Map<string, Partial>).get(x.key) === x;
        return x.alive;
      });
    }
    while (this.#live > this.#maxPartials) {
      let seq: SeqRuntime | undefined;
      let thr: ThresholdRuntime | undefined;
      let most = 0;
      for (const rt of this.#seqs)
        if (rt.size > most) {
          most = rt.size;
          seq = rt;
          thr = undefined;
        }
      for (const rt of this.#thresholds)
        if (rt.map.size > most) {
          most = rt.map.size;
          thr = rt;
          seq = undefined;
        }
      if (seq !== undefined) this.#evictPartial(seq);
      else if (thr !== undefined) this.#evict(thr.rule.meta.id, thr.map);
      else break;
    }
  }

  /**
   * No event for `ms` of wall time (live streams): event time moves on by `ms` past the
   * newest event seen, releasing buffered events and firing timers up to the new
   * watermark. Events older than that arrive late afterwards, as they would have.
   */
  advance(ms: number): Match[] {
    if (!(ms > 0) || this.#maxSeen === -Infinity) return EMPTY;
    this.#maxSeen += ms;
    this.#watermark = this.#maxSeen - this.#lateness;
    while (this.#buffer.size > 0 && this.#buffer.peek() <= this.#watermark) {
      const x = this.#buffer.pop();
      this.#ordered(x.ev, x.t);
    }
    this.#expire(this.#watermark);
    return this.#take();
  }

  /**
   * End of stream: releases buffered events and fires the timers whose deadline the
   * stream passed. A negative step whose window was still open when the stream ended
   * does not fire: nobody knows whether the event it waits for would have come (a
   * recording that stops, an agent that shuts down). Those matches are counted in
   * `stats().unresolved`.
   */
  flush(): Match[] {
    while (this.#buffer.size > 0) {
      const x = this.#buffer.pop();
      this.#ordered(x.ev, x.t);
    }
    this.#expire(this.#maxSeen);
    for (const rt of this.#seqs) {
      const last = rt.maps[rt.rule.positives.length];
      if (last !== undefined) this.#stats.unresolved += last.size;
    }
    return this.#take();
  }

  #take(): Match[] {
    if (this.#out.length === 0) return EMPTY;
    const out = this.#out;
    this.#out = [];
    return out;
  }

  #ordered(ev: RuntimeEvent, t: number): void {
    if (this.#timers.peek() < t) this.#expire(t);
    const hs = this.#byKind.get(ev.kind);
    if (hs === undefined) return;
    for (let i = 0; i < hs.length; i++) (hs[i] as Handler)(ev, t);
  }

  /** Fires or drops every timer whose deadline is before `now`. */
  #expire(now: number): void {
    const heap = this.#timers;
    while (heap.size > 0 && heap.peek() < now) {
      const deadline = heap.peek();
      const x = heap.pop();
      if ("slot" in x) {
        const rt = x.rt;
        const map = rt.maps[x.slot] as Map<string, Partial>;
        if (x.deadline !== deadline || map.get(x.key) !== x) continue;
        map.delete(x.key);
        rt.size--;
        this.#live--;
        if (x.slot === rt.rule.positives.length) {
          this.#out.push({
            rule: rt.rule,
            events: evidence(x),
            key: x.key,
            time: deadline,
            learning: x.learning,
            count: 0,
          });
        } else this.#stats.expired++;
      } else {
        if (!x.alive) continue;
        const w = x.rt.rule.windowMs;
        if (x.last + w >= now && now !== Infinity) heap.push(x.last + w, x);
        else {
          x.alive = false;
          x.rt.map.delete(x.key);
          this.#live--;
        }
      }
    }
  }

  #evict(id: string, map: Map<string, { alive: boolean }>): void {
    const first = map.keys().next();
    if (first.done === true) return;
    const victim = map.get(first.value);
    if (victim !== undefined) victim.alive = false;
    map.delete(first.value);
    // eslint-disable-next-line hangar/no-string-key-write -- number value; hasOwn: "constructor" counts from 0
    this.#stats.evicted[id] =
      (Object.hasOwn(this.#stats.evicted, id) ? (this.#stats.evicted[id] ?? 0) : 0) + 1;
    this.#live--;
  }

  /** Over the cap: drops the stalest partial match of the fullest step. */
  #evictPartial(rt: SeqRuntime): void {
    let fullest: Map<string, Partial> | undefined;
    for (const m of rt.maps) if (fullest === undefined || m.size > fullest.size) fullest = m;
    const first = fullest?.keys().next();
    if (fullest === undefined || first === undefined || first.done === true) return;
    fullest.delete(first.value);
    rt.size--;
    this.#live--;
    const id = rt.rule.meta.id;
    // eslint-disable-next-line hangar/no-string-key-write -- number value; hasOwn: "constructor" counts from 0
    this.#stats.evicted[id] =
      (Object.hasOwn(this.#stats.evicted, id) ? (this.#stats.evicted[id] ?? 0) : 0) + 1;
  }

  // ── single events ─────────────────────────────────────────────────────────
  #eventHandler(r: EventRule): Handler {
    const env = this.#env;
    const where = r.where;
    return (ev, t) => {
      env.learning = false;
      if (!where(ev, env)) return;
      this.#out.push({ rule: r, events: [ev], key: "", time: t, learning: env.learning, count: 1 });
    };
  }

  // ── thresholds ────────────────────────────────────────────────────────────
  #thresholdHandlers(r: ThresholdRule): void {
    const rt: ThresholdRuntime = { rule: r, map: new Map() };
    this.#thresholds.push(rt);
    const env = this.#env;
    const { where, key, field, windowMs, needed } = r;
    const id = r.meta.id;
    this.#add(this.#byKind, r.kind, (ev, t) => {
      env.learning = false;
      if (where !== undefined && !where(ev, env)) return;
      const k = joinKey(ev, key, env);
      if (k === undefined) {
        this.#stats.missingKey++;
        return;
      }
      let st = rt.map.get(k);
      if (st === undefined) {
        st = {
          key: k,
          last: t,
          ring: [],
          head: 0,
          values: field === undefined ? undefined : new Map(),
          alive: true,
          rt,
        };
        rt.map.set(k, st);
        this.#live++;
        this.#timers.push(t + windowMs, st);
        if (rt.map.size > this.#maxKeys) this.#evict(id, rt.map);
        this.#capLive();
      } else {
        // Keep the map in least-recently-updated order for eviction.
        rt.map.delete(k);
        rt.map.set(k, st);
      }
      st.last = t;
      let fired = 0;
      if (st.values === undefined) {
        const ring = st.ring;
        if (ring.length < needed) ring.push(t);
        else {
          ring[st.head] = t;
          st.head = (st.head + 1) % needed;
        }
        if (ring.length === needed && t - (ring[st.head % needed] as number) <= windowMs) fired = needed;
        if (fired > 0) {
          st.ring = [];
          st.head = 0;
        }
      } else {
        const v = (field as Fn)(ev, env);
        if (v === "" || v === undefined) return;
        const s = text(v);
        const vals = st.values;
        vals.delete(s);
        vals.set(s, t);
        for (const [x, at] of vals) {
          if (t - at <= windowMs) break;
          vals.delete(x);
        }
        if (vals.size >= needed) {
          fired = vals.size;
          vals.clear();
        }
      }
      if (fired > 0)
        this.#out.push({ rule: r, events: [ev], key: k, time: t, learning: env.learning, count: fired });
    });
  }

  // ── sequences ─────────────────────────────────────────────────────────────
  #sequenceHandlers(r: SequenceRule): void {
    const P = r.positives.length;
    const rt: SeqRuntime = {
      rule: r,
      maps: Array.from({ length: P + 1 }, () => new Map<string, Partial>()),
      size: 0,
      trailing: r.negatives.filter((n) => n.slot === P),
    };
    this.#seqs.push(rt);
    const env = this.#env;
    const kinds = new Set<hangar.EventKind>([
      ...r.positives.map((s) => s.kind),
      ...r.negatives.map((s) => s.kind),
    ]);
    if (r.until !== undefined) kinds.add(r.until.kind);
    for (const kind of kinds) {
      const until = r.until !== undefined && r.until.kind === kind ? r.until : undefined;
      const negs = r.negatives.filter((s) => s.kind === kind);
      const pos: SeqStep[] = [];
      for (let i = P - 1; i >= 0; i--)
        if ((r.positives[i] as SeqStep).kind === kind) pos.push(r.positives[i] as SeqStep);
      this.#add(this.#byKind, kind, (ev, t) => {
        if (until !== undefined) this.#until(rt, until, ev, t);
        for (const n of negs) this.#negative(rt, n, ev, t);
        for (const s of pos) {
          env.learning = false;
          if (s.local !== undefined && !s.local(ev, env)) continue;
          this.#positive(rt, s, ev, t);
        }
      });
    }
    void env;
  }

  #until(rt: SeqRuntime, u: NonNullable<SequenceRule["until"]>, ev: RuntimeEvent, t: number): void {
    const env = this.#env;
    if (u.local !== undefined && !u.local(ev, env)) return;
    const jk = joinKey(ev, u.key, env);
    if (jk === undefined) return;
    const P = rt.rule.positives.length;
    for (let slot = 1; slot <= P; slot++) {
      const map = rt.maps[slot] as Map<string, Partial>;
      const p = map.get(jk);
      if (p === undefined || p.deadline < t) continue;
      if (u.ref !== undefined) {
        env.steps = bound(p);
        const hit = u.ref(ev, env);
        env.steps = NO_STEPS;
        if (!hit) continue;
      }
      map.delete(jk);
      rt.size--;
      this.#live--;
      this.#stats.untilDropped++;
    }
  }

  #negative(rt: SeqRuntime, n: SeqStep, ev: RuntimeEvent, t: number): void {
    const env = this.#env;
    if (n.local !== undefined && !n.local(ev, env)) return;
    const jk = joinKey(ev, n.key, env);
    if (jk === undefined) return;
    const map = rt.maps[n.slot] as Map<string, Partial>;
    const p = map.get(jk);
    if (p === undefined || p.deadline < t) return;
    if (n.withinMs !== undefined && t - p.last > n.withinMs) return;
    if (n.ref !== undefined) {
      env.steps = bound(p);
      const hit = n.ref(ev, env);
      env.steps = NO_STEPS;
      if (!hit) return;
    }
    map.delete(jk);
    rt.size--;
    this.#live--;
    this.#stats.cancelled++;
  }

  #positive(rt: SeqRuntime, s: SeqStep, ev: RuntimeEvent, t: number): void {
    const env = this.#env;
    const r = rt.rule;
    const jk = joinKey(ev, s.key, env);
    if (jk === undefined) {
      this.#stats.missingKey++;
      return;
    }
    let p: Partial;
    if (s.slot === 0) {
      p = { key: jk, slot: 1, deadline: t + r.maxspanMs, last: t, ev, learning: env.learning, rt };
      this.#timers.push(p.deadline, p);
    } else {
      const from = rt.maps[s.slot] as Map<string, Partial>;
      const q = from.get(jk);
      if (q === undefined) return;
      if (q.deadline < t) return; // its timer drops it
      if (s.ref !== undefined) {
        env.steps = bound(q);
        const hit = s.ref(ev, env);
        env.steps = NO_STEPS;
        if (!hit) return;
      }
      from.delete(jk);
      rt.size--;
      this.#live--;
      p = q;
      p.slot = s.slot + 1;
      if (Array.isArray(p.ev)) p.ev.push(ev);
      else p.ev = [p.ev, ev];
      p.last = t;
      p.learning = p.learning || env.learning;
    }
    const P = r.positives.length;
    if (p.slot === P && rt.trailing.length === 0) {
      this.#out.push({ rule: r, events: evidence(p), key: jk, time: t, learning: p.learning, count: 0 });
      return;
    }
    if (p.slot === P) {
      // Wait out the trailing negative steps: fire when every window has passed without them.
      let fireAt = -Infinity;
      for (const n of rt.trailing)
        fireAt = Math.max(
          fireAt,
          n.withinMs === undefined ? p.deadline : Math.min(p.deadline, t + n.withinMs),
        );
      if (fireAt !== p.deadline) {
        p.deadline = fireAt;
        this.#timers.push(fireAt, p);
      }
    }
    const to = rt.maps[p.slot] as Map<string, Partial>;
    // A newer partial match replaces the older one in the same state (EQL semantics).
    if (!to.delete(jk)) {
      rt.size++;
      this.#live++;
    }
    to.set(jk, p);
    if (rt.size > this.#maxKeys) this.#evictPartial(rt);
    this.#capLive();
  }
}

const EMPTY: Match[] = [];
const NO_STEPS: readonly RuntimeEvent[] = [];
