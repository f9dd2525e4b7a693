/**
 * The explain stage: the join, in words, on every alert. For each piece of evidence,
 * the chain caller → session → tool call (redacted arguments) → process → destination
 * or file, with how sure the correlator is (lineage or time window; with overlapping
 * calls, every candidate and its confidence). It keeps its own bounded index of call
 * traces (the latest trace of each call, by span id), fed with every call trace the
 * pipeline resolves, start and end alike, and completes each alert before the outputs
 * see it.
 */
import type { JsonValue } from "@bufbuild/protobuf";
import type { Value } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import {
  EventKind,
  type Alert,
  type CallTrace,
  type EnforcementRequest,
  type RuntimeEvent,
} from "@hangar/core";
import type { DetectionSink } from "../detect/detect.js";

/** Looks up the latest trace of a call by span id (the explain stage's index implements it). */
export interface CallLookup {
  trace(spanId: string): CallTrace | undefined;
}

export interface ExplainStageOptions {
  /** Call traces remembered for explaining alerts (default 16 384; oldest evicted first). */
  maxTraces?: number;
  /** The next stage (outputs). */
  next: DetectionSink;
}

export class ExplainStage implements DetectionSink, CallLookup {
  readonly #maxTraces: number;
  readonly #next: DetectionSink;
  /** span_id → the latest trace of that call. */
  readonly #traces = new Map<string, CallTrace>();

  constructor(options: ExplainStageOptions) {
    this.#maxTraces = options.maxTraces ?? 16_384;
    this.#next = options.next;
  }

  /**
   * Indexes the call trace of a `tool_call` event (both the start and the end of a call:
   * the end replaces the start); other events cost one comparison.
   */
  record(ev: RuntimeEvent): void {
    if (ev.kind !== EventKind.TOOL_CALL || ev.detail.case !== "toolCall") return;
    const t = ev.detail.value.trace;
    if (t === undefined || t.spanId === "") return;
    this.#traces.delete(t.spanId);
    this.#traces.set(t.spanId, t);
    if (this.#traces.size > this.#maxTraces) {
      const oldest = this.#traces.keys().next();
      if (oldest.done !== true) this.#traces.delete(oldest.value);
    }
  }

  /** The latest trace of a call, by span id (undefined once evicted or never seen). */
  trace(spanId: string): CallTrace | undefined {
    return this.#traces.get(spanId);
  }

  /** Number of call traces indexed. */
  get size(): number {
    return this.#traces.size;
  }

  alert(alert: Alert): void {
    explainAlert(alert, this);
    this.#next.alert(alert);
  }

  enforcement(request: EnforcementRequest): void {
    this.#next.enforcement(request);
  }
}

