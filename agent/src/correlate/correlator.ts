/**
 * The correlator attributes runtime events of a provider pod to the MCP tool
 * call(s) in flight in that pod: by process lineage first (a process exec'd
 * during a call, and everything it starts, stays attributed to that call, also
 * after the call ended and while other calls run), then by time window
 * (start .. end + grace). When calls overlap and lineage cannot decide, the
 * event is attributed to every candidate, each with confidence 1/n.
 *
 * Tool-call events (from the proxy's call traces) open the windows. The proxy
 * publishes each call twice with the same span id: when it starts (no end_time)
 * and when it ends; the second updates the first. They reach the correlator in
 * event-time order (the replay merges by time; live, traces arrive over the
 * controller stream).
 *
 * The attributions it sets are shared between events (while the set of
 * candidate calls does not change, every event of the pod gets the same
 * array): later stages must treat `ev.attributions` as read-only.
 */
import { type hangar, hangar as h } from "@hangar/proto";
import { EventKind, timeMs, type Counters, type RuntimeEvent } from "@hangar/core";

export interface CorrelatorOptions {
  /** How long after a call ends its pod's events are still attributed to it (default 2 000 ms). */
  graceMs?: number;
  /** Calls older than this with no end are treated as ended (default 10 min). */
  maxCallMs?: number;
  /** How far out of time order events may arrive and still be attributed (default 30 000 ms). */
  reorderMs?: number;
  /** Processes remembered for lineage attribution (default 65 536; oldest evicted first). */
  maxLineage?: number;
  counters: Counters;
}

// Constant label objects (a Counters implementation can cache their keys).
const LINEAGE_LABELS = { reason: "lineage" } as const;
const TIME_WINDOW_LABELS = { reason: "time_window" } as const;

/** The open calls of one pod, and the attributions last computed for them. */
interface PodCalls {
  calls: OpenCall[];
  /** Bumped whenever `calls` changes (a call opens, ends, or is forgotten). */
  version: number;
  cacheVersion: number;
  cacheMask: number;
  cacheAttrs: hangar.Attribution[];
}

interface OpenCall {
  trace: hangar.CallTrace;
  startMs: number;
  /** End of the attribution window: end + grace, or Infinity while in flight (end = untilMs − grace). */
  untilMs: number;
}

function callerName(c: hangar.Caller | undefined): string {
  if (c === undefined) return "";
  return c.subject !== "" ? c.subject : c.clientName;
}

function attribution(
  t: hangar.CallTrace,
  reason: hangar.AttributionReason,
  confidence: number,
): hangar.Attribution {
  return {
    $typeName: "hangar.v1.Attribution",
    traceId: t.traceId,
    spanId: t.spanId,
    sessionId: t.sessionId,
    tool: t.tool,
    caller: callerName(t.caller),
    reason,
    confidence,
  };
}

export class Correlator {
  readonly #graceMs: number;
  readonly #maxCallMs: number;
  readonly #reorderMs: number;
  readonly #maxLineage: number;
  readonly #counters: Counters;
  /** Open calls per pod ("namespace/name"). */
  readonly #calls = new Map<string, PodCalls>();
  /** exec_id → attributions inherited by its descendants. */
  readonly #lineage = new Map<string, hangar.Attribution[]>();

  constructor(options: CorrelatorOptions) {
    this.#graceMs = options.graceMs ?? 2000;
    this.#maxCallMs = options.maxCallMs ?? 600_000;
    this.#reorderMs = options.reorderMs ?? 30_000;
    this.#maxLineage = options.maxLineage ?? 65_536;
    this.#counters = options.counters;
  }

