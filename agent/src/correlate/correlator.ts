/**
 * The correlator attributes runtime events of a provider pod to the MCP tool
 * call(s) in flight in that pod: by time window (start .. end + grace), and by
 * process lineage, so that a child spawned during a call stays attributed to it
 * after the call ends. Tool-call events (from the proxy's call traces) open the
 * windows; they reach the correlator in event-time order (the replay merges by
 * time; live, traces arrive over the controller stream).
 */
import type { hangar } from "@hangar/proto";
import { hangar as h } from "@hangar/proto";
import { EventKind, timeMs, type RuntimeEvent } from "../normalize/event.js";
import type { Counters } from "../pipeline/counters.js";

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
  readonly #calls = new Map<string, OpenCall[]>();
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
    for (const list of this.#calls.values()) n += list.length;
    return n;
  }

  process(ev: RuntimeEvent): void {
    const pod = ev.pod;
    if (pod === undefined) return;
    const podKey = `${pod.namespace}/${pod.name}`;
    const t = timeMs(ev.time);
    if (ev.kind === EventKind.TOOL_CALL) {
      if (ev.detail.case !== "toolCall" || ev.detail.value.trace === undefined) return;
      const trace = ev.detail.value.trace;
      const end = trace.endTime === undefined ? Infinity : timeMs(trace.endTime) + this.#graceMs;
      const list = this.#calls.get(podKey);
      const call = { trace, startMs: t, untilMs: end };
      if (list === undefined) this.#calls.set(podKey, [call]);
      else list.push(call);
      return;
    }
    const list = this.#calls.get(podKey);
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
      list.length = w;
      if (w === 0) this.#calls.delete(podKey);
      // Calls actually running win over calls that ended and are only within
      // their grace period; the grace period counts when nothing else runs.
      const started = list.filter(
        (c) => c.startMs <= t && c.untilMs >= t && t - c.startMs <= this.#maxCallMs,
      );
      const running = started.filter((c) => c.untilMs - this.#graceMs >= t);
      const inFlight = running.length > 0 ? running : started;
      if (inFlight.length > 0) {
        const confidence = 1 / inFlight.length;
        attributed = inFlight.map((c) => attribution(c.trace, h.AttributionReason.TIME_WINDOW, confidence));
      }
    }
    const proc = ev.process;
    if (attributed === undefined && proc !== undefined) {
      const inherited = this.#lineage.get(proc.execId) ?? this.#lineage.get(proc.parentExecId);
      if (inherited !== undefined) {
        attributed = inherited.map((a) => ({ ...a, reason: h.AttributionReason.LINEAGE }));
      }
    }
    if (proc !== undefined && proc.execId !== "") {
      if (ev.kind === EventKind.EXIT) this.#lineage.delete(proc.execId);
      else if (ev.kind === EventKind.EXEC && attributed !== undefined)
        this.#remember(proc.execId, attributed);
    }
    if (attributed !== undefined) {
      ev.attributions = attributed;
      this.#counters.inc("correlated", {
        reason: attributed[0]?.reason === h.AttributionReason.LINEAGE ? "lineage" : "time_window",
      });
    }
  }
}