/** A google.protobuf.Value as plain JSON (arguments of a call trace). */
export function valueJson(v: Value | undefined): JsonValue {
  if (v === undefined) return null;
  switch (v.kind.case) {
    case "structValue": {
      // fromEntries defines own properties: a "__proto__" field stays a field.
      return Object.fromEntries(Object.entries(v.kind.value.fields).map(([k, x]) => [k, valueJson(x)]));
    }
    case "listValue":
      return v.kind.value.values.map(valueJson);
    case "stringValue":
    case "numberValue":
    case "boolValue":
      return v.kind.value;
    default:
      return null;
  }
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n)}…`;
}

/** "caller alice (claude-desktop 1.2.3, jwt)" */
function callerText(t: CallTrace | undefined, fallback: string): string {
  const c = t?.caller;
  if (c === undefined) return `caller ${fallback || "unknown"}`;
  const who = c.subject !== "" ? c.subject : c.clientName !== "" ? c.clientName : "anonymous";
  const client =
    c.clientName === "" ? "" : `${c.clientName}${c.clientVersion === "" ? "" : ` ${c.clientVersion}`}`;
  const details = [client, c.authMethod === "" || c.authMethod === "none" ? "unauthenticated" : c.authMethod]
    .filter((x) => x !== "")
    .join(", ");
  return `caller ${who}${details === "" ? "" : ` (${details})`}`;
}

/** What the evidence event's process did: "process /bin/sh (pid 4711) → connect 203.0.113.66:443/tcp". */
export function effectText(ev: RuntimeEvent): string {
  const p = ev.process;
  const proc =
    p === undefined ? "process ?" : `process ${p.binary || "?"}${p.pid === 0 ? "" : ` (pid ${p.pid})`}`;
  const d = ev.detail;
  switch (d.case) {
    case "exec":
      return `${proc} → exec ${clip(`${p?.binary ?? ""} ${p?.arguments ?? ""}`.trim(), 200)}`;
    case "exit":
      return `${proc} → exit ${d.value.status}`;
    case "connect":
      return `${proc} → connect ${d.value.destinationIp}:${d.value.destinationPort}/${d.value.protocol || "?"}`;
    case "dns":
      return `${proc} → dns ${d.value.query}${d.value.ips.length > 0 ? ` (${d.value.ips.join(",")})` : ""}`;
    case "file":
      return `${proc} → file ${(hangar.FileOperation[d.value.operation] ?? "?").toLowerCase()} ${d.value.path}`;
    case "flow":
      return `${proc} → flow ${d.value.destinationIp}:${d.value.destinationPort}/${d.value.protocol}${d.value.destinationNames.length > 0 ? ` (${d.value.destinationNames.join(",")})` : ""}`;
    case "privilege":
      return `${proc} → privilege ${d.value.operation || d.value.hook}${d.value.targetUid === undefined ? "" : ` uid ${d.value.targetUid}`}${d.value.targetGid === undefined ? "" : ` gid ${d.value.targetGid}`}${d.value.denied ? " (denied)" : ""}`;
    case "socket":
      return `${proc} → socket ${d.value.operation || d.value.hook} ${d.value.localIp}:${d.value.localPort}${d.value.remoteIp === "" ? "" : ` ↔ ${d.value.remoteIp}:${d.value.remotePort}`}`;
    case "dup":
      return `${proc} → dup fd ${d.value.oldFd ?? "?"} onto ${d.value.newFd ?? "?"} (${d.value.target}${d.value.path === "" ? "" : ` ${d.value.path}`})`;
    case "module":
      return `${proc} → module ${d.value.operation} ${d.value.name || d.value.path}`;
    case "namespace":
      return `${proc} → namespace ${d.value.operation} ${d.value.types.join(",") || "(from fd)"}`;
    case "ptrace":
      return `${proc} → ptrace ${d.value.request}${d.value.targetPid === undefined ? "" : ` pid ${d.value.targetPid}`}`;
    case "mount":
      return `${proc} → mount ${d.value.operation} ${d.value.source} on ${d.value.target}`;
    case "ioUring":
      return `${proc} → io_uring ${d.value.operation}`;
    case "toolCall":
      return `tool call ${d.value.trace?.tool ?? ""}`;
    case undefined:
      return proc;
  }
}

function how(a: hangar.Attribution, n: number): string {
  const reason = a.reason === hangar.AttributionReason.LINEAGE ? "process lineage" : "time window";
  const overlap = n > 1 ? `, 1 of ${n} overlapping calls` : "";
  return `${reason}, confidence ${a.confidence.toFixed(2)}${overlap}`;
}

/** The chain for one evidence event, one line per candidate call. */
export function chainText(ev: RuntimeEvent, calls: CallLookup): string {
  const effect = effectText(ev);
  if (ev.attributions.length === 0) return `no tool call in flight: ${effect}`;
  const n = ev.attributions.length;
  return ev.attributions
    .map((a) => {
      const t = calls.trace(a.spanId);
      const args = t?.arguments === undefined ? "" : ` ${clip(JSON.stringify(valueJson(t.arguments)), 400)}`;
      const method = t?.method ?? "tools/call";
      return `${callerText(t, a.caller)} → session ${a.sessionId || "?"} → ${method} ${a.tool}${args} [trace ${a.traceId}/${a.spanId}; ${how(a, n)}] → ${effect}`;
    })
    .join("\n  or ");
}

/**
 * Adds the attribution chain to an alert: `tool_calls` gets the trace of every
 * call its evidence is attributed to (once each), `explanation` one chain per
 * evidence event (after any text the detector wrote).
 */
export function explainAlert(alert: Alert, calls: CallLookup): void {
  if (alert.evidence.length === 0) return;
  const have = new Set(alert.toolCalls.map((t) => t.spanId));
  for (const ev of alert.evidence) {
    for (const a of ev.attributions) {
      if (have.has(a.spanId)) continue;
      const t = calls.trace(a.spanId);
      if (t !== undefined) {
        alert.toolCalls.push(t);
        have.add(a.spanId);
      }
    }
  }
  const chains = alert.evidence.map((ev) => chainText(ev, calls)).join("\n");
  alert.explanation = alert.explanation === "" ? chains : `${alert.explanation}\n${chains}`;
}