  /** Bounded: exits can be lost (rate limits, reconnect gaps), so the oldest entries go first. */
  #remember(execId: string, attributed: hangar.Attribution[]): void {
    this.#lineage.set(execId, attributed);
    if (this.#lineage.size > this.#maxLineage) {
      const oldest = this.#lineage.keys().next();
      if (oldest.done !== true) this.#lineage.delete(oldest.value);
      this.#counters.inc("correlator_lineage_evicted");
    }
  }

  /** Number of processes whose descendants inherit an attribution. */
  get lineageSize(): number {
    return this.#lineage.size;
  }

  /** Number of calls currently tracked (for tests and metrics). */
  get openCalls(): number {
    let n = 0;
    for (const p of this.#calls.values()) n += p.calls.length;
    return n;
  }

  /**
   * Attributes a runtime event, or registers a tool call. Returns false when the event
   * is the end of a call already registered (the proxy reports each call at its start
   * and again at its end, same span): it updates the call's window and is not passed on,
   * so that detection sees one tool_call event per call.
   */
  process(ev: RuntimeEvent): boolean {
    const pod = ev.pod;
    if (pod === undefined) return true;
    const podKey = `${pod.namespace}/${pod.name}`;
    const t = timeMs(ev.time);
    if (ev.kind === EventKind.TOOL_CALL) {
      if (ev.detail.case !== "toolCall" || ev.detail.value.trace === undefined) return true;
      const trace = ev.detail.value.trace;
      const end = trace.endTime === undefined ? Infinity : timeMs(trace.endTime) + this.#graceMs;
      const pc = this.#calls.get(podKey);
      // The end of a call already open (same span): close its window.
      const open =
        trace.spanId === ""
          ? undefined
          : pc?.calls.find((c) => c.trace.spanId === trace.spanId && c.trace.traceId === trace.traceId);
      if (open !== undefined) {
        open.trace = trace;
        open.untilMs = end;
        if (pc !== undefined) pc.version++;
        return false;
      }
      const call = { trace, startMs: t, untilMs: end };
      if (pc === undefined)
        this.#calls.set(podKey, {
          calls: [call],
          version: 0,
          cacheVersion: -1,
          cacheMask: 0,
          cacheAttrs: [],
        });
      else {
        pc.calls.push(call);
        pc.version++;
      }
      return true;
    }
    const pc = this.#calls.get(podKey);
    const list = pc?.calls;
    let attributed: hangar.Attribution[] | undefined;
    if (list !== undefined) {
      // Forget calls whose window closed well before this event. Live sensors are
      // not in time order with each other, so a call is kept `reorderMs` longer
      // for events that arrive a little late.
      let w = 0;
      for (const c of list) {
        if (c.untilMs + this.#reorderMs >= t && t - c.startMs <= this.#maxCallMs + this.#reorderMs)
          list[w++] = c;
      }
      if (w !== list.length && pc !== undefined) {
        list.length = w;
        pc.version++;
      }
      if (w === 0) this.#calls.delete(podKey);
    }
    // Lineage first: a process started during a call belongs to that call, even
    // when it acts after the call ended or while another call runs.
    const proc = ev.process;
    if (proc !== undefined) {
      const inherited =
        (proc.execId === "" ? undefined : this.#lineage.get(proc.execId)) ??
        (proc.parentExecId === "" ? undefined : this.#lineage.get(proc.parentExecId));
      // Stored in LINEAGE form when remembered: shared, not copied, per event.
      if (inherited !== undefined) attributed = inherited;
    }
    if (attributed === undefined && list !== undefined && list.length > 0) {
      // Calls actually running win over calls that ended and are only within
      // their grace period; the grace period counts when nothing else runs.
      // One pass to count, one to build: no intermediate arrays on the hot path.
      // Which calls are candidates, as a bit mask (lists up to 30 calls): while the
      // set does not change, every event gets the same attributions array.
      let nStarted = 0;
      let nRunning = 0;
      let startedMask = 0;
      let runningMask = 0;
      for (let i = 0; i < list.length; i++) {
        const c = list[i] as OpenCall;
        if (c.startMs <= t && c.untilMs >= t && t - c.startMs <= this.#maxCallMs) {
          nStarted++;
          if (i < 30) startedMask |= 1 << i;
          if (c.untilMs - this.#graceMs >= t) {
            nRunning++;
            if (i < 30) runningMask |= 1 << i;
          }
        }
      }
      const n = nRunning > 0 ? nRunning : nStarted;
      const mask = nRunning > 0 ? runningMask | (1 << 30) : startedMask;
      if (
        n > 0 &&
        pc !== undefined &&
        list.length <= 30 &&
        pc.cacheVersion === pc.version &&
        pc.cacheMask === mask
      ) {
        attributed = pc.cacheAttrs;
      } else if (n > 0) {
        const confidence = 1 / n;
        attributed = [];
        for (const c of list) {
          if (c.startMs <= t && c.untilMs >= t && t - c.startMs <= this.#maxCallMs) {
            if (nRunning > 0 && c.untilMs - this.#graceMs < t) continue;
            attributed.push(attribution(c.trace, h.AttributionReason.TIME_WINDOW, confidence));
          }
        }
        if (pc !== undefined && list.length <= 30) {
          pc.cacheVersion = pc.version;
          pc.cacheMask = mask;
          pc.cacheAttrs = attributed;
        }
      }
    }
    if (proc !== undefined && proc.execId !== "") {
      if (ev.kind === EventKind.EXIT) this.#lineage.delete(proc.execId);
      else if (ev.kind === EventKind.EXEC && attributed !== undefined)
        this.#remember(
          proc.execId,
          attributed[0]?.reason === h.AttributionReason.LINEAGE
            ? attributed
            : attributed.map((a) => ({ ...a, reason: h.AttributionReason.LINEAGE })),
        );
    }
    if (attributed !== undefined) {
      ev.attributions = attributed;
      this.#counters.inc(
        "correlated",
        attributed[0]?.reason === h.AttributionReason.LINEAGE ? LINEAGE_LABELS : TIME_WINDOW_LABELS,
      );
    }
    return true;
  }
}
